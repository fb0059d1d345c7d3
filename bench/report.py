#!/usr/bin/python3
"""Runs the kernel benchmarks and the float/int8 baselines, writes docs/kernel-benchmarks.md.

    /usr/bin/python3 bench/report.py [build/bench/bnn-kernel-bench]
    /usr/bin/python3 bench/report.py --quick      # smoke check, under a minute

The binary benchmark (bnn-kernel-bench, --benchmark_format=json) and
bench/baselines.py run alternately for --rounds rounds, so that both see the
same state of a noisy shared machine. Every figure is the median over rounds;
each kernel's fraction of the popcount ceiling and its speed-ups over the
baselines are computed within a round (same run) and then the median taken.
Rates are per second of wall time (real_time), as the baselines are; the
binary's own bMACs counter is per CPU second.

No figure is compared against a time limit by any test: the "targets" section
of the report only states whether this run met the goals.
"""
import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

STAGES = ["56x56x64", "28x28x128", "14x14x256", "7x7x512"]
TARGET_ORDER = ["reference", "SCALAR", "EMU128", "SSSE3", "SSE4", "AVX2", "AVX3", "AVX3_DL",
                "AVX3_ZEN4", "NEON", "SVE", "SVE2"]
BEST = "AVX3_DL"  # the target the goals are about

# Baselines: the key in baselines.py's JSON, the column title.
BASELINES = [
    ("torch_fp32", "PyTorch fp32"),
    ("torch_int8", "PyTorch int8"),
    ("opencv_fp32", "OpenCV fp32"),
]

# The goals for AVX3_DL on one core.
GOAL_CEILING_FIRST = 0.50   # of the ceiling at 56x56x64
GOAL_CEILING_ALL = 0.40     # of the ceiling on every stage
GOAL_VS_FP32 = 5.0          # times faster than PyTorch fp32, every stage
GOAL_VS_INT8 = 1.0          # faster than PyTorch int8, every stage

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Running


def run_bench(bench, min_time, extra):
    cmd = [bench, "--benchmark_format=json", f"--benchmark_min_time={min_time}"] + extra
    log("+ " + " ".join(shlex.quote(c) for c in cmd))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    results = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or "error_occurred" in b:
            continue
        seconds = b["real_time"] * UNIT_SECONDS[b["time_unit"]]
        results[b["name"]] = {
            "seconds": seconds,
            "cpu_seconds": b["cpu_time"] * UNIT_SECONDS[b["time_unit"]],
            "macs": b.get("MACs"),
            "rate": b["MACs"] / seconds if b.get("MACs") else None,
            "iterations": b["iterations"],
            "counters": {k: v for k, v in b.items() if k in ("Gfloat_per_s", "bytes_per_second")},
        }
    return data["context"], results


def run_baselines(python, quick):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "baselines.json")
        cmd = [python, os.path.join(HERE, "baselines.py"), "--out", out] + (["--quick"] if quick else [])
        log("+ " + " ".join(shlex.quote(c) for c in cmd))
        subprocess.run(cmd, check=True)
        with open(out) as f:
            return json.load(f)


# ---------------------------------------------------------------------------
# Machine description


def cpu_model():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = (x.strip() for x in line.split(":", 1))
                    info.setdefault(k, v)
    except OSError:
        pass
    flags = set(info.get("flags", "").split())
    wanted = ["avx2", "avx512f", "avx512bw", "avx512_vpopcntdq", "avx512_bitalg", "avx512_vnni",
              "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16"]
    return {
        "model": info.get("model name", platform.processor() or "unknown"),
        "family_model": f"family {info.get('cpu family', '?')}, model {info.get('model', '?')}, "
                        f"stepping {info.get('stepping', '?')}",
        "mhz": info.get("cpu MHz", "?"),
        "flags": [f for f in wanted if f in flags],
        "cores": os.cpu_count(),
    }


def compiler_version(build_dir, source="kernels_bench.cc"):
    """First line of --version of the compiler that built `source` (default: the benchmark)."""
    try:
        with open(os.path.join(build_dir, "compile_commands.json")) as f:
            cmds = json.load(f)
        for c in cmds:
            if source in c["file"]:
                compiler = shlex.split(c["command"])[0]
                out = subprocess.run([compiler, "--version"], capture_output=True, text=True)
                return out.stdout.splitlines()[0]
    except (OSError, ValueError, IndexError, KeyError):
        pass
    return None


