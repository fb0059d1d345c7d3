#!/usr/bin/python3
"""The training kit's four binary architectures (models/fmnist/*.pt, trained
by converter/python/train_fmnist.py) exported to ONNX with constant folding
on and off, converted by bnn-convert, run by bnn-run on held-out
Fashion-MNIST test images, and compared with PyTorch on the same images.

Targets (issue 4): top-1 agreement >= 99.5 % with PyTorch, and logits within
LOGIT_TOLERANCE of PyTorch's on at least 99.5 % of the images (a sign that
sits exactly on a threshold may flip under a different float rounding order,
which moves that image's logits by more). Each conversion is also checked
with `bnn-convert --check` against OpenCV DNN, a float reference independent
of both the runtime and the converter's importer: it must be the reference
used, with top-1 agreement >= 99.5 %.

usage: model_agreement.py BNN_CONVERT BNN_RUN [--images N] [--markdown FILE]
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "converter", "python"))
from bnn_torch import export, fmnist, models  # noqa: E402

ARCHS = ["xnornet", "bireal", "binarynet", "reactnet"]
MIN_AGREEMENT = 99.5
LOGIT_TOLERANCE = 1e-3
MIN_WITHIN = 99.5


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    convert, run = sys.argv[1], sys.argv[2]
    n = int(sys.argv[sys.argv.index("--images") + 1]) if "--images" in sys.argv else 2000
    md = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    torch.set_num_threads(1)
    x, labels = fmnist.load("test", limit=n)
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        xpath = os.path.join(tmp, "x.npy")
        np.save(xpath, x)
        for arch in ARCHS:
            weights = os.path.join(ROOT, "models", "fmnist", arch + ".pt")
            if not os.path.exists(weights):
                failures.append("%s: %s is missing" % (arch, weights))
                continue
            model = models.build(arch)
            model.load_state_dict(torch.load(weights))
            model.eval()
            with torch.no_grad():
                ref = model(torch.from_numpy(x)).numpy()
            onnx_size = None
            for folding in (True, False):
                onnx_path = os.path.join(tmp, "%s_%d.onnx" % (arch, folding))
                bnn_path = os.path.join(tmp, "%s_%d.bnn" % (arch, folding))
                export.export_onnx(model, onnx_path, constant_folding=folding)
                onnx_size = os.path.getsize(onnx_path) if folding else onnx_size
                p = subprocess.run([convert, onnx_path, "-o", bnn_path], capture_output=True, text=True)
                if p.returncode != 0:
                    failures.append("%s (folding %s): bnn-convert failed: %s" % (arch, folding, p.stderr.strip()))
                    continue
                p = subprocess.run([convert, onnx_path, "-o", bnn_path, "--check", xpath, "--min-agreement",
                                    str(MIN_AGREEMENT)], capture_output=True, text=True)
                cv_agree = None
                for line in p.stdout.splitlines():
                    if "top-1 agreement" in line:
                        cv_agree = float(line.split("top-1 agreement")[1].split("%")[0])
                if p.returncode != 0 or "check: reference OpenCV DNN" not in p.stdout or cv_agree is None:
                    failures.append("%s (folding %s): --check against OpenCV DNN failed: %s %s" %
                                    (arch, folding, p.stdout.strip(), p.stderr.strip()))
                    cv_agree = float("nan")
                ypath = os.path.join(tmp, "y.npy")
                p = subprocess.run([run, bnn_path, "--input", xpath, "--output", ypath], capture_output=True, text=True)
                if p.returncode != 0:
                    failures.append("%s: bnn-run failed: %s" % (arch, p.stderr.strip()))
                    continue
                y = np.load(ypath)
                diff = np.abs(y - ref).max(axis=1)
                agree = 100.0 * float((y.argmax(1) == ref.argmax(1)).mean())
                within = 100.0 * float((diff <= LOGIT_TOLERANCE).mean())
                acc_t = 100.0 * float((ref.argmax(1) == labels).mean())
                acc_b = 100.0 * float((y.argmax(1) == labels).mean())
                rows.append((arch, "on" if folding else "off", agree, within, float(diff.max()), cv_agree, acc_t, acc_b,
                             os.path.getsize(bnn_path), onnx_size))
                print("%-9s folding %-3s  top-1 agreement %6.2f %%  logits within %g: %6.2f %%  largest %.3g  "
                      "accuracy torch %.2f %% bnn %.2f %%  %d bytes (ONNX %d)"
                      % (arch, rows[-1][1], agree, LOGIT_TOLERANCE, within, diff.max(), acc_t, acc_b,
                         rows[-1][8], onnx_size))
                if agree < MIN_AGREEMENT or within < MIN_WITHIN:
                    failures.append("%s (folding %s): agreement %.2f %%, logits within tolerance %.2f %%" %
                                    (arch, folding, agree, within))
    if md:
        with open(md, "w") as f:
            f.write("| architecture | ONNX constant folding | top-1 agreement | logits within %g | largest logit difference "
                    "| agreement with OpenCV DNN (--check) | accuracy PyTorch | accuracy bnn | .bnn bytes | float ONNX bytes |\n"
                    "|---|---|---|---|---|---|---|---|---|---|\n" % LOGIT_TOLERANCE)
            for r in rows:
                f.write("| %s | %s | %.2f %% | %.2f %% | %.3g | %.2f %% | %.2f %% | %.2f %% | %d | %d |\n" % r)
    for f in failures:
        print("FAIL " + f)
    print("%d of %d conversions agree (%d images each)" % (len(rows) - len(failures), 2 * len(ARCHS), n))
    return 1 if failures or len(rows) != 2 * len(ARCHS) else 0


if __name__ == "__main__":
    sys.exit(main())
