#!/usr/bin/python3
"""Network benchmark: a Bi-Real-Net-18-shaped binary network against ResNet-18 in
PyTorch fp32, PyTorch int8 and OpenCV DNN fp32, one thread each, in the same run.
Writes docs/network-benchmarks.md and its plots (docs/network-*.png).

    /usr/bin/python3 bench/network_bench.py            # full run, about a minute
    /usr/bin/python3 bench/network_bench.py --quick    # smoke check, about 10 seconds

Builds nothing: it takes the model generator (build/bench/bnn-make-bireal18) and
the runtime's benchmark tool (build/apps/bnn-benchmark), writes the models to a
temporary directory and, for --rounds rounds, alternates

  bnn-benchmark MODEL --runs N          the binary network (median, profile, memory)
  bnn-benchmark MODEL --force-reference the same on the C reference kernels
  PyTorch fp32  torchvision resnet18, eval + no_grad; as briefed (NCHW, eager),
                channels-last, and TorchScript frozen + optimize_for_inference
  PyTorch int8  torchvision.models.quantization.resnet18, fused, post-training
                static quantization (engine 'onednn', random calibration batches),
                NCHW input (as briefed) and channels-last input
  OpenCV fp32   cv2.dnn on the ONNX export of the fp32 model
  sweep         the binary network at other resolutions and widths

Every figure is the median over rounds; speed-ups are taken within a round (same
state of a noisy shared machine) and then the median taken. The weights are
random: outputs mean nothing, only latency and memory are measured.

Needs Debian's python3-torch, python3-torchvision, python3-opencv, python3-onnx and
(for the plots) python3-matplotlib; run with /usr/bin/python3. No test compares these
figures against a limit: the report's "targets" section only states what this run met.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

# One thread for every library, set before torch / OpenCV load their pools.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from baselines import time_call  # noqa: E402  (bench/baselines.py)
from report import (build_options, compiler_version, cpu_model, fmt, fmt_x, git_commit,  # noqa: E402
                    log, md_table, med, spread)

# The targets for the Bi-Real-18-shaped network, one core.
TARGET_MS = 6.0          # median latency at most
TARGET_VS_FP32 = 7.0     # times faster than PyTorch fp32
TARGET_VS_INT8 = 1.0     # faster than PyTorch int8
TARGET_MAX_SHARE = 0.25  # no single non-binary operator above this share
# The fp32 FMA peak in MACs of TOOLCHAIN.md's CPU (176 GFLOP/s, AVX-512): the stem's bound
# there. Not measured by the suite, so it is quoted only on that CPU.
FP32_FMA_GMACS = 88.0
FP32_FMA_CPU = ("Intel", "family 6, model 167")

BINARY_TYPES = {"BCONV2D", "BFULLY_CONNECTED", "BMAXPOOL2D", "BITPACK"}

# Baselines: key, title, the briefed variant of its family (targets use it).
BASELINES = [
    ("torch_fp32", "PyTorch fp32 (eager, NCHW)"),
    ("torch_fp32_cl", "PyTorch fp32 (eager, channels-last)"),
    ("torch_fp32_jit", "PyTorch fp32 (TorchScript frozen + optimize_for_inference)"),
    ("torch_int8", "PyTorch int8 (onednn, NCHW input)"),
    ("torch_int8_cl", "PyTorch int8 (onednn, channels-last input)"),
    ("opencv_fp32", "OpenCV DNN fp32 (ONNX)"),
]
FP32_KEYS = ["torch_fp32", "torch_fp32_cl", "torch_fp32_jit"]
INT8_KEYS = ["torch_int8", "torch_int8_cl"]

# The operator groups of the per-layer profile: (title, predicate on (type, name)).
GROUPS = [
    ("first conv (CONV2D 7x7/2; with --int8-stem in int8, and its QUANTIZE)",
     lambda t, n: (t == "CONV2D" and n == "conv1") or n == "conv1.quantize"),
    ("binary convs (BCONV2D; with residual fusion, their shortcut ADDs)", lambda t, n: t == "BCONV2D"),
    ("bitpack (BITPACK)", lambda t, n: t == "BITPACK"),
    ("shortcut adds (ADD)", lambda t, n: t == "ADD"),
    ("downsample shortcuts (AVGPOOL2D + 1x1 CONV2D, float)",
     lambda t, n: ".downsample." in n and t in ("AVGPOOL2D", "CONV2D")),
    ("pooling (MAXPOOL2D, GLOBAL_AVGPOOL)", lambda t, n: t in ("MAXPOOL2D", "GLOBAL_AVGPOOL")),
    ("classifier (RESHAPE + FULLY_CONNECTED, float)", lambda t, n: t in ("RESHAPE", "FULLY_CONNECTED")),
]


def group_of(op_type, name):
    for title, pred in GROUPS:
        if pred(op_type, name):
            return title
    return "other"


def stage_of(name):
    m = re.match(r"(layer\d)\.", name)
    if m:
        return m.group(1)
    return "stem (conv1, maxpool)" if name in ("conv1", "maxpool") else "head (avgpool, fc)"


# ---------------------------------------------------------------------------
# The network's shape (for MAC counts; mirrors bench/models/bireal18.cc)


def bireal_macs(size, base, classes=1000):
    """{operator name: (kind, MACs)}, kind 'binary' or 'float'."""
    ops = {}
    h = -(-size // 2)
    ops["conv1"] = ("float", h * h * base * 7 * 7 * 3)
    h = -(-h // 2)  # maxpool
    cin = base
    for stage in range(4):
        ch = base << stage
        for block in range(2):
            for conv in (1, 2):
                stride = 2 if stage > 0 and block == 0 and conv == 1 else 1
                ho = -(-h // stride)
                ops[f"layer{stage + 1}.{block}.conv{conv}"] = ("binary", ho * ho * ch * 9 * cin)
                if stride != 1 or ch != cin:
                    ops[f"layer{stage + 1}.{block}.downsample.conv"] = ("float", ho * ho * ch * cin)
                h, cin = ho, ch
    ops["fc"] = ("float", cin * classes)
    return ops


def total_macs(size, base, kind):
    return sum(m for k, m in bireal_macs(size, base).values() if k == kind)


# ---------------------------------------------------------------------------
# The binary network: generator and bnn-benchmark


def make_model(generator, path, size, base, int8_stem=False):
    cmd = [generator, path, "--size", str(size), "--base-channels", str(base)] + (["--int8-stem"] if int8_stem else [])
    subprocess.run(cmd, check=True)
    return os.path.getsize(path)


PROFILE_RE = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+([-\d.]+)\s+([-\d.]+)%\s*([-\d.]*)\s*$")


def run_bnn(tool, model, runs, warmup=5, reference=False, profile=True):
    cmd = [tool, model, "--runs", str(runs), "--warmup", str(warmup)]
    if reference:
        cmd.append("--force-reference")
    if not profile:
        cmd.append("--no-profile")
    log("+ " + " ".join(shlex.quote(os.path.basename(c) if c == tool else c) for c in cmd))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = {"profile": []}
    for line in out.splitlines():
        if line.startswith("kernels:"):
            r["kernels"] = line.split(":", 1)[1].strip()
        elif line.startswith("latency:"):
            m = re.search(r"([\d.]+) ms median over (\d+) runs \(min ([\d.]+), max ([\d.]+)\)", line)
            r["median_ms"], r["runs"] = float(m.group(1)), int(m.group(2))
            r["min_ms"], r["max_ms"] = float(m.group(3)), float(m.group(4))
        elif line.startswith("weights:"):
            m = re.search(r"(\d+) bytes in the file, (\d+) bytes re-packed", line)
            r["weights_file"], r["weights_packed"] = int(m.group(1)), int(m.group(2))
        elif line.startswith("arena:"):
            r["arena"] = int(re.search(r"(\d+) bytes", line).group(1))
        else:
            m = PROFILE_RE.match(line)
            if m:
                # A fused pair (docs/runtime.md) counts under its own types: the
                # convolution's row holds the time of both, the ADD's none.
                t = m.group(2)
                base = {"BCONV2D+ADD": "BCONV2D", "ADD:fused": "ADD"}.get(t, t)
                r["profile"].append({"index": int(m.group(1)), "type": base, "fused": base != t,
                                     "name": m.group(3), "ms": float(m.group(4)),
                                     "share": float(m.group(5)) / 100,
                                     "rate": float(m.group(6)) if m.group(6) else None})
    if "median_ms" not in r:
        raise RuntimeError(f"could not parse bnn-benchmark's output:\n{out}")
    return r


def check_outputs(run_tool, model, tmpdir, size):
    """Runs the model once with bnn-run on the best kernels and once on the reference:
    {'finite': all outputs finite, 'max_abs_diff': between the two} (None without bnn-run
    or numpy)."""
    try:
        import numpy as np
    except ImportError:
        return None
    if not os.path.exists(run_tool):
        return None
    x = os.path.join(tmpdir, "input.npy")
    np.save(x, np.random.RandomState(0).randn(1, size, size, 3).astype(np.float32))
    outs = []
    for extra in ([], ["--force-reference"]):
        y = os.path.join(tmpdir, f"output{len(outs)}.npy")
        subprocess.run([run_tool, model, "--input", x, "--output", y] + extra, check=True,
                       capture_output=True)
        outs.append(np.load(y))
    return {"finite": bool(np.isfinite(outs[0]).all()),
            "max_abs_diff": float(np.abs(outs[0] - outs[1]).max()),
            "shape": list(outs[0].shape)}


# ---------------------------------------------------------------------------
# Baselines: ResNet-18 in PyTorch and OpenCV


def seeded_resnet18(seed=0):
    import torch
    import torchvision

    torch.manual_seed(seed)
    return torchvision.models.resnet18(num_classes=1000).eval()


def quantized_resnet18(size, calibration_batches, seed=0):
    """torchvision's quantizable ResNet-18, fused, post-training static quantization
    (engine 'onednn'), calibrated on random batches."""
    import torch
    import torchvision

    torch.backends.quantized.engine = "onednn"
    torch.manual_seed(seed)
    q = torchvision.models.quantization.resnet18(weights=None, quantize=False, num_classes=1000).eval()
    q.fuse_model()
    q.qconfig = torch.ao.quantization.get_default_qconfig("onednn")
    torch.ao.quantization.prepare(q, inplace=True)
    with torch.no_grad():
        for _ in range(calibration_batches):
            q(torch.randn(1, 3, size, size))
    torch.ao.quantization.convert(q, inplace=True)
    return q


def strip_identity(model):
    """OpenCV 4.6's ONNX importer rejects the Identity nodes torch 1.13 emits on shared
    initializers: turn each into an initializer (or a rename of its input)."""
    import onnx

    inits = {i.name: i for i in model.graph.initializer}
    rename, keep = {}, []
    for node in model.graph.node:
        if node.op_type == "Identity":
            src = rename.get(node.input[0], node.input[0])
            if src in inits:
                t = onnx.TensorProto()
                t.CopyFrom(inits[src])
                t.name = node.output[0]
                model.graph.initializer.append(t)
                inits[t.name] = t
            else:
                rename[node.output[0]] = src
            continue
        keep.append(node)
    for node in keep:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for out in model.graph.output:
        if out.name in rename:  # keep the graph's output name: leave that Identity
            raise RuntimeError("an Identity feeds a graph output; not handled")
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


def build_baselines(size, tmpdir, quick):
    """[(key, callable)] and facts (file sizes, versions, sanity checks)."""
    import copy

    import cv2
    import numpy as np
    import onnx
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    cv2.setNumThreads(1)
    facts = {"torch_version": torch.__version__, "opencv_version": cv2.__version__,
             "torch_threads": torch.get_num_threads(), "quantized_engine": "onednn"}
    import torchvision
    facts["torchvision_version"] = torchvision.__version__

    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    x_cl = x.contiguous(memory_format=torch.channels_last)
    fns = []

    fp32 = seeded_resnet18()
    facts["fp32_params"] = sum(p.numel() for p in fp32.parameters())
    with torch.no_grad():
        ref = fp32(x)

    def torch_fp32():
        with torch.no_grad():
            return fp32(x)

    fns.append(("torch_fp32", torch_fp32))

    fp32_cl = copy.deepcopy(fp32).to(memory_format=torch.channels_last)

    def torch_fp32_cl():
        with torch.no_grad():
            return fp32_cl(x_cl)

    fns.append(("torch_fp32_cl", torch_fp32_cl))

    with torch.no_grad():
        jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(copy.deepcopy(fp32))))
        for _ in range(2):
            jit(x)  # the profiling executor specialises on the first calls
        err = float((jit(x) - ref).abs().max())
    if err > 1e-3 * max(1.0, float(ref.abs().max())):
        log(f"warning: TorchScript fp32 differs from eager by {err}")

    def torch_fp32_jit():
        with torch.no_grad():
            return jit(x)

    fns.append(("torch_fp32_jit", torch_fp32_jit))

    t0 = time.time()
    int8 = quantized_resnet18(size, 2 if quick else 8)
    facts["int8_calibration_s"] = time.time() - t0
    facts["int8_calibration_batches"] = 2 if quick else 8
    int8_path = os.path.join(tmpdir, "resnet18_int8.pt")
    torch.save(int8.state_dict(), int8_path)
    facts["int8_state_dict_bytes"] = os.path.getsize(int8_path)

    def torch_int8():
        with torch.no_grad():
            return int8(x)

    def torch_int8_cl():
        with torch.no_grad():
            return int8(x_cl)

    fns.append(("torch_int8", torch_int8))
    fns.append(("torch_int8_cl", torch_int8_cl))

    onnx_path = os.path.join(tmpdir, "resnet18.onnx")
    with torch.no_grad():
        torch.onnx.export(fp32, x, onnx_path, input_names=["input"], output_names=["logits"],
                          opset_version=11, do_constant_folding=True)
    facts["onnx_bytes"] = os.path.getsize(onnx_path)
    m = onnx.load(onnx_path)
    facts["onnx_identity_nodes"] = sum(1 for n in m.graph.node if n.op_type == "Identity")
    fixed_path = os.path.join(tmpdir, "resnet18_no_identity.onnx")
    onnx.save(strip_identity(m), fixed_path)
    net = cv2.dnn.readNetFromONNX(fixed_path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    blob = x.numpy().astype(np.float32)

    def opencv_fp32():
        net.setInput(blob)
        return net.forward()

    err = float(np.abs(opencv_fp32() - ref.numpy()).max())
    facts["opencv_max_abs_diff"] = err
    if err > 1e-2 * max(1.0, float(ref.abs().max())):
        log(f"warning: OpenCV ResNet-18 differs from PyTorch by {err}")
    fns.append(("opencv_fp32", opencv_fp32))
    return fns, facts


def probe_onednn(size):
    """Which oneDNN convolution kernels each PyTorch variant runs (DNNL_VERBOSE in a
    child process, as bench/baselines.py does for single convolutions)."""
    probe = (
        "import sys, collections\n"
        f"sys.path.insert(0, {HERE!r})\n"
        "import network_bench as nb\n"
        "nb.onednn_probe_child(%d)\n" % size
    )
    env = dict(os.environ, DNNL_VERBOSE="1", ONEDNN_VERBOSE="1")
    try:
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                             timeout=300).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    impls, key = {}, None
    for line in out.splitlines():
        if line.startswith("--- "):
            key = line.split()[1]
            continue
        f = line.split(",")
        if key and key != "end" and len(f) > 4 and f[1] == "exec" and f[3] == "convolution":
            impls.setdefault(key, {})
            impls[key][f[4]] = impls[key].get(f[4], 0) + 1
        if len(f) > 3 and f[1] == "info" and f[2].startswith("cpu") and "isa:" in line:
            impls.setdefault("isa", line.split("isa:", 1)[1].strip())
    return impls


def onednn_probe_child(size):
    import copy

    import torch

    torch.set_num_threads(1)
    x = torch.randn(1, 3, size, size)
    fp32 = seeded_resnet18()
    fp32_cl = copy.deepcopy(fp32).to(memory_format=torch.channels_last)
    with torch.no_grad():
        jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(copy.deepcopy(fp32))))
        for _ in range(2):
            jit(x)
        int8 = quantized_resnet18(size, 1)
        for key, fn in [("torch_fp32", lambda: fp32(x)),
                        ("torch_fp32_cl", lambda: fp32_cl(x.contiguous(memory_format=torch.channels_last))),
                        ("torch_fp32_jit", lambda: jit(x)),
                        ("torch_int8", lambda: int8(x)),
                        ("torch_int8_cl", lambda: int8(x.contiguous(memory_format=torch.channels_last)))]:
            fn()  # first call: oneDNN creates its primitives
            print("---", key, flush=True)
            fn()
            print("--- end", flush=True)


# ---------------------------------------------------------------------------
# Analysis


def ratio_series(num, den):
    return [a / b if a and b else None for a, b in zip(num, den)]


def fmt_range(lo, hi, spec=".2f"):
    return "–" if lo is None else f"{lo:{spec}}–{hi:{spec}}"


def fmt_bytes(n):
    if n is None:
        return "–"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.2f} MiB"
    return f"{n / 1024:.0f} KiB"


class Analysis:
    def __init__(self, rounds, sweep_points):
        self.rounds = rounds
        self.sweep_points = sweep_points

    def bnn(self, field="median_ms"):
        return [r["bnn"][field] for r in self.rounds]

    def ref(self):
        return [r["bnn_ref"]["median_ms"] if r.get("bnn_ref") else None for r in self.rounds]

    def base(self, key, field="median_ms"):
        return [r["baselines"].get(key, {}).get(field) for r in self.rounds]

    def speedup(self, series):
        """Per-round (baseline ms / binary ms), median and range."""
        ups = ratio_series(series, self.bnn())
        return med(ups), spread(ups)

    def best_of(self, keys):
        """The key whose median is lowest (the strongest variant of a family)."""
        have = [(med(self.base(k)), k) for k in keys if med(self.base(k)) is not None]
        return min(have)[1] if have else None

    def profile(self):
        """[(type, name, median ms over rounds, median rate)] in execution order."""
        ops = {}
        for r in self.rounds:
            for p in r["bnn"]["profile"]:
                ops.setdefault(p["index"], {"type": p["type"], "name": p["name"], "ms": [], "rate": []})
                ops[p["index"]]["ms"].append(p["ms"])
                ops[p["index"]]["rate"].append(p["rate"])
        return [(o["type"], o["name"], med(o["ms"]), med(o["rate"])) for _, o in sorted(ops.items())]

    def shares_per_round(self):
        """Per round: {op name: share of that round's profile total}."""
        out = []
        for r in self.rounds:
            total = sum(p["ms"] for p in r["bnn"]["profile"])
            out.append({p["name"]: (p["type"], p["ms"] / total if total else None) for p in r["bnn"]["profile"]})
        return out

    def largest_non_binary(self):
        """(name, type, median share over rounds, range) of the largest non-binary operator."""
        per = self.shares_per_round()
        if not per or not per[0]:
            return None
        names = {n: t for d in per for n, (t, _) in d.items() if t not in BINARY_TYPES}
        best = None
        for n, t in names.items():
            shares = [d[n][1] if n in d else None for d in per]
            m = med(shares)
            if m is not None and (best is None or m > best[2]):
                best = (n, t, m, spread(shares))
        return best

    def sweep(self, size, base):
        key = f"{size}x{base}"
        return [r["sweep"].get(key, {}).get("median_ms") for r in self.rounds]

    def sweep_parts(self, size, base):
        """(conv1 ms, BCONV2D ms, everything else ms, profile total), medians over rounds."""
        key = f"{size}x{base}"
        parts = []
        for r in self.rounds:
            prof = r["sweep"].get(key, {}).get("profile") or []
            if not prof:
                continue
            c1 = sum(p["ms"] for p in prof if p["name"] == "conv1")
            bc = sum(p["ms"] for p in prof if p["type"] == "BCONV2D")
            tot = sum(p["ms"] for p in prof)
            parts.append((c1, bc, tot - c1 - bc, tot))
        if not parts:
            return None
        return tuple(med([p[i] for p in parts]) for i in range(4))


def expected_ms(an, size, base):
    """The main network's profile scaled to another shape, each part by its own work:
    binary convolutions by binary MACs, float convolutions and the classifier by float
    MACs, everything else (bitpack, adds, pooling) by activation size (channels x pixels)."""
    s0, b0 = an.main_shape
    prof = an.profile()
    if not prof:
        return None
    t_bin = sum(ms for t, _, ms, _ in prof if t == "BCONV2D")
    t_flt = sum(ms for t, _, ms, _ in prof if t in ("CONV2D", "FULLY_CONNECTED"))
    t_act = sum(ms for t, _, ms, _ in prof) - t_bin - t_flt
    scale = med(an.bnn()) / sum(ms for _, _, ms, _ in prof)  # profile total -> end-to-end
    act = (base * size * size) / (b0 * s0 * s0)
    return scale * (t_bin * total_macs(size, base, "binary") / total_macs(s0, b0, "binary")
                    + t_flt * total_macs(size, base, "float") / total_macs(s0, b0, "float")
                    + t_act * act)


def groups_table(prof, size, base):
    macs = bireal_macs(size, base)
    total = sum(ms for _, _, ms, _ in prof)
    rows, sums = [], {}
    for t, n, ms, _ in prof:
        g = group_of(t, n)
        s = sums.setdefault(g, {"ms": 0.0, "ops": 0, "macs": 0})
        s["ms"] += ms
        s["ops"] += 1
        s["macs"] += macs.get(n, ("", 0))[1] if t in ("CONV2D", "BCONV2D", "FULLY_CONNECTED") else 0
    for title, _ in GROUPS + [("other", None)]:
        if title not in sums:
            continue
        s = sums[title]
        rate = f"{s['macs'] / (s['ms'] * 1e-3) * 1e-9:.1f}" if s["macs"] and s["ms"] else "–"
        gmacs = f"{s['macs'] * 1e-9:.3f}" if s["macs"] else "–"
        rows.append([title, s["ops"], f"{s['ms']:.3f}", f"{100 * s['ms'] / total:.1f} %", gmacs, rate])
    return rows, sums, total


def stages_table(prof, size, base):
    macs = bireal_macs(size, base)
    total = sum(ms for _, _, ms, _ in prof)
    order, st = [], {}
    for t, n, ms, _ in prof:
        s = stage_of(n)
        if s not in st:
            order.append(s)
            st[s] = {"ms": 0.0, "bconv_ms": 0.0, "bmacs": 0, "other_ms": 0.0}
        st[s]["ms"] += ms
        if t == "BCONV2D":
            st[s]["bconv_ms"] += ms
            st[s]["bmacs"] += macs.get(n, ("", 0))[1]
        else:
            st[s]["other_ms"] += ms
    rows = []
    for s in order:
        v = st[s]
        rate = f"{v['bmacs'] / (v['bconv_ms'] * 1e-3) * 1e-9:.0f}" if v["bmacs"] else "–"
        rows.append([s, f"{v['ms']:.3f}", f"{100 * v['ms'] / total:.1f} %", f"{v['bconv_ms']:.3f}",
                     f"{v['other_ms']:.3f}", f"{v['bmacs'] * 1e-9:.3f}" if v["bmacs"] else "–", rate])
    return rows


# ---------------------------------------------------------------------------
# Report


def targets(an):
    """[(target, met (None: not measured), detail)]."""
    out = []
    bnn_ms = med(an.bnn())
    out.append((f"Bi-Real-18-shaped network at most {TARGET_MS:g} ms median on one core",
                bnn_ms is not None and bnn_ms <= TARGET_MS,
                f"{bnn_ms:.3f} ms (round medians {fmt_range(*spread(an.bnn()), spec='.3f')} ms)"))
    up, rng = an.speedup(an.base("torch_fp32"))
    best = an.best_of(FP32_KEYS)
    bup, brng = an.speedup(an.base(best)) if best else (None, (None, None))
    out.append((f"at least {TARGET_VS_FP32:g}x faster than PyTorch fp32 (eager, as briefed)",
                None if up is None else up >= TARGET_VS_FP32,
                f"{fmt_x(up)} (rounds {fmt_range(*rng)})"))
    if best and best != "torch_fp32":
        out.append((f"... and against the fastest PyTorch fp32 variant measured ({best})",
                    bup is not None and bup >= TARGET_VS_FP32, f"{fmt_x(bup)} (rounds {fmt_range(*brng)})"))
    up, rng = an.speedup(an.base("torch_int8"))
    best = an.best_of(INT8_KEYS)
    bup, brng = an.speedup(an.base(best)) if best else (None, (None, None))
    out.append(("faster than PyTorch int8 (onednn, NCHW input, as briefed)",
                None if up is None else up > TARGET_VS_INT8, f"{fmt_x(up)} (rounds {fmt_range(*rng)})"))
    if best and best != "torch_int8":
        out.append((f"... and against the fastest PyTorch int8 variant measured ({best})",
                    bup is not None and bup > TARGET_VS_INT8, f"{fmt_x(bup)} (rounds {fmt_range(*brng)})"))
    big = an.largest_non_binary()
    if big:
        name, t, share, (lo, hi) = big
        out.append((f"no single non-binary operator over {TARGET_MAX_SHARE:.0%} of the total",
                    share <= TARGET_MAX_SHARE,
                    f"largest: {name} ({t}) {100 * share:.1f} % (rounds {100 * lo:.1f}–{100 * hi:.1f} %)"))
    return out


def machine_lines(meta, an):
    cpu = meta["cpu"]
    b0 = an.rounds[0]["bnn"]
    facts = meta["baselines"]
    lines = [
        f"- CPU: {cpu['model']} ({cpu['family_model']}), {cpu['cores']} logical CPUs, {cpu['mhz']} MHz "
        f"reported; relevant flags: {', '.join(cpu['flags']) or 'none'}",
        f"- Compiler: {meta['compiler'] or '?'}; build options: "
        + ", ".join(f"{k}={v}" for k, v in meta["build_options"].items()),
        f"- Kernels: {b0.get('kernels', '?')} (Highway target chosen at run time); the reference "
        "row forces the portable C reference kernels (`bnn-benchmark --force-reference`)",
        f"- Baselines: PyTorch {facts.get('torch_version')} (torchvision {facts.get('torchvision_version')}, "
        f"threads: {facts.get('torch_threads')}, quantized engine {facts.get('quantized_engine')}), "
        f"OpenCV {facts.get('opencv_version')} (cv2.setNumThreads(1))",
    ]
    one = meta.get("onednn") or {}
    if one:
        parts = []
        for key, _ in BASELINES:
            if key in one:
                parts.append(f"{key}: " + ", ".join(f"`{k}` x{v}" for k, v in sorted(one[key].items())))
        lines.append(f"- oneDNN ISA: {one.get('isa', '?')}; convolution kernels per inference: "
                     + "; ".join(parts))
    lines += [
        f"- Git commit: {meta['commit']}",
        f"- Date: {meta['date']}; load average at start: {meta['load_start']}, at end: {meta['load_end']}",
        f"- Rounds: {len(an.rounds)}; per round: bnn-benchmark --runs {meta['runs']} (after 5 warm-up "
        f"runs; then {min(meta['runs'], 20)} profiled runs), --force-reference --runs {meta['ref_runs']}, "
        f"each PyTorch fp32 variant {meta['samples_fp32']} calls, each int8 variant {meta['samples_int8']}, OpenCV "
        f"{meta['samples_opencv']} (after 3 warm-up calls), and the sweep (--runs {meta['sweep_runs']})",
    ]
    return lines


def write_doc(an, meta, path, plots):
    L = []
    size, base = meta["size"], meta["base"]
    L.append("# Network benchmarks: Bi-Real-Net-18-shaped binary network vs ResNet-18")
    L.append("")
    L.append("Generated by `bench/network_bench.py` (do not edit by hand: re-run it). One thread "
             "everywhere, batch 1, "
             f"{size}x{size} input. The binary network is the Bi-Real-Net-18 shape written by "
             "`bnn-make-bireal18` (bench/models/bireal18.cc) with random weights; the baselines run "
             "torchvision's ResNet-18 (same stage shapes, float or int8 convolutions, random weights).")
    L.append("")
    if meta.get("int8_stem"):
        L.append("**This run's binary network has an int8 stem** (`--int8-stem`): its input is quantised "
                 "(QUANTIZE) and the 7x7 first convolution runs on int8 with int8 weights, as "
                 "`bnn-convert --int8` writes a first layer; the rest of the network is unchanged. "
                 "[network-benchmarks.md](network-benchmarks.md) has the float stem.")
        L.append("")
    L.append("## Machine and build")
    L.append("")
    L += machine_lines(meta, an)
    L.append("")
    L.append("Reproduce:")
    L.append("")
    L.append("```sh")
    L.append("apt-get install python3-torch python3-torchvision python3-opencv python3-onnx "
             "python3-matplotlib")
    L.append("meson setup build && ninja -C build")
    L.append(meta["command"])
    L.append("```")
    L.append("")

    L.append("## Targets (from the issue, one core)")
    L.append("")
    L.append(md_table(["target", "result", "this run"],
                      [[t, "not measured" if ok is None else "met" if ok else "**missed**", d]
                       for t, ok, d in targets(an)]))
    L.append("")

    # Main table.
    L.append("## Latency, memory and size")
    L.append("")
    b0 = an.rounds[-1]["bnn"]
    facts = meta["baselines"]
    bnn_ms = an.bnn()
    rows = [[f"**binary network, bnn ({b0.get('kernels', '?')})**", fmt(med(bnn_ms), ".3f"),
             fmt_range(*spread(bnn_ms), spec=".3f"), fmt(min(an.bnn("min_ms")), ".3f"), "1 (itself)",
             fmt_bytes(b0.get("arena")),
             f"{fmt_bytes(b0.get('weights_file'))} ({fmt_bytes(b0.get('weights_packed'))} re-packed)",
             f"{fmt_bytes(meta['bnn_file_bytes'])} .bnn"]]
    ref = an.ref()
    if med(ref) is not None:
        up, rng = an.speedup(ref)
        rows.append(["binary network, bnn reference kernels (`--force-reference`)", fmt(med(ref), ".1f"),
                     fmt_range(*spread(ref), spec=".1f"), "–", f"{fmt_x(up)} ({fmt_range(*rng)})",
                     fmt_bytes(an.rounds[-1]["bnn_ref"].get("arena")), "as above", "as above"])
    fp32_bytes = facts.get("fp32_params", 0) * 4
    for key, title in BASELINES:
        s = an.base(key)
        if med(s) is None:
            continue
        up, rng = an.speedup(s)
        weights = fmt_bytes(fp32_bytes) + " fp32" if key.startswith(("torch_fp32", "opencv")) else \
            fmt_bytes(facts.get("int8_state_dict_bytes")) + " (state_dict)"
        fsize = f"{fmt_bytes(facts.get('onnx_bytes'))} .onnx" if key.startswith(("torch_fp32", "opencv")) else \
            f"{fmt_bytes(facts.get('int8_state_dict_bytes'))} .pt"
        rows.append([title, fmt(med(s), ".3f"), fmt_range(*spread(s), spec=".3f"),
                     fmt(min(x for x in an.base(key, "min_ms") if x is not None), ".3f"),
                     f"{fmt_x(up)} ({fmt_range(*rng)})", "–", weights, fsize])
    L.append(md_table(["implementation", "median ms", "round medians", "best run ms",
                       "binary net faster by (rounds)", "peak arena", "weights", "file"], rows))
    L.append("")
    L.append("- median ms: median over rounds of each round's median; round medians: min–max over "
             "rounds (the spread); best run: the fastest single call of the whole run.")
    L.append("- binary net faster by: this implementation's median over the binary network's median "
             "within a round, median over rounds (range over rounds in brackets).")
    L.append("- peak arena: bnn's planned peak of all intermediate tensors and scratch (one buffer, "
             "allocated once). PyTorch and OpenCV allocate per call and report no comparable figure.")
    L.append(f"- Model size: the .bnn file is {fmt_bytes(meta['bnn_file_bytes'])}, the float ONNX "
             f"export of ResNet-18 {fmt_bytes(facts.get('onnx_bytes'))} "
             f"({facts.get('onnx_bytes', 0) / meta['bnn_file_bytes']:.1f}x larger), the int8 "
             f"state_dict {fmt_bytes(facts.get('int8_state_dict_bytes'))} "
             f"({facts.get('int8_state_dict_bytes', 0) / meta['bnn_file_bytes']:.1f}x). Of the .bnn "
             f"file's weights, the float classifier (512x1000 + bias) is "
             f"{fmt_bytes((8 * base * 1000 + 1000) * 4)}, the binary 3x3 kernels "
             f"{fmt_bytes(meta['binary_weight_bytes'])} (one bit per weight), "
             f"the float 7x7 stem and 1x1 shortcuts {fmt_bytes(meta['float_conv_weight_bytes'])}.")
    oc = meta.get("output_check")
    if oc:
        L.append(f"- Sanity check of the binary network (bnn-run, one random input): outputs "
                 f"{'all finite' if oc['finite'] else '**not all finite**'}, shape {oc['shape']}; the "
                 f"optimised and the reference kernels differ by at most {oc['max_abs_diff']:.3g}.")
    L.append(f"- OpenCV's output differs from PyTorch fp32's by at most "
             f"{facts.get('opencv_max_abs_diff', float('nan')):.2g} (a sanity check of the ONNX import; "
             f"{facts.get('onnx_identity_nodes', 0)} Identity nodes rewritten as initializers first).")
    L.append("")
    if plots.get("latency"):
        L.append(f"![latency]({plots['latency']})")
        L.append("")

    # Profile.
    prof = an.profile()
    grows, sums, total = groups_table(prof, size, base)
    L.append("## Where the binary network spends its time")
    L.append("")
    L.append(f"bnn-benchmark's per-operator profile (each operator's median over 20 profiled runs, "
             f"then the median over rounds). The operators sum to {total:.3f} ms against the "
             f"{med(bnn_ms):.3f} ms end-to-end median (the difference is the interpreter between "
             "operators and the profiler's clock reads).")
    L.append("")
    L.append(md_table(["operator group", "ops", "ms", "share", "GMACs", "G(b)MAC/s"], grows))
    L.append("")
    L.append("By stage (GMACs and G bMAC/s: the binary convolutions only):")
    L.append("")
    L.append(md_table(["stage", "ms", "share", "BCONV2D ms", "other ms", "binary GMACs", "G bMAC/s"],
                      stages_table(prof, size, base)))
    L.append("")
    L.append("Largest single operators:")
    L.append("")
    top = sorted(prof, key=lambda p: -p[2])[:10]
    L.append(md_table(["operator", "type", "ms", "share", "G(b)MAC/s"],
                      [[n, t, f"{ms:.4f}", f"{100 * ms / total:.1f} %", fmt(r)] for t, n, ms, r in top]))
    L.append("")
    if plots.get("profile"):
        L.append(f"![profile]({plots['profile']})")
        L.append("")
    L.append("<details><summary>Every operator</summary>")
    L.append("")
    L.append(md_table(["#", "type", "name", "ms", "share", "G(b)MAC/s"],
                      [[i, t, n, f"{ms:.4f}", f"{100 * ms / total:.1f} %", fmt(r)]
                       for i, (t, n, ms, r) in enumerate(prof)]))
    L.append("")
    L.append("</details>")
    L.append("")

    # Sweep.
    L.append("## Scaling of the binary network")
    L.append("")
    L.append("Median latency (median over rounds) at other input resolutions (base channels "
             f"{base}) and widths (resolution {size}); binary and float GMACs from the network's "
             f"shape. Expected: the {size}x{size}/{base} profile scaled part by part (binary "
             "convolutions by binary MACs, float convolutions and the classifier by float MACs, "
             "everything else by activation size); measured / expected near 1 means the kernels "
             "keep their efficiency at that shape, above 1 that they lose it. The conv1 / BCONV2D / other "
             "columns come from each model's own profile.")
    L.append("")
    rows = []
    for s, b in an.sweep_points:
        ms = an.sweep(s, b)
        bm, fm = total_macs(s, b, "binary"), total_macs(s, b, "float")
        m = med(ms)
        e = expected_ms(an, s, b)
        parts = an.sweep_parts(s, b)
        if parts:
            c1, bc, other, tot = parts
            c1m = bireal_macs(s, b)["conv1"][1]
            p_cols = [f"{c1:.3f} ({100 * c1 / tot:.0f} %, {c1m / (c1 * 1e-3) * 1e-9:.0f} GMAC/s)",
                      f"{bc:.3f} ({bm / (bc * 1e-3) * 1e-9:.0f} G bMAC/s)", f"{other:.3f}"]
        else:
            p_cols = ["–", "–", "–"]
        rows.append([f"{s}x{s}", b, fmt(m, ".3f"), fmt_range(*spread(ms), spec=".3f"), fmt(e, ".3f"),
                     fmt(m / e if m and e else None, ".2f")] + p_cols + [f"{bm * 1e-9:.2f}", f"{fm * 1e-9:.3f}",
                     fmt_bytes(an.rounds[-1]["sweep"].get(f"{s}x{b}", {}).get("arena")),
                     fmt_bytes(meta["sweep_files"].get(f"{s}x{b}"))])
    L.append(md_table(["input", "base channels", "median ms", "round medians", "expected ms",
                       "measured / expected", "conv1 ms (share, rate)", "BCONV2D ms (rate)",
                       "other ops ms", "binary GMACs", "float GMACs", "peak arena", ".bnn file"], rows))
    L.append("")
    main_parts = an.sweep_parts(size, base)
    for s, b in an.sweep_points:
        m, e, parts = med(an.sweep(s, b)), expected_ms(an, s, b), an.sweep_parts(s, b)
        if not (m and e and parts and main_parts) or m / e < 1.15:
            continue
        c1r = bireal_macs(s, b)["conv1"][1] / (parts[0] * 1e-3) * 1e-9
        c1r0 = bireal_macs(size, base)["conv1"][1] / (main_parts[0] * 1e-3) * 1e-9
        br = total_macs(s, b, "binary") / (parts[1] * 1e-3) * 1e-9
        br0 = total_macs(size, base, "binary") / (main_parts[1] * 1e-3) * 1e-9
        L.append(f"- {s}x{s}, base {b}: {m / e:.2f}x the expected time. conv1 runs at {c1r:.0f} GMAC/s "
                 f"({c1r0:.0f} at base {base}) and the binary convolutions at {br:.0f} G bMAC/s "
                 f"({br0:.0f}): the kernels lose efficiency at {b} channels.")
    L.append("")
    if plots.get("scaling"):
        L.append(f"![scaling]({plots['scaling']})")
        L.append("")

    # Notes.
    L.append("## What the numbers show and do not show")
    L.append("")
    L += notes(an, meta, sums, total)
    L.append("")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L))