def build_options(build_dir):
    try:
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
        return {k: opts.get(k) for k in ("buildtype", "optimization", "b_ndebug", "simd")}
    except (OSError, ValueError):
        return {}


def git_commit():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        # docs/ is left out: the suite's own reports change it as it runs.
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no",
                                "--", ".", ":!docs"], capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------------------
# Statistics over rounds


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def split_name(name):
    """bconv3x3/56x56x64/AVX2 -> (bconv3x3, 56x56x64, AVX2); popcount_ceiling/AVX2 -> (.., None, AVX2)."""
    parts = name.split("/")
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return parts[0], parts[1], parts[2]


def target_key(t):
    return (TARGET_ORDER.index(t) if t in TARGET_ORDER else len(TARGET_ORDER), t)


class Analysis:
    def __init__(self, rounds):
        self.rounds = rounds  # list of (bench context, bench results, baselines)
        self.names = []
        for _, res, _ in rounds:
            for n in res:
                if n not in self.names:
                    self.names.append(n)

    def ceiling_targets(self):
        return sorted({split_name(n)[2] for n in self.names if n.startswith("popcount_ceiling/")},
                      key=target_key)

    def best_ceiling(self, r, prefix="popcount_ceiling/"):
        """The best ceiling target's rate in round r (the yardstick of that run)."""
        rates = [v["rate"] for n, v in self.rounds[r][1].items() if n.startswith(prefix)]
        return max(rates) if rates else None

    def best_ceiling_target(self):
        wins = {}
        for _, res, _ in self.rounds:
            c = {n: v["rate"] for n, v in res.items() if n.startswith("popcount_ceiling/")}
            if c:
                wins[max(c, key=c.get)] = wins.get(max(c, key=c.get), 0) + 1
        return split_name(max(wins, key=wins.get))[2] if wins else None

    def series(self, name, field):
        return [res[name][field] if name in res else None for _, res, _ in self.rounds]

    def baseline_series(self, stage, backend, field="median_ms"):
        out = []
        for _, _, base in self.rounds:
            try:
                out.append(base["stages"][stage]["backends"][backend][field])
            except (KeyError, TypeError):
                out.append(None)
        return out

    def kernel(self, name):
        """Median figures of one benchmark over the rounds (None when absent)."""
        if name not in self.names:
            return None
        secs = self.series(name, "seconds")
        rates = self.series(name, "rate")
        _, stage, target = split_name(name)
        row = {
            "ms": med(secs) * 1e3,
            "rate": med(rates),
            "rate_spread": spread(rates),
            "eff": None,
            "own_eff": None,
            "speedup": {},
        }
        effs, own, bcast = [], [], []
        for r, rate in enumerate(rates):
            c = self.best_ceiling(r)
            effs.append(rate / c if rate and c else None)
            oc = self.rounds[r][1].get(f"popcount_ceiling/{target}")
            own.append(rate / oc["rate"] if rate and oc else None)
            b = self.best_ceiling(r, "popcount_broadcast/")
            bcast.append(rate / b if rate and b else None)
        row["eff"], row["own_eff"], row["bcast_eff"] = med(effs), med(own), med(bcast)
        row["eff_spread"] = spread(effs)
        if stage in STAGES:
            for key, _ in BASELINES + [("torch_fp32_cl", ""), ("torch_int8_nchw", "")]:
                base = self.baseline_series(stage, key)
                ups = [b * 1e-3 / s if b and s else None for b, s in zip(base, secs)]
                row["speedup"][key] = med(ups)
                row["speedup"][key + "_spread"] = spread(ups)
        return row


# ---------------------------------------------------------------------------
# Formatting


def fmt(x, spec=".1f", none="–"):
    return none if x is None else format(x, spec)


def fmt_rate(x):
    return "–" if x is None else f"{x * 1e-9:.1f}"


def fmt_pct(x):
    return "–" if x is None else f"{100 * x:.1f} %"


def fmt_x(x):
    return "–" if x is None else (f"{x:.2f}x" if x < 10 else f"{x:.1f}x")


