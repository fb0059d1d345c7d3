#!/usr/bin/python3
"""Shipped-model benchmark: every binary model in models/ against its float
twin (the same architecture with float convolutions, from the model's own
training script) in PyTorch fp32, PyTorch int8 (oneDNN) and OpenCV DNN fp32,
and against itself on the C reference kernels, one thread each, in the same
run. Writes docs/model-benchmarks.md.

    /usr/bin/python3 bench/models_bench.py            # about two minutes
    /usr/bin/python3 bench/models_bench.py --quick    # smoke check

For --rounds rounds it alternates, per model:

  bnn-benchmark MODEL.bnn               the shipped binary model (median, arena, weights)
  bnn-benchmark MODEL.bnn --force-reference
  PyTorch fp32   the float twin, eval + no_grad, NCHW (random weights: only time is measured)
  PyTorch int8   the float twin through FX post-training static quantization
                 (engine 'onednn', random calibration), where FX can trace it
  OpenCV fp32    cv2.dnn on the float twin's ONNX export
  float peers    the published float models a user would pick instead (PEERS: the face
                 detectors UltraFace RFB-320 and YuNet n 320, the COCO detector
                 Yolo-Fastest 1.1), in cv2.dnn, where ../shared/data/teachers holds them

Speed-ups are taken within a round, then the median over rounds. No test
compares these figures against a limit; the report states what this run met.
Targets: every shipped model at least 5x faster than its float twin in PyTorch
fp32 (issue 8); the face detector at least 5x faster than the fastest of its
float peers (issue 21).
"""
import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from baselines import time_call  # noqa: E402
from network_bench import run_bnn, strip_identity  # noqa: E402
from report import build_options, compiler_version, cpu_model, git_commit, log, md_table  # noqa: E402

TARGET_VS_FP32 = 5.0

# (model file, its training script, what, input shape NCHW, the float twin from the script's module)
TWIN = lambda mod: mod.build(binary=False)  # noqa: E731
MODELS = [
    ("models/detect/detector.bnn", "models/detect/train_detect.py", "person + raccoon detector", (1, 3, 320, 320),
     TWIN),
    ("models/facedet/face-detector.bnn", "models/facedet/train_facedet.py", "face detector", (1, 3, 240, 320),
     lambda mod: mod.build(binary=False, neck=128)),  # the shipped fifth run's stride-8 width
    ("models/face/face-embed.bnn", "models/face/train_face.py", "face embedder", (1, 1, 64, 64), TWIN),
    ("models/person/person.bnn", "models/person/train_person.py", "person presence", (1, 1, 96, 96),
     lambda mod: mod.build({"binary": False})),
]


TEACHERS = os.path.join(ROOT, "..", "shared", "data", "teachers")
# model file -> its float peers: (name, files under TEACHERS, loader, input shape NCHW)
PEERS = {
    "models/facedet/face-detector.bnn": [
        ("UltraFace RFB-320", ["version-RFB-320.onnx"], lambda cv2, p: cv2.dnn.readNetFromONNX(p[0]), (1, 3, 240, 320)),
        ("YuNet n 320", ["yunet_n_320_320.onnx"], lambda cv2, p: cv2.dnn.readNetFromONNX(p[0]), (1, 3, 320, 320))],
    "models/detect/detector.bnn": [
        ("Yolo-Fastest 1.1 (COCO)", ["yolo-fastest-1.1.cfg", "yolo-fastest-1.1.weights"],
         lambda cv2, p: cv2.dnn.readNetFromDarknet(p[0], p[1]), (1, 3, 320, 320))],
}
PEER_TARGET = 5.0


def peer_nets(path):
    """[(name, cv2.dnn net, input blob)] of the model's float peers that are present."""
    import cv2
    import numpy as np

    out = []
    for name, files, load, shape in PEERS.get(path, []):
        paths = [os.path.join(TEACHERS, f) for f in files]
        if not all(os.path.exists(p) for p in paths):
            log(f"   {name}: not measured ({paths[0]} is missing)")
            continue
        net = load(cv2, paths)
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        out.append((name, net, np.random.default_rng(0).random(shape, dtype=np.float32)))
    return out


