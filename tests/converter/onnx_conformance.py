#!/usr/bin/python3
"""ONNX's own single-operator tests (Debian's libonnx-testdata) through
bnn-convert and bnn-run, for every op the converter claims.

Each test model runs as shipped. Where the runtime needs an input to be
constant (weights, shapes, slopes, bounds) and the test feeds it as a graph
input, the harness freezes that input into an initializer with the test's
own values, as an exporter would have written it.

Outcomes: pass (converted, outputs within tolerance), rejected (bnn-convert
exits 1 with a message naming the node: an unsupported case), fail (wrong
numbers, a crash, or a rejection without a message). The test compares every
outcome with conformance_expected.txt and fails on any difference, so a
regression, a crash, or a newly passing case all show.

usage: onnx_conformance.py BNN_CONVERT BNN_RUN [--write-expected] [--markdown FILE]
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.version_converter
from onnx import numpy_helper

DATA = "/usr/share/libonnx-testdata/data/node"
HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, "conformance_expected.txt")

# ONNX op -> the test directories that exercise it (prefix match).
CLAIMED = {
    "Add": "test_add", "Sub": "test_sub", "Mul": "test_mul", "Div": "test_div",
    "AveragePool": "test_averagepool", "MaxPool": "test_maxpool",
    "GlobalAveragePool": "test_globalaveragepool", "GlobalMaxPool": "test_globalmaxpool",
    "BatchNormalization": "test_batchnorm", "Clip": "test_clip", "Concat": "test_concat",
    "Conv": ("test_conv_", "test_basic_conv"), "Dropout": "test_dropout", "Flatten": "test_flatten", "Gemm": "test_gemm",
    "Identity": "test_identity", "LeakyRelu": "test_leakyrelu", "MatMul": "test_matmul_",
    "PRelu": "test_prelu", "Relu": "test_relu", "Reshape": "test_reshape", "Resize": "test_resize",
    "Upsample": "test_upsample", "Sigmoid": "test_sigmoid", "Sign": "test_sign", "Softmax": "test_softmax",
    "Squeeze": "test_squeeze", "Unsqueeze": "test_unsqueeze", "Transpose": "test_transpose",
    "Pad": "test_constant_pad",
}
# Inputs the runtime takes as constants (by op, input index >= 1).
CONSTANT_INPUTS = {"Conv", "Gemm", "MatMul", "PRelu", "Clip", "BatchNormalization", "Reshape", "Squeeze",
                   "Unsqueeze", "Pad", "Resize", "Upsample", "Dropout"}


def cases():
    for op, prefixes in sorted(CLAIMED.items()):
        prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
        for d in sorted(sum((glob.glob(os.path.join(DATA, p + "*")) for p in prefixes), [])):
            name = os.path.basename(d)
            if name.endswith("_expanded"):
                continue  # the function-body expansions test other ops
            yield op, name, d


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def run_case(op, d, tools, tmp):
    convert, run = tools
    model = onnx.load(os.path.join(d, "model.onnx"))
    note = ""
    opset = max([o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] or [1])
    if opset < 9:
        # Ops unchanged since opset 1 are stored with it; a user would
        # re-export (or version-convert) to a supported opset first.
        model = onnx.version_converter.convert_version(model, 9)
        note = "(converted from opset %d) " % opset
    sets = sorted(glob.glob(os.path.join(d, "test_data_set_*")))
    if not sets:
        return "rejected", "no test data"
    ds = sets[0]
    inputs = [read_pb(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")))]
    outputs = [read_pb(p) for p in sorted(glob.glob(os.path.join(ds, "output_*.pb")))]
    g = model.graph
    init_names = {i.name for i in g.initializer}
    graph_inputs = [i for i in g.input if i.name not in init_names]
    if len(inputs) != len(graph_inputs):
        return "rejected", "optional inputs left out of the test data"
    # Freeze constant-only inputs (index >= 1 of the tested node).
    node_inputs = [n for n in g.node]
    consts = set()
    if op in CONSTANT_INPUTS or any(n.op_type in CONSTANT_INPUTS for n in node_inputs):
        consts = {gi.name for k, gi in enumerate(graph_inputs) if k >= 1}
    feeds = []
    for gi, t in zip(graph_inputs, inputs):
        try:
            arr = numpy_helper.to_array(t)
        except ValueError:
            # A sequence or optional input: let the converter say what it makes of the model.
            p = subprocess.run([convert, os.path.join(d, "model.onnx"), "-o", os.path.join(tmp, "m.bnn")],
                               capture_output=True, text=True, timeout=120)
            msg = (p.stderr.strip().splitlines() or [""])[-1].strip()
            return ("rejected", msg) if p.returncode == 1 and msg else ("fail", "exit %d" % p.returncode)
        if gi.name in consts:
            t.name = gi.name
            g.initializer.append(t)
            g.input.remove(gi)
        else:
            if arr.dtype != np.float32:
                return "rejected", "input '%s' is %s; bnn-run takes float32" % (gi.name, arr.dtype)
            feeds.append(arr)
    frozen = os.path.join(tmp, "model.onnx")
    onnx.save(model, frozen)
    out_bnn = os.path.join(tmp, "model.bnn")
    p = subprocess.run([convert, frozen, "-o", out_bnn], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        msg = (p.stderr.strip().splitlines() or [""])[-1].strip()
        if p.returncode == 1 and msg:
            return "rejected", msg
        return "fail", "bnn-convert exit %d: %s" % (p.returncode, p.stderr.strip()[-300:])
    args = [run, out_bnn]
    for k, arr in enumerate(feeds):
        path = os.path.join(tmp, "in%d.npy" % k)
        np.save(path, arr)
        args += ["--input", path]
    out_path = os.path.join(tmp, "out.npz")
    args += ["--output", out_path]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return "fail", "bnn-run exit %d: %s" % (p.returncode, p.stderr.strip()[-300:])
    got = np.load(out_path)
    keys = sorted(got.files)
    if len(keys) != len(outputs):
        return "fail", "%d outputs, expected %d" % (len(keys), len(outputs))
    for k, want_t in zip(keys, outputs):
        want = numpy_helper.to_array(want_t).astype(np.float32)
        have = got[k]
        if have.shape != want.shape:
            return "fail", "output shape %s, expected %s" % (have.shape, want.shape)
        if not np.allclose(have, want, rtol=1e-4, atol=1e-5):
            return "fail", note + "largest difference %.3g" % float(np.abs(have - want).max())
    return "pass", note.strip()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    tools = (sys.argv[1], sys.argv[2])
    write = "--write-expected" in sys.argv
    md = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    if not os.path.isdir(DATA):
        print("libonnx-testdata is not installed (%s missing)" % DATA)
        return 1
    results = []
    for op, name, d in cases():
        with tempfile.TemporaryDirectory() as tmp:
            try:
                outcome, detail = run_case(op, d, tools, tmp)
            except subprocess.TimeoutExpired:
                outcome, detail = "fail", "timeout"
        detail = re.sub(r"/tmp/[^:]*/model\.onnx: ", "", detail)
        results.append((op, name, outcome, detail))
        print("%-9s %-60s %s" % (outcome, name, detail))
    counts = {k: sum(1 for r in results if r[2] == k) for k in ("pass", "rejected", "fail")}
    print("conformance: %(pass)d pass, %(rejected)d rejected (unsupported cases, clear message), %(fail)d fail" % counts)
    if md:
        with open(md, "w") as f:
            f.write("# ONNX operator conformance\n\n"
                    "ONNX's own single-operator tests (Debian's libonnx-testdata %s) through `bnn-convert` and\n"
                    "`bnn-run`, outputs compared with rtol 1e-4, atol 1e-5. Written by\n"
                    "`tests/converter/onnx_conformance.py BNN_CONVERT BNN_RUN --markdown docs/onnx-conformance.md`;\n"
                    "CI runs the same script and fails on any outcome that differs from\n"
                    "`tests/converter/conformance_expected.txt`. *Rejected* means bnn-convert refused the model\n"
                    "with the message shown (exit 1); no test gives wrong numbers.\n\n" % onnx.__version__)
            f.write("%(pass)d pass, %(rejected)d rejected, %(fail)d fail.\n\n" % counts)
            f.write("| ONNX op | pass | rejected | fail |\n|---|---|---|---|\n")
            for op in sorted({r[0] for r in results}):
                c = [sum(1 for r in results if r[0] == op and r[2] == k) for k in ("pass", "rejected", "fail")]
                f.write("| %s | %d | %d | %d |\n" % (op, c[0], c[1], c[2]))
            f.write("\n| ONNX op | test | outcome | detail |\n|---|---|---|---|\n")
            for op, name, outcome, detail in results:
                f.write("| %s | %s | %s | %s |\n" % (op, name, outcome, detail.replace("|", "\\|")))
    if write:
        with open(EXPECTED, "w") as f:
            f.write("# test outcome (pass / rejected), written by onnx_conformance.py --write-expected\n")
            for op, name, outcome, _ in results:
                f.write("%s %s\n" % (name, outcome))
        return 0
    expected = {}
    with open(EXPECTED) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                n, o = line.split()
                expected[n] = o
    bad = 0
    for op, name, outcome, detail in results:
        if outcome == "fail" or expected.get(name) != outcome:
            print("MISMATCH %s: %s (expected %s) %s" % (name, outcome, expected.get(name, "nothing"), detail))
            bad += 1
    missing = set(expected) - {r[1] for r in results}
    for name in sorted(missing):
        print("MISSING %s: expected %s but the test data has no such test" % (name, expected[name]))
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
