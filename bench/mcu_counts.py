#!/usr/bin/python3
"""Microcontroller speed: instructions per inference of the firmware example
(the person model, apps/firmware) on Cortex-M4 and Cortex-M7 under
qemu-system-arm, where no timing is possible, converted to time estimates at
stated clocks; where they go, per function; and the popcount choice for cores
without a popcount instruction.

    /usr/bin/python3 bench/mcu_counts.py [--m4 build-cortex-m4] [--m7 build-cortex-m7] [--out FILE]

Per inference: the firmware reads SysTick (board/startup.c) around N invokes
under `qemu-system-arm -icount shift=0`, which makes QEMU's virtual clock
advance one nanosecond per guest instruction; SysTick runs at the MPS2
boards' 25 MHz, so one tick is 40 instructions. The same figure is then
checked exactly with QEMU's block log (bench/arm_counts.py's counter): the
instructions of a run with 2 invokes minus a run with 1. The block log also
attributes them to functions (the firmware's symbol table).

Popcount: bench/kernel_count.c as firmware, built with each implementation of
kernels/common/bits.h (tests/mcu/meson.build), counting one call of the binary
3x3 convolution and the binary fully-connected kernels.
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from arm_counts import count, measure, run_logged  # noqa: E402
from report import git_commit, log, md_table  # noqa: E402

TICK_INSTRUCTIONS = 40  # 1e9 virtual ns per second (-icount shift=0) / 25 MHz SysTick
CPUS = [("cortex-m4", "mps2-an386", "Cortex-M4F", [("STM32F407", 168), ("nRF52840", 64)]),
        ("cortex-m7", "mps2-an500", "Cortex-M7", [("STM32H743", 480), ("STM32F746", 216)])]
IMAGES = {"person.raw": "/usr/share/darknet/data/person.jpg", "dog.raw": "/usr/share/darknet/data/dog.jpg"}


def make_inputs(work):
    import cv2
    for name, path in IMAGES.items():
        img = cv2.imread(path)
        if img is None:
            raise SystemExit(f"cannot read {path} (apt-get install darknet)")
        grey = cv2.cvtColor(cv2.resize(img, (96, 96), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        with open(os.path.join(work, name), "wb") as f:
            f.write(grey.tobytes())


def qemu(machine, firmware, args, extra=()):
    return ["qemu-system-arm", "-M", machine, "-nographic", "-icount", "shift=0", "-kernel", firmware,
            "-semihosting-config", "enable=on,target=native," + ",".join("arg=" + a for a in ["fw"] + args)] + list(extra)


def ticks_per_invoke(machine, firmware, args, work):
    p = subprocess.run(qemu(machine, firmware, args), cwd=work, capture_output=True, text=True, timeout=600)
    m = re.search(r"ticks per invoke", p.stdout)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"{firmware} {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
    return [int(x) for x in re.findall(r"^time \S+: (\d+) ticks per invoke", p.stdout, re.M)]


def exact(machine, firmware, args, work):
    """Instructions of one invoke: the block-log count of 2 invokes minus 1 invoke."""
    def make(n):
        return lambda logfile: qemu(machine, firmware, ["--invokes", str(n)] + args,
                                    ["-d", "in_asm,exec,nochain", "-D", logfile])
    return count(make(2), cwd=work)[0] - count(make(1), cwd=work)[0]


def symbols(firmware):
    out = subprocess.run(["arm-none-eabi-nm", "-C", "--defined-only", "-n", firmware], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split(None, 2)
        if len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16) & ~1, p[2]))
    return syms


def per_function(machine, firmware, args, work):
    """Instructions of one invoke by function (block log, 2 invokes minus 1)."""
    syms = symbols(firmware)
    addrs = [a for a, _ in syms]

    def name(a):
        i = bisect.bisect_right(addrs, a) - 1
        if i < 0:
            return "?"
        return re.sub(r"\(.*", "", syms[i][1].replace("(anonymous namespace)", "{anonymous}"))  # no arguments

    def run(n):
        per = collections.Counter()

        def visit(address, instructions):
            per[name(address)] += instructions

        run_logged(lambda logfile: qemu(machine, firmware, ["--invokes", str(n)] + args,
                                        ["-d", "in_asm,exec,nochain", "-D", logfile]), visit, cwd=work)
        return per

    one, two = run(1), run(2)
    return {k: two[k] - one.get(k, 0) for k in two if two[k] - one.get(k, 0) > 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m4", default=os.path.join(ROOT, "build-cortex-m4"))
    ap.add_argument("--m7", default=os.path.join(ROOT, "build-cortex-m7"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "mcu-benchmarks.md"))
    args = ap.parse_args()
    builds = {"cortex-m4": args.m4, "cortex-m7": args.m7}
    work = tempfile.mkdtemp(prefix="bnn-mcu-")
    make_inputs(work)
    inputs = list(IMAGES)

    rows, estimates, profile, popcount = [], [], None, []
    for cpu, machine, title, clocks in CPUS:
        build = builds[cpu]
        patch_fw = os.path.join(build, "apps", "firmware", f"bnn-firmware-{cpu}.elf")
        layer_fw = os.path.join(build, "apps", "firmware", f"bnn-firmware-{cpu}-layers.elf")
        if not os.path.exists(patch_fw):
            log(f"{patch_fw} is missing (scripts/dev.sh test or bench builds it): no {title} rows")
            continue
        for mode, fw, extra in [("patch-based", patch_fw, []), ("layer by layer", layer_fw, ["--layer-by-layer"])]:
            if not os.path.exists(fw):
                continue
            ticks = ticks_per_invoke(machine, fw, ["--invokes", "3"] + extra + inputs, work)
            icount = [t * TICK_INSTRUCTIONS for t in ticks]
            blocks = exact(machine, fw, extra + [inputs[0]], work)
            log(f"{title} {mode}: {icount} instructions per invoke (SysTick), {blocks} (block log)")
            rows.append([title, mode] + [f"{n:,}" for n in icount] + [f"{blocks:,}",
                                                                       f"{abs(icount[0] - blocks) / blocks:.3%}"])
            if mode == "patch-based":
                for part, mhz in clocks:
                    estimates.append([title, f"{part} at {mhz} MHz", f"{icount[0] / (mhz * 1e3):.0f} ms"])
                if profile is None:
                    profile = (title, per_function(machine, fw, [inputs[0]], work), blocks)
        for variant in ("builtin", "swar", "table"):
            fw = os.path.join(build, "tests", "mcu", f"kernel-count-{cpu}-popcount-{variant}.elf")
            if not os.path.exists(fw):
                continue
            for kernel in ("bconv3x3", "bgemm"):
                def make(calls, fw=fw, kernel=kernel):
                    return lambda logfile: ["qemu-system-arm", "-M", machine, "-nographic", "-kernel", fw,
                                            "-semihosting-config",
                                            f"enable=on,target=native,arg=kernel-count,arg=reference,arg={kernel},"
                                            f"arg={calls}", "-d", "in_asm,exec,nochain", "-D", logfile]
                r = measure(f"{title} {variant}", "reference", kernel, make)
                popcount.append([title, variant, kernel, r[3], r[4]])

    lines = ["# Microcontroller benchmarks", "",
             "Written by `/usr/bin/python3 bench/mcu_counts.py` (part of `scripts/dev.sh bench`), from the Cortex-M4",
             "and Cortex-M7 builds of `scripts/dev.sh test`. QEMU gives no time on these boards, only exact",
             "instruction counts; see the notes below for what they do not show. Commit " + git_commit() + ".", "",
             "## The person model, per inference", "",
             "`bnn-firmware` (apps/firmware) with `models/person/person.bnn` in flash, the C reference kernels,",
             f"on darknet's person.jpg and dog.jpg (96 x 96 grey). Instructions from SysTick ticks under",
             f"`-icount shift=0` (x {TICK_INSTRUCTIONS}), checked against QEMU's block log (2 invokes minus 1).",
             "The layer-by-layer firmware is the same program with an arena sized for whole tensors",
             "(`-DFIRMWARE_ARENA_FOR_LAYERS`).", ""]
    lines.append(md_table(["CPU", "execution"] + [f"instructions, {n}" for n in inputs] +
                          ["block log, person.raw", "SysTick vs block log"], rows))
    lines += ["", "Estimates, one instruction per cycle (instructions / clock). A Cortex-M4 takes 2 cycles for most",
              "loads and more with flash wait states; a Cortex-M7 issues up to two instructions per cycle but may",
              "stall on flash without its caches. So these are orders of magnitude, not measurements.", ""]
    lines.append(md_table(["CPU", "part, clock", "person.raw, estimated"], estimates))
    if profile:
        title, per, total = profile
        top = sorted(per.items(), key=lambda kv: -kv[1])[:10]
        lines += ["", f"## Where the instructions go ({title}, patch-based, person.raw)", ""]
        lines.append(md_table(["function", "instructions", "share"],
                              [[f"`{k}`", f"{v:,}", f"{v / total:.1%}"] for k, v in top]))
    if popcount:
        lines += ["", "## Popcount without a popcount instruction", "",
                  "Cortex-M has no popcount instruction. `kernels/common/bits.h` offers three: `builtin`",
                  "(`__builtin_popcount`, on Cortex-M a call into libgcc), `swar` (the same bit-parallel sum",
                  "inlined, 12 instructions, no memory) and `table` (four loads from a 256-byte table in flash).",
                  "Instructions per kernel call (the binary 3x3 convolution 14x14x128 -> 128 and the binary",
                  "fully-connected 1024 -> 256 of bench/kernel_count.c):", ""]
        lines.append(md_table(["CPU", "popcount", "kernel", "instructions per call", "binary MACs per instruction"],
                              popcount))
    lines += ["", "## What these numbers do not show", "",
              "- Cycles: no board is attached; QEMU counts instructions, and real cores differ in cycles per",
              "  instruction, flash wait states and caches. The table lookups of `table` would cost more on a",
              "  part with flash wait states than their count shows, which favours `swar` further.",
              "- Other runtimes on the same board: TensorFlow Lite Micro is not packaged in Debian, so its",
              "  person-detection reference (int8 MobileNet, about 250 KB of model, 136 KB of arena) is compared",
              "  by its published sizes in docs/microcontrollers.md, not run here.", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    log(f"wrote {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