def notes(an, meta, sums, total):
    out = []
    size, base = meta["size"], meta["base"]
    prof = an.profile()
    macs = bireal_macs(size, base)
    conv1 = next((p for p in prof if p[1] == "conv1"), None)
    bconv = sums.get(GROUPS[1][0], {}).get("ms", 0.0)
    out.append("Where the binary network loses time, largest first:")
    out.append("")
    if conv1 and meta.get("int8_stem"):
        m1 = macs["conv1"][1]
        q = next((p for p in prof if p[1] == "conv1.quantize"), None)
        out.append(
            f"- **The int8 7x7 stem** (conv1, {m1 * 1e-6:.0f} M MACs at "
            f"{m1 / (conv1[2] * 1e-3) * 1e-9:.0f} GMAC/s with AVX-512 VNNI) takes {conv1[2]:.3f} ms"
            + (f" and its QUANTIZE {q[2]:.3f} ms" if q else "")
            + f", {100 * (conv1[2] + (q[2] if q else 0.0)) / total:.1f} % of the profile, against "
            f"{bconv:.3f} ms for all binary convolutions together.")
    elif conv1 and not (FP32_FMA_CPU[0] in meta["cpu"]["model"]
                        and meta["cpu"]["family_model"].startswith(FP32_FMA_CPU[1])):
        m1 = macs["conv1"][1]
        out.append(
            f"- **The float 7x7 stem** (conv1, {m1 * 1e-6:.0f} M MACs at "
            f"{m1 / (conv1[2] * 1e-3) * 1e-9:.0f} GMAC/s) takes {conv1[2]:.3f} ms, "
            f"{100 * conv1[2] / total:.1f} % of the profile, against {bconv:.3f} ms for all "
            f"{sum(1 for p in prof if p[0] == 'BCONV2D')} binary convolutions together. This CPU's "
            "fp32 peak was not measured (TOOLCHAIN.md's figure is for another CPU); the float "
            "contract's separate multiply and add (no FMA) bound the stem below the FMA peak on "
            "any CPU. The int8 stem (the other network report) is the cheaper first layer.")
    elif conv1:
        m1 = macs["conv1"][1]
        rest = total - conv1[2]
        t_peak = m1 / (FP32_FMA_GMACS * 1e9) * 1e3
        out.append(
            f"- **The float 7x7 stem** (conv1, {m1 * 1e-6:.0f} M MACs at "
            f"{m1 / (conv1[2] * 1e-3) * 1e-9:.0f} GMAC/s) takes {conv1[2]:.3f} ms, "
            f"{100 * conv1[2] / total:.1f} % of the profile, against {bconv:.3f} ms for all "
            f"{sum(1 for p in prof if p[0] == 'BCONV2D')} binary convolutions together "
            f"({total_macs(size, base, 'binary') * 1e-9:.2f} G binary MACs). It already runs at "
            f"{100 * m1 / (conv1[2] * 1e-3) * 1e-9 / FP32_FMA_GMACS:.0f} % of this core's fp32 FMA peak "
            f"(about {FP32_FMA_GMACS:.0f} GMAC/s, TOOLCHAIN.md's 176 GFLOP/s; not measured in this run): "
            f"even at that peak it would take {t_peak:.2f} ms, "
            f"{100 * t_peak / (t_peak + rest):.0f} % of a network whose other operators take "
            f"{rest:.2f} ms. So the 25 % target cannot be met with an fp32 stem on this CPU, and "
            "faster binary kernels make the share larger, not smaller. Meeting it needs a cheaper "
            "stem: lower-precision arithmetic for conv1 (int8 VNNI/AMX, bf16, fp16), which the "
            "runtime's bit-exact float contract rules out today, or a different first layer in "
            "the model.")
    big = an.largest_non_binary()
    if big and big[0] != "conv1":
        out.append(f"- The largest non-binary operator is {big[0]} ({big[1]}).")
    # Binary convolutions: per-stage rates, what layer1 loses against the best stage.
    rates = {}
    for t, n, ms, _ in prof:
        if t == "BCONV2D":
            st = stage_of(n)
            r = rates.setdefault(st, [0.0, 0])
            r[0] += ms
            r[1] += macs[n][1]
    if rates:
        best_stage = max(rates, key=lambda k: rates[k][1] / rates[k][0])
        best_rate = rates[best_stage][1] / (rates[best_stage][0] * 1e-3)
        lost = sum(v[0] - v[1] / best_rate * 1e3 for v in rates.values())
        parts = ", ".join(f"{k} {v[1] / (v[0] * 1e-3) * 1e-9:.0f}" for k, v in sorted(rates.items()))
        out.append(
            f"- **Binary convolutions** ({100 * bconv / total:.1f} % of the profile) run at {parts} "
            f"G bMAC/s by stage. At {best_stage}'s rate everywhere they would take "
            f"{bconv - lost:.3f} ms instead of {bconv:.3f} ms: the 56x56x64 shape of layer1 (and "
            "the stride-2 convolutions) are the slow ones; docs/kernel-benchmarks.md has the "
            "kernel-level figures against the popcount ceiling.")
    glue = {g: sums.get(g, {}).get("ms", 0.0) for g in
            ("shortcut adds (ADD)", "bitpack (BITPACK)", "pooling (MAXPOOL2D, GLOBAL_AVGPOOL)",
             "downsample shortcuts (AVGPOOL2D + 1x1 CONV2D, float)",
             "classifier (RESHAPE + FULLY_CONNECTED, float)")}
    g_total = sum(glue.values())
    fused = sum(1 for r in an.rounds[-1:] for p in r["bnn"]["profile"] if p.get("fused") and p["type"] == "ADD")
    if fused:
        adds = (f"The {fused} shortcut ADDs run inside their BCONV2D (residual fusion, "
                "docs/runtime.md): the convolution's output transform adds the shortcut, so their time "
                "is in the binary convolutions' and the ADD rows take none. Each BITPACK still reads "
                "the sum its convolution just wrote; bit-packing it in the same output transform "
                "would save most of the bitpacks' time (not done).")
    else:
        adds = ("Each of the 16 shortcut ADDs reads the F32 output its BCONV2D just wrote (and the "
                "shortcut), and each BITPACK reads the sum the previous ADD just wrote (this run had "
                "no residual fusion).")
    out.append(
        f"- **Everything else** takes {g_total:.3f} ms ({100 * g_total / total:.1f} %): "
        + ", ".join(f"{k.split(' (')[0]} {v:.3f} ms" for k, v in glue.items()) + ". " + adds)
    out.append("")
    out.append("About the baselines and this machine:")
    out.append("")
    one = meta.get("onednn") or {}
    int8_impls = " ".join(" ".join(one.get(k, {})) for k in INT8_KEYS).strip()
    i8 = an.best_of(INT8_KEYS)
    amx = "amx_int8" in meta["cpu"]["flags"]
    if i8:
        if "amx" in int8_impls:
            how = "oneDNN's AMX int8 kernels (the oneDNN line above)"
        elif int8_impls:
            how = f"oneDNN's `{int8_impls.split()[0]}` kernels"
        else:
            how = "oneDNN (kernels not probed in this run)"
        if amx:
            why = ("AMX gives int8 far more MACs per cycle than VNNI (TOOLCHAIN.md's 8.3 ms for this "
                   "model is a VNNI-era figure), which is why int8 is the closest baseline here.")
        else:
            why = ("This CPU has no AMX, so int8 runs on AVX-512 VNNI (about 128 MACs per cycle at "
                   "best, TOOLCHAIN.md); on a CPU with AMX, PyTorch int8 is faster and the binary "
                   "network's lead over it smaller (benchmark-history.md has such runs).")
        out.append(
            f"- PyTorch int8 runs {how}: {fmt(med(an.base(i8)), '.2f')} ms for the whole ResNet-18, "
            "its stem included (quantized too). " + why)
    fb = an.best_of(FP32_KEYS)
    if fb and fb != "torch_fp32":
        out.append(
            f"- The briefed PyTorch fp32 baseline is eager mode (BatchNorm not folded, NCHW). "
            f"{fb} ({fmt(med(an.base(fb)), '.2f')} ms) is the fastest fp32 variant measured here; "
            "the targets table states the 7x goal against both.")
    out.append("- The weights are random. Latency should not depend on the values (the convolution "
               "kernels do the same work for any input), but the outputs mean nothing and accuracy "
               "is not measured here.")
    out.append("- Batch 1, one thread, the same input repeated: weights and activations stay warm in "
               "the caches between runs for every implementation alike.")
    out.append(f"- The machine is a shared {meta['cpu']['cores']}-vCPU VM: other work on the host or "
               "the other vCPU slows whole runs (see the round medians and the load averages); "
               "ratios within a round are more trustworthy than absolute milliseconds. Its CPU has "
               + ("AVX-512 VPOPCNTDQ (the binary kernels' best case)"
                  if "avx512_vpopcntdq" in meta["cpu"]["flags"] else "no AVX-512 VPOPCNTDQ")
               + (" and AMX (int8's best case)." if amx else " and no AMX (int8's best case)."))
    out.append("- No ARM hardware was measured: the aarch64 and armv7 kernels are only tested for "
               "correctness under QEMU, which gives no timing. Neither the absolute times nor the "
               "ratios here carry over to phones or cameras.")
    return out


