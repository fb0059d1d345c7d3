#!/usr/bin/env python3
"""The runtime and kernels of a heap-free build reference no allocator, no
C++ runtime support and no OS service.

usage: check_no_heap.py NM LIBRARY.a...

Lists each library's undefined symbols (arm-none-eabi-nm -u) and fails on
any of: malloc and friends, operator new/delete, C++ exception and RTTI
support, thread-local storage, files, time. What the firmware's own main
and newlib's stdio use is not the runtime's business.
"""
import re
import subprocess
import sys

FORBIDDEN = re.compile(
    r"^(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|_malloc_r|_free_r|_calloc_r|_realloc_r"
    r"|_Znw.*|_Zna.*|_Zdl.*|_Zda.*"          # operator new / delete
    r"|__cxa_.*|__gxx_personality.*|_Unwind_.*|_ZTI.*|_ZTV.*"  # exceptions, RTTI, vtables of the C++ runtime
    r"|__aeabi_read_tp|__tls_get_addr"       # thread-local storage
    r"|open|fopen|mmap|munmap|read|close|fstat|stat"
    r"|clock_gettime|gettimeofday|time)$")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    nm, libs = sys.argv[1], sys.argv[2:]
    bad = []
    for lib in libs:
        out = subprocess.run([nm, "-u", lib], stdout=subprocess.PIPE, check=True).stdout.decode()
        syms = sorted({l.split()[-1] for l in out.splitlines() if l.strip() and not l.endswith(":")})
        hits = [s for s in syms if FORBIDDEN.match(s)]
        print(f"{lib}: {len(syms)} undefined symbols, {len(hits)} forbidden")
        bad += [f"{lib}: {s}" for s in hits]
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
