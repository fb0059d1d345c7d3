#!/usr/bin/python3
"""Float and int8 baselines for the binary convolution benchmarks.

The same four 3x3 convolutions as bench/kernels_bench.cc (ResNet-18's stages:
stride 1, padding 1, batch 1, C -> C channels), one thread, in

  torch_fp32       PyTorch fp32, NCHW input (oneDNN)
  torch_fp32_cl    PyTorch fp32, channels-last input
  torch_int8       PyTorch quantized conv (engine 'onednn'), quint8 input in
                   channels-last, the layout a quantized network carries
                   between convolutions (the conv's output is channels-last)
  torch_int8_nchw  the same with an NCHW quantized input (adds a reorder)
  opencv_fp32      OpenCV DNN fp32, a one-layer ONNX net exported from PyTorch

Every sample times a batch of calls (at least --sample-ms) with
time.perf_counter; the result is the median per call. Output: JSON on stdout
(or --out), GMAC/s = out_h * out_w * C * 9 * C / median time.

Run with /usr/bin/python3 (Debian's torch, OpenCV and numpy).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

STAGES = [  # name, height = width, channels
    ("56x56x64", 56, 64),
    ("28x28x128", 28, 128),
    ("14x14x256", 14, 256),
    ("7x7x512", 7, 512),
]


def macs(hw, c):
    return hw * hw * c * 9 * c


def time_call(fn, samples, sample_ms, warmup_calls=3):
    """Median seconds per call over `samples` samples of >= sample_ms each."""
    for _ in range(warmup_calls):
        fn()
    # Calls per sample so that a sample lasts about sample_ms.
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(sample_ms * 1e-3 / one))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times), times


def torch_backends(hw, c, tmpdir):
    """Yields (backend name, callable) for one stage."""
    import numpy as np
    import torch

    torch.manual_seed(c)
    conv = torch.nn.Conv2d(c, c, 3, stride=1, padding=1, bias=False).eval()
    x = torch.randn(1, c, hw, hw)

    def fp32():
        with torch.no_grad():
            return conv(x)

    yield "torch_fp32", fp32

    conv_cl = torch.nn.Conv2d(c, c, 3, stride=1, padding=1, bias=False).eval()
    conv_cl.load_state_dict(conv.state_dict())
    conv_cl = conv_cl.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def fp32_cl():
        with torch.no_grad():
            return conv_cl(x_cl)

    yield "torch_fp32_cl", fp32_cl

    # Quantized convolution: per-tensor symmetric int8 weights, uint8 input.
    try:
        import torch.ao.nn.quantized as nnq
    except ImportError:  # older torch
        import torch.nn.quantized as nnq
    torch.backends.quantized.engine = "onednn"
    qconv = nnq.Conv2d(c, c, 3, stride=1, padding=1, bias=True)
    w = conv.weight.detach()
    qw = torch.quantize_per_tensor(w, float(w.abs().max()) / 127.0, 0, torch.qint8)
    qconv.set_weight_bias(qw, torch.zeros(c))
    qconv.scale, qconv.zero_point = 0.1, 128
    qx = torch.quantize_per_tensor(x, float(x.abs().max()) / 127.0, 128, torch.quint8)
    qx_cl = qx.contiguous(memory_format=torch.channels_last)

    def int8():
        return qconv(qx_cl)

    def int8_nchw():
        return qconv(qx)

    # Sanity: the quantized conv computes the same convolution (loosely).
    ref = fp32()
    got = int8().dequantize()
    rel = float((got - ref).abs().mean() / ref.abs().mean())
    if rel > 0.2:
        print(f"warning: int8 conv {hw}x{hw}x{c} differs from fp32 by {rel:.2f}", file=sys.stderr)
    yield "torch_int8", int8
    yield "torch_int8_nchw", int8_nchw

    # OpenCV DNN: the fp32 conv exported to ONNX, imported with readNetFromONNX.
    import cv2

    cv2.setNumThreads(1)
    path = os.path.join(tmpdir, f"conv_{hw}_{c}.onnx")
    with torch.no_grad():
        torch.onnx.export(conv, x, path, input_names=["x"], output_names=["y"],
                          opset_version=11, do_constant_folding=True)
    net = cv2.dnn.readNetFromONNX(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    blob = x.numpy().astype(np.float32)

    def opencv():
        net.setInput(blob)
        return net.forward()

    out = opencv()
    err = float(np.abs(out - ref.numpy()).max())
    if err > 1e-2 * max(1.0, float(ref.abs().max())):
        print(f"warning: OpenCV conv {hw}x{hw}x{c} differs from PyTorch by {err}", file=sys.stderr)
    yield "opencv_fp32", opencv


def onednn_implementations():
    """Which oneDNN kernel PyTorch runs for each stage's fp32 (NCHW) and int8
    convolution ("none": not oneDNN, e.g. PyTorch's own im2col + GEMM), probed
    with DNNL_VERBOSE in a child process (oneDNN prints on the C stdout)."""
    import subprocess

    probe = (
        "import torch, torch.ao.nn.quantized as nnq\n"
        "torch.set_num_threads(1)\n"
        "torch.backends.quantized.engine = 'onednn'\n"
        f"for name, hw, c in {STAGES!r}:\n"
        "    x = torch.randn(1, c, hw, hw)\n"
        "    print('---', name, 'torch_fp32', flush=True)\n"
        "    with torch.no_grad(): torch.nn.Conv2d(c, c, 3, padding=1, bias=False).eval()(x)\n"
        "    print('---', name, 'torch_int8', flush=True)\n"
        "    q = nnq.Conv2d(c, c, 3, padding=1)\n"
        "    q(torch.quantize_per_tensor(x, 0.05, 128, torch.quint8)"
        ".contiguous(memory_format=torch.channels_last))\n"
        "print('--- end', flush=True)\n"
    )
    env = dict(os.environ, DNNL_VERBOSE="1", ONEDNN_VERBOSE="1")
    try:
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                             text=True, timeout=300).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    impls, key = {}, None
    for line in out.splitlines():
        if line.startswith("--- "):
            if key:
                impls.setdefault(key[0], {}).setdefault(key[1], "none")
            key = line.split()[1:3] if len(line.split()) >= 3 else None
            continue
        f = line.split(",")
        if key and len(f) > 4 and f[1] == "exec" and f[3] == "convolution":
            impls.setdefault(key[0], {}).setdefault(key[1], f[4])
        if len(f) > 3 and f[1] == "info" and f[2].startswith("cpu") and "isa:" in line:
            impls.setdefault("isa", line.split("isa:", 1)[1])
    return impls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=15, help="samples per backend and shape")
    ap.add_argument("--sample-ms", type=float, default=20.0, help="minimum length of a sample")
    ap.add_argument("--quick", action="store_true", help="5 samples of 5 ms (smoke check)")
    ap.add_argument("--out", help="write JSON here instead of stdout")
    args = ap.parse_args()
    if args.quick:
        args.samples, args.sample_ms = 5, 5.0

    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    result = {
        "torch_version": torch.__version__,
        "opencv_version": cv2.__version__,
        "torch_threads": torch.get_num_threads(),
        "quantized_engine": "onednn",
        "samples": args.samples,
        "sample_ms": args.sample_ms,
        "onednn": onednn_implementations(),
        "stages": {},
    }
    with tempfile.TemporaryDirectory() as tmpdir:
        for name, hw, c in STAGES:
            stage = {}
            for backend, fn in torch_backends(hw, c, tmpdir):
                median_s, times = time_call(fn, args.samples, args.sample_ms)
                stage[backend] = {
                    "median_ms": median_s * 1e3,
                    "min_ms": min(times) * 1e3,
                    "max_ms": max(times) * 1e3,
                    "gmacs": macs(hw, c) / median_s * 1e-9,
                }
            result["stages"][name] = {"macs": macs(hw, c), "backends": stage}
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
