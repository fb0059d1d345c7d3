#!/usr/bin/env python3
"""Runs a program natively and as firmware; compares their checksum lines.

usage: compare_checksums.py NATIVE_COMMAND... -- FIRMWARE_COMMAND...

Each run prints "checksum ..." lines (tests/mcu/kernels_check.c: one per
check; bench/kernel_count.c: one of the kernel's output).
The lists must be identical and not empty. Pass/fail of the checks themselves
is the job of the other two tests; here only the agreement between machines.
"""
import subprocess
import sys

TIMEOUT_S = 150


def checksum_lines(cmd, what):
    try:
        run = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"{what}: timed out after {TIMEOUT_S} s: {' '.join(cmd)}")
        sys.exit(1)
    text = run.stdout.decode("utf-8", "replace")
    lines = [l.strip() for l in text.splitlines() if l.startswith("checksum ")]
    print(f"{what}: exit status {run.returncode}, {len(lines)} checksum lines")
    return lines


def main():
    if "--" not in sys.argv[2:] or sys.argv[1] == "--" or sys.argv[-1] == "--":
        print(__doc__)
        return 2
    split = sys.argv.index("--", 2)
    native = checksum_lines(sys.argv[1:split], "native")
    firmware = checksum_lines(sys.argv[split + 1:], "firmware")
    if not native or not firmware:
        print("FAIL: a run printed no checksum lines")
        return 1
    if native == firmware:
        print(f"ok: {len(native)} checksums identical")
        return 0
    native_set, firmware_set = set(native), set(firmware)
    for line in native:
        if line not in firmware_set:
            print(f"native only:   {line}")
    for line in firmware:
        if line not in native_set:
            print(f"firmware only: {line}")
    print("FAIL: checksums differ")
    return 1


if __name__ == "__main__":
    sys.exit(main())
