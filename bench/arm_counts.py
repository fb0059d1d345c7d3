#!/usr/bin/python3
"""ARM instruction counts of the binary kernels under QEMU user mode, where no
timing is possible: qemu-aarch64 logs every translated block (-d in_asm) and
every block it executes (-d exec, nochain), so the guest instructions a run
executes can be counted exactly. kernel-count (bench/kernel_count.cc, from the
aarch64 cross build) calls one kernel of one implementation once and then
1 + N times; the difference over N is one call, with start-up and set-up
cancelled out; N is chosen so that the difference is at least 5 million
instructions, which keeps the run-to-run noise of start-up below 1 %.

    /usr/bin/python3 bench/arm_counts.py [--build build-aarch64] [--markdown FILE]

CPUs: qemu's cortex-a72 (NEON only) and its 'max' CPU (SVE, SVE2) with
128-bit and 512-bit vectors; and the C reference as Cortex-M4 firmware under
qemu-system-arm (mps2-an386), from the Cortex-M build of scripts/dev.sh test.
Reported per implementation and kernel: instructions per call and binary
multiply-accumulates per instruction; regressions show as a falling figure.
The counts are exact and repeatable for a given binary, but they are not
cycles: a real core issues several instructions per cycle and its vector
width and latencies differ from what these counts can show.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from report import git_commit, log, md_table  # noqa: E402

# (qemu -cpu, as reported): the SVE vector length is set explicitly (bytes).
CPUS = [("cortex-a72", "Cortex-A72 (NEON)"),
        ("max,sve-default-vector-length=16", "max, SVE 128-bit"),
        ("max,sve-default-vector-length=64", "max, SVE 512-bit")]
KERNELS = [("bconv3x3", "3x3 convolution 14x14x128 -> 128, SAME zero padding, packed output"),
           ("bgemm", "fully connected 1x1024 -> 256, packed output")]
ADDR = re.compile(r"^0x([0-9a-f]+):")
TRACE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")


def user_cmd(exe, cpu, table, kernel, calls):
    return lambda log: ["qemu-aarch64", "-cpu", cpu, "-L", "/usr/aarch64-linux-gnu", "-d", "in_asm,exec,nochain",
                        "-D", log, exe, table, kernel, str(calls)]


def m4_cmd(firmware, table, kernel, calls):
    return lambda log: ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-kernel", firmware,
                        "-semihosting-config", f"enable=on,target=native,arg=kernel-count,arg={table},arg={kernel},"
                        f"arg={calls}", "-d", "in_asm,exec,nochain", "-D", log]


def run_logged(make_cmd, visit, cwd=None):
    """Runs make_cmd(log) with QEMU's block log going through a pipe and calls
    visit(address, instructions) for every block executed; returns the run's
    standard output."""
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "log")
        os.mkfifo(fifo)
        cmd = make_cmd(fifo)

        def parse():
            sizes, start, n = {}, None, 0
            with open(fifo, errors="replace") as f:
                for line in f:
                    if line.startswith("Trace"):
                        m = TRACE.match(line)
                        if m:
                            address = int(m.group(1), 16)
                            visit(address, sizes.get(address, 0))
                    elif line.startswith("0x"):
                        m = ADDR.match(line)
                        if m:
                            if start is None:
                                start = int(m.group(1), 16)
                            n += 1
                    elif line.startswith("IN:") or not line.strip():
                        if start is not None:
                            sizes[start] = n
                        start, n = None, 0

        reader = threading.Thread(target=parse)
        reader.start()
        # A fixed environment: the loader's work depends on it.
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd,
                           env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
        reader.join()
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.strip()}")
        return p.stdout


def count(make_cmd, cwd=None):
    """Guest instructions executed by one run, and the MACs kernel-count
    reports (0 for other programs)."""
    total = [0]

    def add(_, n):
        total[0] += n

    out = run_logged(make_cmd, add, cwd)
    m = re.search(r"macs (\d+)", out)
    return total[0], int(m.group(1)) if m else 0


# Start-up (the dynamic loader, libc, qemu's guest memory layout) varies by a
# few tens of thousands of instructions from run to run, so the second run
# makes enough extra calls for the difference to reach TARGET_DELTA.
TARGET_DELTA = 5_000_000


def measure(cpu_name, table, kernel, make):
    """One call's instructions: (a run with 1 + N calls minus a run with 1) / N."""
    one, macs = count(make(1))
    probe, _ = count(make(3))
    estimate = max(1, (probe - one) // 2)
    extra = min(1000, max(2, -(-TARGET_DELTA // estimate)))
    more, _ = count(make(1 + extra))
    per_call = (more - one) // extra
    log(f"{cpu_name[:24]:24s} {table:9s} {kernel:8s} {per_call:12d} instructions/call  "
        f"{macs / per_call:7.2f} bMACs/instruction  (N = {extra})")
    return [cpu_name, table, kernel, f"{per_call:,}", f"{macs / per_call:.2f}"]


def tables(exe, cpu):
    p = subprocess.run(["qemu-aarch64", "-cpu", cpu, "-L", "/usr/aarch64-linux-gnu", exe, "?", "bgemm", "1"],
                       capture_output=True, text=True)
    m = re.search(r"\(have: ([^)]*)\)", p.stderr)
    if not m:
        raise RuntimeError(f"kernel-count did not list its tables: {p.stderr.strip()}")
    return m.group(1).split()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-aarch64"))
    ap.add_argument("--mcu-build", default=os.path.join(ROOT, "build-cortex-m4"))
    ap.add_argument("--markdown", help="write the table here (markdown)")
    args = ap.parse_args()
    exe = os.path.join(args.build, "bench", "kernel-count")
    if not os.path.exists(exe):
        log(f"{exe} is missing: build the aarch64 cross build first (scripts/dev.sh test or bench)")
        return 1
    rows, seen = [], set()
    for cpu, cpu_name in CPUS:
        for table in tables(exe, cpu):
            if (table, cpu) in seen or (cpu.startswith("max") and table in ("reference", "NEON")):
                continue  # the reference and NEON are measured on the A72
            seen.add((table, cpu))
            for kernel, _ in KERNELS:
                rows.append(measure(cpu_name, table, kernel,
                                    lambda calls: user_cmd(exe, cpu, table, kernel, calls)))
    firmware = os.path.join(args.mcu_build, "tests", "mcu", "kernel-count-cortex-m4.elf")
    if os.path.exists(firmware):
        for kernel, _ in KERNELS:
            rows.append(measure("Cortex-M4 (mps2-an386, no popcount instruction)", "reference", kernel,
                                lambda calls: m4_cmd(firmware, "reference", kernel, calls)))
    else:
        log(f"{firmware} is missing (the Cortex-M4 build of scripts/dev.sh test): no Cortex-M rows")
    text = md_table(["CPU (qemu)", "implementation", "kernel", "instructions per call", "binary MACs per instruction"],
                    rows)
    text += "\n\nKernels: " + "; ".join(f"`{k}`: {d}" for k, d in KERNELS) + f". Commit {git_commit()}.\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