def load_script(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], os.path.join(ROOT, path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def float_twin(script, make):
    import torch

    torch.manual_seed(0)
    model = make(load_script(script))
    model.eval()
    return model


def int8_twin(model, shape):
    """FX graph-mode post-training static quantization for oneDNN; (model, None)
    or (None, why) when the twin does not quantize."""
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    try:
        torch.backends.quantized.engine = "onednn"
        example = torch.randn(*shape)
        prepared = prepare_fx(model, get_default_qconfig_mapping("onednn"), example_inputs=(example,))
        with torch.no_grad():
            for _ in range(4):
                prepared(torch.randn(*shape))
        q = convert_fx(prepared)
        with torch.no_grad():
            q(example)
        return q, None
    except Exception as e:  # FX cannot trace or quantize a custom module
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"


def opencv_net(model, shape, tmpdir, name):
    """The twin in OpenCV DNN through ONNX. Opset 13 first; OpenCV 4.6 reads
    Clip (hardtanh) only with attribute bounds, so a twin with Clip is
    exported again at opset 10, where they are attributes."""
    import cv2
    import onnx
    import torch

    cv2.setNumThreads(1)
    for opset in (13, 10):
        path = os.path.join(tmpdir, f"{name}-{opset}.onnx")
        with torch.no_grad():
            torch.onnx.export(model, torch.zeros(*shape), path, input_names=["input"], opset_version=opset,
                              do_constant_folding=True)
        size = os.path.getsize(path)
        fixed = os.path.join(tmpdir, f"{name}-{opset}-cv.onnx")
        onnx.save(strip_identity(onnx.load(path)), fixed)
        try:
            net = cv2.dnn.readNetFromONNX(fixed)
        except cv2.error:
            if opset == 10:
                raise
            continue
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        return net, size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=200, help="bnn-benchmark runs per round")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "model-benchmarks.md"))
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.runs = 1, 20
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    tool = os.path.join(args.build, "apps", "bnn-benchmark")
    samples, sample_ms = (3, 50) if args.quick else (7, 200)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, script, what, shape, make_twin in MODELS:
            name = os.path.basename(path)[:-4]
            log(f"== {name}")
            model = float_twin(script, make_twin)
            q, q_why = int8_twin(float_twin(script, make_twin), shape)
            net, onnx_bytes = opencv_net(model, shape, tmp, name)
            x = torch.randn(*shape)
            blob = x.numpy()
            peers = peer_nets(path)
            rounds = []
            for _ in range(args.rounds):
                r = {}
                b = run_bnn(tool, os.path.join(ROOT, path), args.runs, profile=False)
                r["bnn"], r["arena"], r["weights"], r["kernels"] = b["median_ms"], b["arena"], b["weights_file"], b["kernels"]
                r["ref"] = run_bnn(tool, os.path.join(ROOT, path), max(3, args.runs // 20), warmup=1, reference=True,
                                   profile=False)["median_ms"]
                with torch.no_grad():
                    r["fp32"] = time_call(lambda: model(x), samples, sample_ms)[0] * 1e3
                    if q is not None:
                        r["int8"] = time_call(lambda: q(x), samples, sample_ms)[0] * 1e3

                def cv_forward():
                    net.setInput(blob)
                    net.forward()

                r["opencv"] = time_call(cv_forward, samples, sample_ms)[0] * 1e3
                for pname, pnet, pblob in peers:
                    def peer_forward(pnet=pnet, pblob=pblob):
                        pnet.setInput(pblob)
                        pnet.forward(pnet.getUnconnectedOutLayersNames())

                    r["peer:" + pname] = time_call(peer_forward, samples, sample_ms)[0] * 1e3
                rounds.append(r)
            med = lambda k: statistics.median(r[k] for r in rounds) if all(k in r for r in rounds) else None  # noqa: E731
            ratio = lambda k: statistics.median(r[k] / r["bnn"] for r in rounds) if all(k in r for r in rounds) else None  # noqa: E731
            results.append({
                "name": name, "what": what, "shape": shape, "bnn": med("bnn"), "ref": med("ref"), "fp32": med("fp32"),
                "int8": med("int8"), "opencv": med("opencv"), "vs_fp32": ratio("fp32"), "vs_int8": ratio("int8"),
                "vs_opencv": ratio("opencv"), "vs_ref": ratio("ref"), "spread": (min(r["bnn"] for r in rounds),
                                                                                max(r["bnn"] for r in rounds)),
                "arena": rounds[0]["arena"], "weights": rounds[0]["weights"], "kernels": rounds[0]["kernels"],
                "bnn_bytes": os.path.getsize(os.path.join(ROOT, path)), "onnx_bytes": onnx_bytes, "int8_why": q_why,
                "params": sum(p.numel() for p in model.parameters()),
                "peers": [(pname, med("peer:" + pname), ratio("peer:" + pname),
                           min(rr["peer:" + pname] / rr["bnn"] for rr in rounds)) for pname, _, _ in peers]})
            log(f"   bnn {results[-1]['bnn']:.2f} ms, fp32 {results[-1]['fp32']:.2f} ms, x{results[-1]['vs_fp32']:.1f}")
    write_doc(results, args)
    return 0


PEER_SHAPE = {name: shape for peers in PEERS.values() for name, _, _, shape in peers}


def peer_verdict(r):
    """Against the fastest peer: met when every round meets it, as bench/run_all.py counts."""
    if r is None or not r["peers"]:
        return "not measured (no peer model present)"
    name, ms, ratio, worst = min(r["peers"], key=lambda p: p[1])
    if ratio is None:
        return "not measured"
    verdict = ("**met** in every round" if worst >= PEER_TARGET else
               f"**met by the median only** (worst round {worst:.1f}x)" if ratio >= PEER_TARGET else "**missed**")
    return f"{verdict}: {ratio:.1f}x {name} ({f(ms)} ms against {f(r['bnn'])} ms)"


def f(x, spec=".2f"):
    return "n/a" if x is None else format(x, spec)


def write_doc(results, args):
    import cv2
    import torch

    cpu = cpu_model()
    rows = []
    for r in results:
        rows.append([f"`{r['name']}` ({r['what']}, {r['shape'][3]} x {r['shape'][2]})", f(r["bnn"]),
                     f"{r['spread'][0]:.2f}-{r['spread'][1]:.2f}", f(r["ref"], ".1f"), f(r["fp32"]), f(r["int8"]),
                     f(r["opencv"]), f(r["vs_fp32"], ".1f") + "x", f(r["vs_int8"], ".1f") + ("x" if r["vs_int8"] else ""),
                     f(r["vs_opencv"], ".1f") + "x", f(r["vs_ref"], ".0f") + "x"])
    mem = [[f"`{r['name']}`", f"{r['bnn_bytes'] / 1024:.0f} KiB", f"{r['onnx_bytes'] / 1024:.0f} KiB",
            f"{r['onnx_bytes'] / r['bnn_bytes']:.1f}x", f"{r['arena'] / 2**20:.2f} MiB", f"{r['params'] / 1e6:.2f} M"]
           for r in results]
    met = [r for r in results if r["vs_fp32"] is not None and r["vs_fp32"] >= TARGET_VS_FP32]
    lines = [
        "# Shipped models against their float twins",
        "",
        "Written by `/usr/bin/python3 bench/models_bench.py` (part of `scripts/dev.sh bench`). One thread",
        f"everywhere, in the same run, alternating {args.rounds} round{'s' if args.rounds > 1 else ''}; every figure "
        "is the median over",
        "rounds and every speed-up is taken within a round. The float twin is each model's own architecture",
        "with float convolutions where the binary model has binary ones (`build(binary=False)` in its training",
        "script), with random weights: only time is measured. Our latency is `bnn-benchmark`'s median over",
        f"{args.runs} invokes.",
        "",
        f"- CPU: {cpu['model']} ({cpu['family_model']}), {cpu['cores']} logical CPUs; flags: {', '.join(cpu['flags'])}",
        f"- Kernels: {results[0]['kernels'] if results else '?'}; compiler: {compiler_version(args.build)}; build: "
        + ", ".join(f"{k}={v}" for k, v in build_options(args.build).items()),
        f"- PyTorch {torch.__version__} (1 thread, int8 engine onednn), OpenCV {cv2.__version__} (1 thread)",
        f"- Commit {git_commit()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at the end "
        f"{os.getloadavg()[0]:.2f} (2 cores: above 1 means the other core was busy too)",
        "",
        "## Latency (ms, one core)",
        "",
        md_table(["model", "bnn", "bnn spread over rounds", "bnn, reference kernels", "PyTorch fp32", "PyTorch int8",
                  "OpenCV DNN fp32", "vs fp32", "vs int8", "vs OpenCV", "vs reference"], rows),
        "",
        "## Size and memory",
        "",
        md_table(["model", ".bnn file", "float twin ONNX", "smaller by", "peak arena (bnn)", "float twin parameters"],
                 mem),
        "",
        "## Float peers (the published float models a user would pick instead; OpenCV DNN fp32, one thread)",
        "",
        md_table(["model", "peer", "input", "peer ms", "bnn ms", "bnn faster by (median; worst round)"],
                 [[f"`{r['name']}`", pn, f"{PEER_SHAPE[pn][3]} x {PEER_SHAPE[pn][2]}", f(pm), f(r["bnn"]),
                   f"{f(pr, '.1f')}x; {f(pw, '.1f')}x"] for r in results for pn, pm, pr, pw in r["peers"]]),
        "",
        "## Targets",
        "",
        f"Every shipped model at least {TARGET_VS_FP32:.0f}x faster than its float twin in PyTorch fp32: "
        + ("**met** by all " + str(len(results)) if len(met) == len(results) else
           f"**missed** by {', '.join(r['name'] + ' (' + f(r['vs_fp32'], '.1f') + 'x)' for r in results if r not in met)}")
        + ".",
        "",
        f"The face detector at least {PEER_TARGET:.0f}x faster than the fastest of its float peers: "
        + peer_verdict(next((r for r in results if r["name"] == "face-detector"), None)) + ".",
        "",
        "## Notes",
        "",
        "- The binary models keep float first and last layers (the stem convolution and the 1x1 heads, or the",
        "  embedding layer), which the twins have too; those layers bound the speed-up.",
        "- Each bnn figure includes nothing but the network (`bnn-benchmark` invokes the interpreter on a",
        "  filled input); the apps add image resizing and box decoding (docs/apps.md).",
    ]
    for r in results:
        if r["int8_why"]:
            lines.append(f"- PyTorch int8 for `{r['name']}`: not measured, FX quantization fails on the twin"
                         f" ({r['int8_why']}).")
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
