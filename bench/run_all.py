#!/usr/bin/python3
"""The whole benchmark suite in one run: kernels on every SIMD target against
the popcount ceiling (bench/report.py), the Bi-Real-Net-18-shaped network
with its resolution and width sweeps against PyTorch and OpenCV
(bench/network_bench.py, with the float stem and again with an int8 stem),
every shipped model against its float twin (bench/models_bench.py),
instruction counts of the ARM and Cortex-M kernels under QEMU
(bench/arm_counts.py), and the microcontroller firmware's instructions per
inference (bench/mcu_counts.py). Each writes its own report in
docs/; this script then writes docs/benchmarks.md, which gathers their
targets and the ARM counts and says what the numbers do not show.

    /usr/bin/python3 bench/run_all.py [--quick]     (scripts/dev.sh bench runs it)

Needs the native build (build/), and for the ARM counts the aarch64 and
Cortex-M4 cross builds (build-aarch64/, build-cortex-m4/) that
scripts/dev.sh bench sets up.
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOCS = os.path.join(ROOT, "docs")  # where a full run writes
sys.path.insert(0, HERE)
from report import build_options, compiler_version, cpu_model, git_commit, log  # noqa: E402

PY = "/usr/bin/python3"


def run(name, cmd):
    log(f"== {name}: {' '.join(cmd)}")
    t0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT)
    took = time.time() - t0
    if p.returncode != 0:
        raise SystemExit(f"{name} failed (exit {p.returncode})")
    return took


def section(path, heading_prefix):
    """The markdown section of `path` whose heading starts with `heading_prefix`."""
    with open(path) as f:
        text = f.read()
    m = re.search(r"^## " + re.escape(heading_prefix) + r".*?$(.*?)(?=^## |\Z)", text, re.S | re.M)
    return m.group(1).strip() if m else f"(no '{heading_prefix}' section in {os.path.relpath(path, ROOT)})"


def row(text, starts):
    """The last cell of the markdown table row beginning with `starts`."""
    for line in text.splitlines():
        if line.startswith("| " + starts):
            return line.strip().strip("|").split("|")[-1].strip()
    return ""


def suite_targets(out):
    """Issue 8's targets, judged from what the three reports measured."""
    kern = section(os.path.join(out, "kernel-benchmarks.md"), "Goals")
    models = section(os.path.join(out, "model-benchmarks.md"), "Target")
    stages = re.findall(r"(\d+x\d+x\d+): ([\d.]+) %", row(kern, ">= 40% of the ceiling on every stage"))
    verdict = lambda ok: "met" if ok else "**missed**"  # noqa: E731

    def ratio_verdict(m, target):
        """A ratio target from "Nx (rounds lo–hi)": met only if every round met it; a median that
        meets it with a round that does not is not called met (the baseline moved between rounds)."""
        median, lo = float(m.group(1)), float(m.group(2))
        if median < target:
            return "**missed**"
        return "met" if lo >= target else f"**met by the median only** (worst round {lo:g}x)"

    rows = [
        ["binary 3x3 convolutions at >= 60 % of the popcount ceiling (AVX3_DL)",
         verdict(stages and min(float(v) for _, v in stages) >= 60) if stages else "not measured",
         ", ".join(f"{k}: {v} %" for k, v in stages)]]
    for report, stem in (("network-benchmarks.md", "float stem"), ("network-benchmarks-int8-stem.md", "int8 stem")):
        net = section(os.path.join(out, report), "Targets")
        ratio = r"([\d.]+)x \(rounds ([\d.]+)–[\d.]+\)"
        fp32 = re.search(ratio, row(net, "at least 7x faster than PyTorch fp32 (eager"))
        int8 = re.search(ratio, row(net, "faster than PyTorch int8 (onednn, NCHW input"))
        rows += [
            [f"Bi-Real-18-shaped network ({stem}) >= 10x faster than PyTorch fp32 (eager)",
             ratio_verdict(fp32, 10) if fp32 else "not measured", fp32.group(0) if fp32 else ""],
            [f"Bi-Real-18-shaped network ({stem}) >= 1.5x faster than PyTorch int8 (oneDNN)",
             ratio_verdict(int8, 1.5) if int8 else "not measured", int8.group(0) if int8 else ""]]
    rows += [
        ["every shipped model >= 5x faster than its float twin in PyTorch fp32",
         "met" if "**met**" in models else "**missed**", "see below"],
    ]
    return ("| target (issue 8) | result | this run |\n|---|---|---|\n"
            + "\n".join("| " + " | ".join(r) + " |" for r in rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer rounds and runs everywhere")
    args = ap.parse_args()
    # A quick run writes beside the build, never over the committed reports.
    out = os.path.join(ROOT, "build", "bench-quick") if args.quick else DOCS
    os.makedirs(out, exist_ok=True)
    quick = ["--quick"] if args.quick else []
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = git_commit()  # before the reports below change the tree
    load_start = os.getloadavg()[0]
    took = {
        "kernels": run("kernels", [PY, "bench/report.py", "build/bench/bnn-kernel-bench", "--out",
                                   os.path.join(out, "kernel-benchmarks.md")] + quick),
        "network": run("network", [PY, "bench/network_bench.py", "--out",
                                   os.path.join(out, "network-benchmarks.md")] + quick),
        "network, int8 stem": run("network, int8 stem", [PY, "bench/network_bench.py", "--int8-stem", "--out",
                                                         os.path.join(out, "network-benchmarks-int8-stem.md")]
                                  + quick),
        "models": run("shipped models", [PY, "bench/models_bench.py", "--out",
                                         os.path.join(out, "model-benchmarks.md")] + quick),
    }
    took["microcontrollers"] = run("microcontrollers", [PY, "bench/mcu_counts.py", "--out",
                                                        os.path.join(out, "mcu-benchmarks.md")])
    arm_md = os.path.join(out, "arm-counts.md")
    took["arm"] = run("ARM counts", [PY, "bench/arm_counts.py", "--markdown", arm_md])
    with open(arm_md) as f:
        arm = f.read().strip()
    os.remove(arm_md)  # it lives on in docs/benchmarks.md

    cpu = cpu_model()
    build = os.path.join(ROOT, "build")
    lines = [
        "# Benchmarks",
        "",
        "Written by `scripts/dev.sh bench` (`/usr/bin/python3 bench/run_all.py`), which runs the four parts",
        "below in one go on one core each and rewrites their reports; every figure there is a median over",
        "repeated rounds, with the spread, and every ratio is taken within one round (the same state of the",
        "machine) before the median.",
        "",
        "## Machine and build",
        "",
        f"- CPU: {cpu['model']} ({cpu['family_model']}), {cpu['cores']} logical CPUs; SIMD flags: "
        f"{', '.join(cpu['flags'])}",
        f"- Compiler: {compiler_version(build)}; build: "
        + ", ".join(f"{k}={v}" for k, v in build_options(build).items()),
        f"- Commit {commit}; started {start}; load average {load_start:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end",
        "- Time taken: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in took.items()),
        "",
        "## Reports",
        "",
        "| part | report | what |",
        "|---|---|---|",
        "| kernels | [kernel-benchmarks.md](kernel-benchmarks.md) | every binary kernel on every SIMD target this CPU "
        "runs (C reference, SSE4, AVX2, AVX-512, AVX-512 VPOPCNTDQ), binary MACs/s and share of the popcount "
        "ceiling measured in the same run; float and int8 convolutions of PyTorch and OpenCV on the same shapes |",
        "| network | [network-benchmarks.md](network-benchmarks.md) | a Bi-Real-Net-18-shaped network at 224 x 224 "
        "against ResNet-18 in PyTorch fp32 / int8 and OpenCV DNN and against our reference kernels; per-layer "
        "profile; latency against resolution and width (plots below) |",
        "| shipped models | [model-benchmarks.md](model-benchmarks.md) | every model in `models/` against its float "
        "twin in PyTorch fp32 / int8 and OpenCV DNN, and against the reference kernels; file size, arena |",
        "| network, int8 stem | [network-benchmarks-int8-stem.md](network-benchmarks-int8-stem.md) | the same "
        "network with its 7x7 stem in int8 (QUANTIZE + int8 convolution, AVX-512 VNNI), as `bnn-convert --int8` "
        "writes a first layer |",
        "| microcontrollers | [mcu-benchmarks.md](mcu-benchmarks.md) | the firmware example's instructions per "
        "inference on Cortex-M4 and M7 (person model), where they go, estimates at stated clocks, the popcount "
        "choice |",
        "| ARM | below | instruction counts of the NEON and SVE kernels and of the Cortex-M reference under QEMU |",
        "| history | [benchmark-history.md](benchmark-history.md) | every full run of the suite so far, with its "
        "CPU and commit, and issue 8's headline figures: the same code measures differently on another "
        "machine |",
        "",
        "![latency](network-latency.png)",
        "![scaling](network-scaling.png)",
        "",
        "## Targets of the suite",
        "",
        suite_targets(out),
        "",
        "The three reports also judge the earlier runtime issue's targets, quoted below as they wrote them.",
        "",
        "## Targets: kernels",
        "",
        section(os.path.join(out, "kernel-benchmarks.md"), "Goals"),
        "",
        "## Targets: the Bi-Real-Net-18-shaped network",
        "",
        section(os.path.join(out, "network-benchmarks.md"), "Targets"),
        "",
        "## Targets: the same network with an int8 stem",
        "",
        section(os.path.join(out, "network-benchmarks-int8-stem.md"), "Targets"),
        "",
        "## Targets: shipped models",
        "",
        section(os.path.join(out, "model-benchmarks.md"), "Target"),
        "",
        "## ARM and Cortex-M: instructions under QEMU",
        "",
        "No ARM board is attached to these machines, and QEMU gives no meaningful time. What it can give",
        "exactly is the number of guest instructions a kernel executes (`bench/arm_counts.py`: QEMU's block",
        "log, one call isolated as a difference of two runs). A falling \"binary MACs per instruction\" is a",
        "regression; across implementations the figure shows how much work each instruction does, not how",
        "fast a real core would be (issue width, latencies and the vector unit's real width differ).",
        "",
        arm,
        "",
        "## What these numbers do not show",
        "",
        "- **A quiet, dedicated machine.** This is a shared 2-core virtual machine; the spreads in each report are",
        "  the run-to-run variation seen in this run. Ratios measured side by side are steadier than absolute",
        "  times.",
        "- **Real ARM or microcontroller speed.** Only instruction counts (above); Cortex-M4 cycles would also",
        "  depend on flash wait states, which QEMU does not model.",
        "- **Accuracy.** Weights are random wherever only time is measured; the shipped models' accuracy is in",
        "  their own docs (`docs/object-detection.md`, `docs/face-detection.md`, `docs/face-recognition.md`).",
        "- **Multi-threaded baselines.** Everything runs on one thread, ours by design; PyTorch and OpenCV would",
        "  be faster with more cores, as would two bnn interpreters side by side.",
        "- **A win that one round did not confirm.** A ratio target above is called met only when every",
        "  round met it; when only the median over rounds did (a baseline that slowed down in one round can",
        "  do that), it says so with the worst round.",
    ]
    with open(os.path.join(out, "benchmarks.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"wrote {os.path.relpath(os.path.join(out, 'benchmarks.md'), ROOT)} and the reports beside it")
    if not args.quick:  # a quick run is not a run of record
        run("history", [PY, "bench/history.py", "--out", os.path.join(out, "benchmark-history.md")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
