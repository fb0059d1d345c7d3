#!/usr/bin/python3
"""Evaluate the person-presence models on the held-out crops.

    /usr/bin/python3 models/person/eval_person.py \\
        [--bnn models/person/person.bnn] [--binary models/person/person_binary.pt] \\
        [--float models/person/person_float.pt] [--cache ~/.cache/bnn-person] [--markdown]

The held-out crops (test.npz, written by prepare_data.py) come from the last
20 % of each video's frames and the 40 held-out raccoon photos; their labels
come from the float teacher (Yolo-Fastest), not from people, so "accuracy" is
agreement with the teacher's person / no-person call under the window rule
of prepare_data.py.

Rows:
  person.bnn      the converted model through build/apps/bnn-run: the crops as
                  96 x 96 x 1 uint8 pixel values (the model's --input-u8 grey
                  input; its NORMALIZE does the normalisation)
  binary torch    the binary PyTorch model (PersonNet) on the normalised crops
  float twin      the float PyTorch twin
  majority        always the majority class of the training windows
  pixels LR       logistic regression on the raw pixels (24 x 24, standardised)
  pixels 5-NN     5-nearest-neighbour vote on the same 24 x 24 pixels
The two pixel baselines train on TRAIN_BASELINE windows sampled (seed 0,
classes 1 : 1, the trainer's source balancing, no augmentation) from the
training pool.

Columns: accuracy, ROC AUC (from the person-minus-no-person logit, or the
score each baseline gives), accuracy per source and on the whole-image crops
(the whole image squashed to 96 x 96, as a camera frame resized to the input),
and for the .bnn its top-1 agreement with the binary PyTorch model.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import train_person as tp  # noqa: E402

BNN_RUN = os.path.join(ROOT, "build", "apps", "bnn-run")
TRAIN_BASELINE = 8000
SMALL = 24


def auc(score, y):
    """ROC AUC by the rank statistic (ties get mean ranks)."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n1 = int(y.sum())
    n0 = len(y) - n1
    return (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n0 * n1)


def torch_logits(model, x_u8):
    out = []
    with torch.no_grad():
        for i in range(0, len(x_u8), 256):
            out.append(model(tp.to_input(x_u8[i:i + 256])).numpy())
    return np.concatenate(out)


def bnn_logits(bnn, x_u8):
    with tempfile.TemporaryDirectory() as d:
        xi = os.path.join(d, "x.npy")
        yo = os.path.join(d, "y.npy")
        np.save(xi, x_u8[..., None].astype(np.float32))   # N x 96 x 96 x 1, pixel values
        subprocess.run([BNN_RUN, bnn, "--input", xi, "--output", yo], check=True,
                       stdout=subprocess.DEVNULL)
        return np.load(yo).reshape(len(x_u8), -1)


def baseline_train(cache):
    """Plain (unaugmented) training crops, balanced as the trainer samples them."""
    s = tp.Sampler(cache, 0)
    r = np.random.default_rng(0)
    xs, ys = [], []
    for k in range(TRAIN_BASELINE):
        lab = k % 2
        srcs = sorted(s.by[lab])
        pool = s.by[lab][srcs[r.integers(len(srcs))]]
        ii, wi = pool[r.integers(len(pool))]
        it = s.items[ii]
        x0, y0, x1, y1 = (int(round(v)) for v in it["windows"][wi, :4])
        c = it["grey"][y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
        xs.append(cv2.resize(c, (SMALL, SMALL), interpolation=cv2.INTER_AREA))
        ys.append(lab)
    counts = [sum(len(v) for v in s.by[c].values()) for c in (0, 1)]
    return np.stack(xs), np.array(ys), int(np.argmax(counts))


def small(x_u8):
    return np.stack([cv2.resize(im, (SMALL, SMALL), interpolation=cv2.INTER_AREA) for im in x_u8])


def features(xs, mu=None, sd=None):
    f = xs.reshape(len(xs), -1).astype(np.float64) / 255.0
    if mu is None:
        mu, sd = f.mean(0), f.std(0) + 1e-6
    return (f - mu) / sd, mu, sd


def logistic(ftr, ytr, fte, steps=300, lr=0.5, l2=1e-3):
    """Binary logistic regression by full-batch gradient descent (numpy)."""
    w = np.zeros(ftr.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(ftr @ w + b)))
        g = p - ytr
        w -= lr * (ftr.T @ g / len(ytr) + l2 * w)
        b -= lr * g.mean()
    return fte @ w + b, 100 * ((ftr @ w + b > 0) == (ytr > 0.5)).mean()