def fmt_spread(lo, hi, scale=1e-9, spec=".0f"):
    if lo is None:
        return "–"
    return f"{lo * scale:{spec}}–{hi * scale:{spec}}"


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def conv_rows(an, op, stage):
    rows = []
    names = [n for n in an.names if n.startswith(f"{op}/{stage}/")]
    for name in sorted(names, key=lambda n: target_key(split_name(n)[2])):
        k = an.kernel(name)
        target = split_name(name)[2]
        rows.append([
            f"**{target}**" if target == BEST else target,
            fmt_rate(k["rate"]),
            fmt_spread(*k["rate_spread"]),
            fmt_pct(k["eff"]),
            fmt_pct(k["bcast_eff"]),
            fmt_pct(k["own_eff"]),
            fmt(k["ms"], ".3f"),
        ] + [fmt_x(k["speedup"].get(key)) for key, _ in BASELINES])
    return rows


def baseline_rows(an, stage):
    titles = {
        "torch_fp32": "PyTorch fp32 (NCHW)",
        "torch_fp32_cl": "PyTorch fp32 (channels-last)",
        "torch_int8": "PyTorch int8 (onednn, channels-last)",
        "torch_int8_nchw": "PyTorch int8 (onednn, NCHW input)",
        "opencv_fp32": "OpenCV DNN fp32",
    }
    rows = []
    for key, title in titles.items():
        ms = an.baseline_series(stage, key)
        g = an.baseline_series(stage, key, "gmacs")
        if med(ms) is None:
            continue
        rows.append([title, fmt(med(g)), fmt_spread(*spread(g), scale=1.0), fmt(med(ms), ".3f")])
    return rows


def goals(an):
    """[(goal, met, detail)] for the issue's targets on AVX3_DL."""
    out = []
    k = {s: an.kernel(f"bconv3x3/{s}/{BEST}") for s in STAGES}
    if any(v is None for v in k.values()):
        return [(f"{BEST} kernel measured on every stage", False, "not run on this CPU/build")]
    first = k[STAGES[0]]["eff"]
    out.append((f">= {GOAL_CEILING_FIRST:.0%} of the popcount ceiling at {STAGES[0]}",
                first is not None and first >= GOAL_CEILING_FIRST, fmt_pct(first)))
    effs = {s: k[s]["eff"] for s in STAGES}
    out.append((f">= {GOAL_CEILING_ALL:.0%} of the ceiling on every stage",
                all(e is not None and e >= GOAL_CEILING_ALL for e in effs.values()),
                ", ".join(f"{s}: {fmt_pct(e)}" for s, e in effs.items())))
    ups = {s: k[s]["speedup"].get("torch_fp32") for s in STAGES}
    out.append((f">= {GOAL_VS_FP32:.0f}x faster than PyTorch fp32 on every stage",
                all(u is not None and u >= GOAL_VS_FP32 for u in ups.values()),
                ", ".join(f"{s}: {fmt_x(u)}" for s, u in ups.items())))
    ups8 = {s: k[s]["speedup"].get("torch_int8") for s in STAGES}
    out.append(("faster than PyTorch int8 on every stage",
                all(u is not None and u > GOAL_VS_INT8 for u in ups8.values()),
                ", ".join(f"{s}: {fmt_x(u)}" for s, u in ups8.items())))
    return out