# ---------------------------------------------------------------------------
# Plots


def write_plots(an, meta, outdir, prefix):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not found (apt-get install python3-matplotlib): no plots")
        return {}
    os.makedirs(outdir, exist_ok=True)
    plots = {}

    # Latency of every implementation.
    names, vals, colors = [], [], []
    b0 = an.rounds[-1]["bnn"]
    names.append(f"bnn binary net ({b0.get('kernels', '?')})")
    vals.append(med(an.bnn()))
    colors.append("tab:green")
    for key, title in BASELINES:
        m = med(an.base(key))
        if m is not None:
            names.append(title)
            vals.append(m)
            colors.append("tab:orange" if "int8" in key else ("tab:blue" if "torch" in key else "tab:purple"))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    y = list(range(len(names)))[::-1]
    ax.barh(y, vals, color=colors)
    for yi, v in zip(y, vals):
        ax.text(v, yi, f" {v:.2f} ms", va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("median latency, ms (one thread, batch 1)")
    ax.set_xlim(0, max(vals) * 1.2)
    ax.axvline(TARGET_MS, color="gray", ls="--", lw=0.8)
    ax.text(TARGET_MS, -0.75, f" {TARGET_MS:g} ms target", fontsize=7, color="gray", va="bottom")
    ax.set_title(f"Bi-Real-18-shaped binary net vs ResNet-18, {meta['size']}x{meta['size']}", fontsize=10)
    fig.tight_layout()
    name = f"{prefix}latency.png"
    fig.savefig(os.path.join(outdir, name), dpi=110)
    plt.close(fig)
    plots["latency"] = name

    # Profile by group and by stage.
    prof = an.profile()
    _, sums, total = groups_table(prof, meta["size"], meta["base"])
    titles = [t for t, _ in GROUPS if t in sums]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})
    yy = list(range(len(titles)))[::-1]
    ax1.barh(yy, [sums[t]["ms"] for t in titles], color="tab:green")
    for yi, t in zip(yy, titles):
        ax1.text(sums[t]["ms"], yi, f" {100 * sums[t]['ms'] / total:.1f} %", va="center", fontsize=8)
    ax1.set_yticks(yy)
    ax1.set_yticklabels([t.split(" (")[0] for t in titles], fontsize=8)
    ax1.set_xlabel("ms (median profile)")
    ax1.set_xlim(0, max(sums[t]["ms"] for t in titles) * 1.3)
    ax1.set_title("by operator group", fontsize=10)
    stages = []
    for t, n, ms, _ in prof:
        s = stage_of(n).split(" (")[0]
        if s not in stages:
            stages.append(s)
    bottom = [0.0] * len(stages)
    cmap = plt.get_cmap("tab10")
    for gi, g in enumerate(titles):
        h = [sum(ms for t, n, ms, _ in prof if stage_of(n).split(" (")[0] == s and group_of(t, n) == g)
             for s in stages]
        ax2.bar(stages, h, bottom=bottom, label=g.split(" (")[0], color=cmap(gi))
        bottom = [b + v for b, v in zip(bottom, h)]
    ax2.set_ylabel("ms")
    ax2.set_title("by stage", fontsize=10)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    name = f"{prefix}profile.png"
    fig.savefig(os.path.join(outdir, name), dpi=110)
    plt.close(fig)
    plots["profile"] = name

    # Scaling.
    size, base = meta["size"], meta["base"]
    res = sorted({s for s, b in an.sweep_points if b == base})
    wid = sorted({b for s, b in an.sweep_points if s == size})
    if len(res) > 1 or len(wid) > 1:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
        for ax, xs, pts, label in [(ax1, res, [(s, base) for s in res], "input resolution (pixels per side)"),
                                   (ax2, wid, [(size, b) for b in wid], "base channels")]:
            ms = [med(an.sweep(s, b)) for s, b in pts]
            ax.plot(xs, ms, "o-", color="tab:green", label="binary network (measured)")
            ideal = [expected_ms(an, s, b) for s, b in pts]
            ax.plot(xs, ideal, "--", color="gray",
                    label=f"expected: {size}/{base} profile scaled by each part's work")
            for x, m in zip(xs, ms):
                if m:
                    ax.annotate(f"{m:.2f}", (x, m), textcoords="offset points", xytext=(0, 6), fontsize=7,
                                ha="center")
            ax.set_xlabel(label)
            ax.set_ylabel("median ms")
            ax.set_xticks(xs)
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        ax1.set_title(f"resolution (base channels {base})", fontsize=10)
        ax2.set_title(f"width ({size}x{size} input)", fontsize=10)
        fig.tight_layout()
        name = f"{prefix}scaling.png"
        fig.savefig(os.path.join(outdir, name), dpi=110)
        plt.close(fig)
        plots["scaling"] = name
    return plots