def knn(ftr, ytr, fte, k=5):
    scores = []
    trn = (ftr ** 2).sum(1)
    for i in range(0, len(fte), 256):
        q = fte[i:i + 256]
        d = trn[None, :] - 2 * q @ ftr.T
        nn_idx = np.argpartition(d, k, axis=1)[:, :k]
        scores.append(ytr[nn_idx].mean(1))
    return np.concatenate(scores)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bnn", default=os.path.join(HERE, "person.bnn"))
    ap.add_argument("--binary", default=os.path.join(HERE, "person_binary.pt"))
    ap.add_argument("--float", default=os.path.join(HERE, "person_float.pt"))
    ap.add_argument("--cache", default=tp.DEFAULT_CACHE)
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    d = np.load(os.path.join(args.cache, "test.npz"), allow_pickle=True)
    x, y = d["x"], d["y"].astype(int)
    src = np.array([m[1] for m in d["meta"]])
    # whole-image windows: they start at (0, 0); a random square window does so only by chance
    whole = np.array([float(m[2]) == 0 and float(m[3]) == 0 for m in d["meta"]])
    sources = sorted(set(src))
    print(f"held out: {len(y)} crops, {int(y.sum())} person, {int((y == 0).sum())} no person; "
          + ", ".join(f"{s} {int((src == s).sum())} ({int(y[src == s].sum())} person)" for s in sources))

    rows = []   # name, predictions, score
    torch_bin = None
    if args.bnn and os.path.exists(args.bnn):
        lg = bnn_logits(args.bnn, x)
        rows.append(("person.bnn (bnn-run)", lg.argmax(1), lg[:, 1] - lg[:, 0]))
    if args.binary and os.path.exists(args.binary):
        lg = torch_logits(tp.load(args.binary), x)
        torch_bin = lg.argmax(1)
        rows.append(("binary torch", torch_bin, lg[:, 1] - lg[:, 0]))
    if args.float and os.path.exists(args.float):
        lg = torch_logits(tp.load(args.float), x)
        rows.append(("float twin", lg.argmax(1), lg[:, 1] - lg[:, 0]))
    if not args.no_baselines:
        xtr, ytr, major = baseline_train(args.cache)
        rows.append(("majority class", np.full(len(y), major), np.zeros(len(y))))
        ftr, mu, sd = features(xtr)
        fte, _, _ = features(small(x), mu, sd)
        s, tr_acc = logistic(ftr, ytr.astype(np.float64), fte)
        print(f"pixels LR: training accuracy {tr_acc:.2f} % on {len(ytr)} training crops")
        rows.append(("pixels LR (24x24)", (s > 0).astype(int), s))
        s = knn(ftr, ytr, fte)
        rows.append(("pixels 5-NN (24x24)", (s > 0.5).astype(int), s))

    print(f"whole-image crops (the whole image squashed to 96 x 96): {int(whole.sum())} "
          f"({int(y[whole].sum())} person)")
    head = "| model | accuracy | ROC AUC | " + " | ".join(sources) + " | whole image |"
    print(head)
    print("|" + "---|" * (4 + len(sources)))
    for name, pred, score in rows:
        acc = 100 * (pred == y).mean()
        per = " | ".join(f"{100 * (pred[src == s] == y[src == s]).mean():.1f}" for s in sources)
        wh = 100 * (pred[whole] == y[whole]).mean() if whole.any() else float("nan")
        print(f"| {name} | {acc:.2f} % | {auc(score, y):.4f} | {per} | {wh:.1f} |")
    if rows and rows[0][0].startswith("person.bnn") and torch_bin is not None:
        agree = 100 * (rows[0][1] == torch_bin).mean()
        print(f"person.bnn vs binary torch: top-1 agreement {agree:.2f} % ({int((rows[0][1] == torch_bin).sum())} of {len(y)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