def write_doc(an, meta, path):
    ctx = an.rounds[0][0]
    base0 = an.rounds[0][2]
    best_ceiling_target = an.best_ceiling_target()
    ceilings = [an.best_ceiling(r) for r in range(len(an.rounds))]
    L = []
    L.append("# Binary kernel benchmarks")
    L.append("")
    L.append("Generated by `bench/report.py` (do not edit by hand: re-run it). "
             "One core, batch 1, every implementation from `bnn_kernels_all()`.")
    L.append("")
    L.append("## Machine and build")
    L.append("")
    cpu = meta["cpu"]
    L.append(f"- CPU: {cpu['model']} ({cpu['family_model']}), {cpu['cores']} logical CPUs, "
             f"{cpu['mhz']} MHz reported; relevant flags: {', '.join(cpu['flags']) or 'none'}")
    L.append(f"- Compiler: {meta['compiler'] or ctx.get('bnn_compiler', '?')}; build options: "
             + ", ".join(f"{k}={v}" for k, v in meta["build_options"].items()))
    L.append(f"- Highway: {ctx.get('bnn_highway_version', '?')}; kernel tables: "
             f"{ctx.get('bnn_kernel_tables', '?')} (best: {ctx.get('bnn_best_table', '?')})")
    L.append(f"- Google Benchmark library build type: {ctx.get('library_build_type', '?')} "
             "(Debian's package; it does not affect the timed kernel calls)")
    L.append(f"- Baselines: PyTorch {base0.get('torch_version')} (threads: {base0.get('torch_threads')}, "
             f"quantized engine {base0.get('quantized_engine')}), OpenCV {base0.get('opencv_version')} "
             "(cv2.setNumThreads(1))")
    one = base0.get("onednn", {})
    if one:
        first = one.get(STAGES[0], {})
        L.append(f"- oneDNN ISA: {one.get('isa', '?')}; PyTorch's kernels here: fp32 "
                 f"`{first.get('torch_fp32', '?')}`, int8 `{first.get('torch_int8', '?')}`")
    L.append(f"- Git commit: {meta['commit']}")
    L.append(f"- Date: {meta['date']}; load average at start: {meta['load']}")
    L.append(f"- Rounds: {len(an.rounds)} (benchmark, then baselines, alternating); "
             f"--benchmark_min_time={meta['min_time']}")
    L.append("")
    L.append("Reproduce:")
    L.append("")
    L.append("```sh")
    L.append("meson setup build && ninja -C build")
    L.append(meta["command"])
    L.append("```")
    L.append("")
    L.append("## How to read the tables")
    L.append("")
    L.append("- Convolutions: 3x3, stride 1, SAME zero padding, batch 1, C -> C channels "
             "(ResNet-18's four stages), binary MACs = H * W * C * 9 * C per call. "
             "`bconv3x3` writes packed bits (thresholds); `bconv3x3_f32` writes floats.")
    L.append("- G bMAC/s: binary multiply-accumulates per second of wall time, median over rounds; "
             "the range is the min–max over rounds.")
    L.append(f"- % of ceiling: the kernel's rate over the best popcount ceiling measured in the same "
             f"run ({best_ceiling_target}: popcount of a XOR b on 64-bit lanes, 2 x 8 KiB in L1, "
             "4 accumulators), median over rounds. % own ceiling: against the ceiling loop compiled "
             "for the kernel's own target.")
    L.append("- % of bcast loop: the same against the best `popcount_broadcast` loop of the run "
             "(the convolution's loop shape without gather, border correction or output transform).")
    L.append("- Speed-ups: baseline median time over the kernel's median time within a round, median "
             "over rounds. PyTorch fp32 is NCHW; PyTorch int8 is the quantized convolution with a "
             "channels-last quint8 input (the layout a quantized network keeps between layers, its "
             "faster case); OpenCV is DNN fp32 on a one-layer ONNX net.")
    L.append("")

    L.append("## Goals (from the issue, AVX3_DL, one core)")
    L.append("")
    rows = [[g, "met" if ok else "**missed**", d] for g, ok, d in goals(an)]
    L.append(md_table(["goal", "result", "this run"], rows))
    L.append("")

    L.append("## Popcount ceiling")
    L.append("")
    L.append("`popcount_ceiling`: popcount(a XOR b) on 64-bit lanes, two 8 KiB streams in L1, 4 "
             "accumulators: the yardstick of the % of ceiling column and of the goals. "
             "`popcount_broadcast`: the convolution's own loop shape (one weight vector load XORed "
             "with 4 broadcast activation words, bconv-inl.h's MismatchTile) on L1 data; it needs "
             "half the vector loads, so it is bound by the vector ALU ports, not by loads, and "
             "can run faster than `popcount_ceiling`: a kernel can exceed 100 % of the ceiling.")
    L.append("")
    rows = []
    bcast_targets = {split_name(n)[2] for n in an.names if n.startswith("popcount_broadcast/")}
    for t in sorted(set(an.ceiling_targets()) | bcast_targets, key=target_key):
        name, bname = f"popcount_ceiling/{t}", f"popcount_broadcast/{t}"
        rates, brates = an.series(name, "rate"), an.series(bname, "rate")
        rows.append([f"**{t}**" if t == best_ceiling_target else t, fmt_rate(med(rates)),
                     fmt_spread(*spread(rates)), fmt_rate(med(brates)), fmt_spread(*spread(brates))])
    L.append(md_table(["target", "ceiling G bMAC/s", "range", "broadcast loop G bMAC/s", "range"],
                      rows))
    L.append("")
    L.append("Best ceiling per round (G bMAC/s): "
             + ", ".join(fmt_rate(c) for c in ceilings) + "; best broadcast loop per round: "
             + ", ".join(fmt_rate(an.best_ceiling(r, "popcount_broadcast/"))
                         for r in range(len(an.rounds))) + ".")
    L.append("")

    header = ["target", "G bMAC/s", "range", "% of ceiling", "% of bcast loop", "% own ceiling",
              "median ms"] + \
             [f"vs {title}" for _, title in BASELINES]
    for stage in STAGES:
        L.append(f"## bconv3x3 {stage} -> {stage.split('x')[-1]}")
        L.append("")
        L.append(md_table(header, conv_rows(an, "bconv3x3", stage)))
        L.append("")
        L.append(md_table(["baseline", "GMAC/s", "range", "median ms"], baseline_rows(an, stage)))
        L.append("")
    L.append(f"## bconv3x3_f32 {STAGES[0]} (float output)")
    L.append("")
    L.append(md_table(header, conv_rows(an, "bconv3x3_f32", STAGES[0])))
    L.append("")

    gemms = sorted({split_name(n)[1] for n in an.names if n.startswith("bgemm/")},
                   key=lambda s: [int(x) for x in s.split("x")])
    for g in gemms:
        m, k, n = g.split("x")
        out = "float output, the classifier's logits" if g == "1x512x1000" else "packed-bit output"
        L.append(f"## bgemm {m}x{k} -> {n} ({out})")
        L.append("")
        L.append(md_table(header[:7], [r[:7] for r in conv_rows(an, "bgemm", g)]))
        L.append("")

    L.append(f"## bitpack_f32 {STAGES[0]} (float NHWC -> bits)")
    L.append("")
    rows = []
    for name in sorted((n for n in an.names if n.startswith("bitpack_f32/")),
                       key=lambda n: target_key(split_name(n)[2])):
        secs = an.series(name, "seconds")
        h, w, c = (int(x) for x in STAGES[0].split("x"))
        elems = h * w * c
        rows.append([split_name(name)[2], fmt(elems / med(secs) * 1e-9, ".2f"),
                     fmt(elems * 4 / med(secs) * 1e-9, ".1f"), fmt(med(secs) * 1e6, ".1f")])
    L.append(md_table(["target", "G floats/s", "GB/s read", "median us"], rows))
    L.append("")

    # Facts computed from this run that bound what the binary path can win.
    L.append("## Notes from this run")
    L.append("")
    c = med(ceilings)
    bc = med([an.best_ceiling(r, "popcount_broadcast/") for r in range(len(an.rounds))])
    for stage in STAGES:
        i8 = med(an.baseline_series(stage, "torch_int8", "gmacs"))
        if c and i8:
            line = (f"- {stage}: PyTorch int8 runs {i8:.0f} GMAC/s; a binary kernel at 100 % of the "
                    f"ceiling ({c * 1e-9:.0f} G bMAC/s) would be {c * 1e-9 / i8:.2f}x its speed")
            if bc:
                line += f", at the broadcast loop's rate ({bc * 1e-9:.0f}) {bc * 1e-9 / i8:.2f}x"
            L.append(line + ".")
    if "amx_int8" in cpu["flags"]:
        L.append("- This CPU has AMX (amx_int8) and oneDNN uses it for the int8 convolution "
                 "(see the oneDNN kernel above): int8 is not limited to VNNI's ~128 MAC/cycle here.")
    L.append("- The machine is a shared 2-vCPU VM: load on the other vCPU (or on the host) can slow "
             "these port-bound loops by 1.5x or more for a while. Compare the ranges over rounds, "
             "and trust ratios taken within a round (the % and speed-up columns) more than "
             "absolute rates.")
    L.append("")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L))