def print_summary(an):
    print()
    print(f"binary network: {med(an.bnn()):.3f} ms median (rounds "
          f"{', '.join(f'{x:.3f}' for x in an.bnn())})")
    ref = an.ref()
    if med(ref) is not None:
        up, _ = an.speedup(ref)
        print(f"  reference kernels: {med(ref):.1f} ms ({fmt_x(up)})")
    for key, title in BASELINES:
        s = an.base(key)
        if med(s) is not None:
            up, rng = an.speedup(s)
            print(f"  {title:<58} {med(s):8.3f} ms   binary net {fmt_x(up)} faster ({fmt_range(*rng)})")
    prof = an.profile()
    rows, _, total = groups_table(prof, *an.main_shape)
    print(f"profile ({total:.3f} ms):")
    for r in rows:
        print(f"  {r[0]:<55} {r[2]:>8} ms {r[3]:>8}")
    for s, b in an.sweep_points:
        print(f"  sweep {s}x{s} base {b}: {fmt(med(an.sweep(s, b)), '.3f')} ms")
    for t, ok, d in targets(an):
        print(f"[{'n/a' if ok is None else 'met' if ok else 'MISSED'}] {t}: {d}")


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generator", default=os.path.join("build", "bench", "bnn-make-bireal18"),
                    help="bnn-make-bireal18 (default: %(default)s)")
    ap.add_argument("--benchmark", default=os.path.join("build", "apps", "bnn-benchmark"),
                    help="bnn-benchmark (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--runs", type=int, default=50, help="bnn-benchmark --runs for the binary net (default 50)")
    ap.add_argument("--ref-runs", type=int, default=5,
                    help="bnn-benchmark --runs with --force-reference (default 5; 0 skips it)")
    ap.add_argument("--size", type=int, default=224, help="input resolution (default 224)")
    ap.add_argument("--base-channels", type=int, default=64, help="first stage's channels (default 64)")
    ap.add_argument("--sweep-sizes", default="128,160,224,288", help="resolutions of the sweep")
    ap.add_argument("--sweep-widths", default="32,64,96", help="base channels of the sweep")
    ap.add_argument("--sweep-runs", type=int, default=30, help="bnn-benchmark --runs in the sweep")
    ap.add_argument("--samples", type=int, default=30,
                    help="timed calls per PyTorch fp32 variant and round (int8: twice, OpenCV: "
                         "two thirds; default 30)")
    ap.add_argument("--no-baselines", action="store_true", help="the binary network only")
    ap.add_argument("--int8-stem", action="store_true",
                    help="the binary network's first convolution in int8 (bnn-make-bireal18 --int8-stem: a "
                         "QUANTIZE, then the int8 convolution, AVX-512 VNNI where the CPU has it)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke check (1 round, few runs, short sweep); writes the report and plots "
                         "next to the benchmark tool unless --out is given")
    ap.add_argument("--out", help="Markdown report (default docs/network-benchmarks.md); plots go "
                                  "beside it")
    ap.add_argument("--json", help="also save the raw results of every round here")
    ap.add_argument("--from-json", metavar="FILE",
                    help="measure nothing: write the report and plots again from a --json file")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.runs, args.ref_runs, args.sweep_runs, args.samples = 1, 15, 1, 8, 6
        if args.sweep_sizes == ap.get_default("sweep_sizes"):
            args.sweep_sizes = "160,224"
        if args.sweep_widths == ap.get_default("sweep_widths"):
            args.sweep_widths = "32,64"
    generator = os.path.abspath(args.generator)
    tool = os.path.abspath(args.benchmark)
    if args.out:
        out = os.path.abspath(args.out)
    elif args.quick:
        out = os.path.join(os.path.dirname(generator), "network-benchmarks-quick.md")
    else:
        out = os.path.join(ROOT, "docs", "network-benchmarks.md")
    prefix = "network-quick-" if args.quick and not args.out else "network-"
    if args.int8_stem:
        prefix += "int8-stem-"  # its plots beside the float-stem report's, not over them
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        meta, rounds = saved["meta"], saved["rounds"]
        sweep_points = [tuple(p) for p in meta.get("sweep_points") or
                        [[int(v) for v in k.split("x")] for k in rounds[0]["sweep"]]]
        render(Analysis(rounds, sweep_points), meta, out, prefix)
        return
    for p in (generator, tool):
        if not os.path.exists(p):
            sys.exit(f"{p} not found: build it with `meson setup build && ninja -C build`")
    if not args.no_baselines:
        missing = []
        for mod, pkg in [("torch", "python3-torch"), ("torchvision", "python3-torchvision"),
                         ("cv2", "python3-opencv"), ("onnx", "python3-onnx")]:
            try:
                __import__(mod)
            except ImportError:
                missing.append(pkg)
        if missing:
            sys.exit(f"missing Python modules: apt-get install {' '.join(missing)} (and run with "
                     "/usr/bin/python3), or pass --no-baselines")

    size, base = args.size, args.base_channels
    sweep_points = [(s, base) for s in (int(x) for x in args.sweep_sizes.split(",") if x)] + \
                   [(size, b) for b in (int(x) for x in args.sweep_widths.split(",") if x)]
    sweep_points = sorted(set(sweep_points), key=lambda p: (p[1] != base, p[1], p[0]))

    build_dir = os.path.dirname(os.path.dirname(tool))
    cmd = ["/usr/bin/python3", "bench/network_bench.py"]
    if args.quick:
        cmd.append("--quick")
    for opt, default in [("rounds", 3), ("runs", 50), ("ref_runs", 5), ("size", 224), ("base_channels", 64),
                         ("sweep_runs", 30), ("samples", 30)]:
        if not args.quick and getattr(args, opt) != default:
            cmd.append(f"--{opt.replace('_', '-')}={getattr(args, opt)}")
    meta = {
        "cpu": cpu_model(),
        "compiler": compiler_version(build_dir, "kernels-hwy.cc") or compiler_version(build_dir, "bnn_benchmark.cc"),
        "build_options": build_options(build_dir),
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "command": " ".join(cmd),
        "size": size, "base": base, "runs": args.runs, "ref_runs": args.ref_runs,
        "sweep_runs": args.sweep_runs, "samples_fp32": args.samples, "samples_int8": 2 * args.samples,
        "samples_opencv": max(3, 2 * args.samples // 3), "sweep_points": sweep_points,
        "int8_stem": args.int8_stem,
    }
    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="bnn-network-bench-") as tmp:
        main_model = os.path.join(tmp, f"bireal18_{size}_c{base}.bnn")
        meta["bnn_file_bytes"] = make_model(generator, main_model, size, base, args.int8_stem)
        meta["binary_weight_bytes"] = sum(binary_weight_bytes(base))
        meta["float_conv_weight_bytes"] = float_conv_weight_bytes(base)
        models, meta["sweep_files"] = {}, {}
        for s, b in sweep_points:
            path = main_model if (s, b) == (size, base) else os.path.join(tmp, f"bireal18_{s}_c{b}.bnn")
            if path != main_model:
                make_model(generator, path, s, b, args.int8_stem)
            models[(s, b)] = path
            meta["sweep_files"][f"{s}x{b}"] = os.path.getsize(path)

        meta["output_check"] = check_outputs(os.path.join(os.path.dirname(tool), "bnn-run"), main_model, tmp,
                                             size)
        fns, meta["baselines"] = ([], {}) if args.no_baselines else build_baselines(size, tmp, args.quick)
        if not args.no_baselines:
            log("probing oneDNN's kernels (DNNL_VERBOSE, child process)")
            meta["onednn"] = probe_onednn(size)
        log(f"set-up done in {time.time() - t_start:.0f} s")

        rounds = []
        for r in range(args.rounds):
            log(f"round {r + 1}/{args.rounds}")
            rd = {"bnn": run_bnn(tool, main_model, args.runs), "baselines": {}, "sweep": {}}
            if args.ref_runs > 0:
                rd["bnn_ref"] = run_bnn(tool, main_model, args.ref_runs, warmup=1 if not args.quick else 0,
                                        reference=True, profile=False)
            for key, fn in fns:
                n = args.samples * (2 if key.startswith("torch_int8") else 1)
                if key == "opencv_fp32":
                    n = max(3, 2 * args.samples // 3)
                log(f"+ {key} x {n}")
                median_s, times = time_call(fn, n, 0.0)
                rd["baselines"][key] = {"median_ms": median_s * 1e3, "min_ms": min(times) * 1e3,
                                        "max_ms": max(times) * 1e3, "samples": len(times)}
            for (s, b), path in models.items():
                rs = run_bnn(tool, path, args.sweep_runs)
                rd["sweep"][f"{s}x{b}"] = {k: rs[k] for k in ("median_ms", "min_ms", "max_ms", "arena", "profile",
                                                              "weights_file")}
            rounds.append(rd)
    meta["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    log(f"measured in {time.time() - t_start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rounds": rounds}, f, indent=1)

    render(Analysis(rounds, sweep_points), meta, out, prefix)


def render(an, meta, out, prefix):
    an.main_shape = (meta["size"], meta["base"])
    plots = write_plots(an, meta, os.path.dirname(out), prefix)
    write_doc(an, meta, out, plots)
    print_summary(an)
    print(f"\nwrote {out}" + (f" and {', '.join(plots.values())}" if plots else ""))


def binary_weight_bytes(base):
    """Bytes of each binary 3x3 kernel at one bit per weight."""
    out, cin = [], base
    for stage in range(4):
        ch = base << stage
        for _ in range(4):
            out.append(ch * 9 * cin // 8)
            cin = ch
    return out


def float_conv_weight_bytes(base):
    stem = (base * 7 * 7 * 3 + base) * 4
    shortcuts = sum(((base << s) * (base << (s - 1)) + (base << s)) * 4 for s in (1, 2, 3))
    return stem + shortcuts


if __name__ == "__main__":
    main()