def print_summary(an):
    print()
    print(f"{'stage':<11} {'target':<9} {'G bMAC/s':>9} {'%ceil':>7} {'%bcast':>7} {'ms':>8} "
          f"{'x fp32':>7} {'x int8':>7} {'x ocv':>7}")
    for stage in STAGES:
        for name in sorted((n for n in an.names if n.startswith(f"bconv3x3/{stage}/")),
                           key=lambda n: target_key(split_name(n)[2])):
            t = split_name(name)[2]
            if t not in ("AVX2", "AVX3", "AVX3_DL", "NEON", "SVE", "SVE2"):
                continue
            k = an.kernel(name)
            print(f"{stage:<11} {t:<9} {fmt_rate(k['rate']):>9} {fmt_pct(k['eff']):>7} "
                  f"{fmt_pct(k['bcast_eff']):>7} "
                  f"{k['ms']:>8.3f} {fmt_x(k['speedup'].get('torch_fp32')):>7} "
                  f"{fmt_x(k['speedup'].get('torch_int8')):>7} {fmt_x(k['speedup'].get('opencv_fp32')):>7}")
    ceil = [an.best_ceiling(r) for r in range(len(an.rounds))]
    bc = [an.best_ceiling(r, "popcount_broadcast/") for r in range(len(an.rounds))]
    print(f"ceiling ({an.best_ceiling_target()}): {fmt_rate(med(ceil))} G bMAC/s "
          f"(rounds: {', '.join(fmt_rate(c) for c in ceil)}); broadcast loop: {fmt_rate(med(bc))} "
          f"(rounds: {', '.join(fmt_rate(c) for c in bc)})")
    for g, ok, d in goals(an):
        print(f"[{'met' if ok else 'MISSED'}] {g}: {d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", nargs="?", default=os.path.join("build", "bench", "bnn-kernel-bench"),
                    help="the bnn-kernel-bench binary (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--min-time", type=float, default=0.2,
                    help="--benchmark_min_time per benchmark, seconds (default 0.2)")
    ap.add_argument("--filter", help="--benchmark_filter for the binary")
    ap.add_argument("--quick", action="store_true",
                    help="smoke check: 1 round, min time 0.03 s, short baselines; writes the "
                         "report next to the binary unless --out is given")
    ap.add_argument("--out", help="Markdown report (default docs/kernel-benchmarks.md)")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="Python with torch and OpenCV for baselines.py (default %(default)s)")
    ap.add_argument("--json", help="also save the raw results of every round here")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.min_time = 1, 0.03
    bench = os.path.abspath(args.bench)
    if not os.path.exists(bench):
        sys.exit(f"{bench} not found: build it with `meson setup build && ninja -C build` "
                 "(needs libbenchmark-dev)")
    if args.out:
        out = args.out
    elif args.quick:
        out = os.path.join(os.path.dirname(bench), "kernel-benchmarks-quick.md")
    else:
        out = os.path.join(ROOT, "docs", "kernel-benchmarks.md")

    build_dir = os.path.dirname(os.path.dirname(bench))
    cmd = ["/usr/bin/python3", "bench/report.py", os.path.relpath(bench, ROOT)]
    if args.quick:
        cmd.append("--quick")
    else:
        if args.rounds != 3:
            cmd.append(f"--rounds={args.rounds}")
        if args.min_time != 0.2:
            cmd.append(f"--min-time={args.min_time}")
    if args.filter:
        cmd.append(f"--filter={shlex.quote(args.filter)}")
    meta = {
        "cpu": cpu_model(),
        "compiler": compiler_version(build_dir),
        "build_options": build_options(build_dir),
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "min_time": args.min_time,
        "command": " ".join(cmd),
    }
    extra = [f"--benchmark_filter={args.filter}"] if args.filter else []

    rounds = []
    t0 = time.time()
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        ctx, res = run_bench(bench, args.min_time, extra)
        base = run_baselines(args.python, args.quick)
        rounds.append((ctx, res, base))
    log(f"measured in {time.time() - t0:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rounds": rounds}, f, indent=1)

    an = Analysis(rounds)
    write_doc(an, meta, out)
    print_summary(an)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
