#!/usr/bin/python3
"""Train the person-presence classifier (binary, or its float twin with --float).

    /usr/bin/python3 models/person/prepare_data.py          # once: split, teacher labels, cache
    /usr/bin/python3 models/person/train_person.py --float --epochs 12    # -> models/person/person_float.pt
    /usr/bin/python3 models/person/train_person.py --epochs 12 \\
        --init models/person/person_float.pt --teacher models/person/person_float.pt
                                                            # -> models/person/person_binary.pt
    /usr/bin/python3 models/person/train_person.py --export models/person/person_binary.pt \\
        --onnx ~/.cache/bnn-person/person.onnx
    build/converter/bnn-convert ~/.cache/bnn-person/person.onnx -o models/person/person.bnn \\
        --input-u8 grey --mean 0.5 --std 0.25 --task classifier \\
        --labels models/person/labels.txt --name person \\
        --description "person presence, 96x96 grey, binary (XNOR-Net style)" -v
    /usr/bin/python3 models/person/eval_person.py

These are the shipped model's commands (6 + 10 minutes on one core). The
larger variant of docs/person-detection.md (run 2: --extra 1 --epochs 18 for
both; not shipped) writes 1.8 MB checkpoints: train it with --out under the
cache and keep `--compact IN OUT` copies (the body's conv weights in float16,
signs kept, 0.9 MB).

Data: the cache prepare_data.py writes (~/.cache/bnn-person, --cache): the
training images (grey) and their pools of teacher-labelled square windows.
Nothing here reads the held-out crops. Each training sample picks a class
(person / no person, 1 : 1), then a source uniformly among the sources that
have windows of that class, then a window; the window is jittered (+-6 %
shift, x 0.9..1.1 size; labels are not re-checked, the margins of the
labelling rule absorb it), cropped from the grey image, resized to 96 x 96,
flipped half the time, and given brightness/contrast/gamma jitter and, now
and then, blur or pixel noise.

Input: 1 x 96 x 96 grey, (x / 255 - 0.5) / 0.25 (the .bnn's NORMALIZE does
this itself on uint8 pixels).

Network (`PersonNet`), XNOR-Net style with no float shortcuts:
  stem (float)  Conv2d 3 x 3 stride 2 pad 1, 1 -> 16, BatchNorm, MaxPool 2
                -> 16 x 24 x 24, Sign (the BatchNorm folds into the conv; the
                sign reads the pooled values, threshold 0)
  body          per stage: BinaryConv2d 3 x 3 (XNOR scale, sign weights, its
                input already signs) -> BatchNorm -> Sign, `--extra` more of
                them at the same width, then MaxPool 2 on the signs:
                16 -> C1 @ 24, C1 -> C2 @ 12, C2 -> C3 @ 6,
                then C3 -> C4 @ 3 -> BatchNorm (float output, no sign)
  head          global average pool, float Linear C4 -> 2 (no person, person)
--float is the twin: real-valued convolutions and hardtanh where the binary
model has signs (same stem, same places).

Training: cross-entropy (with --teacher, plus a KL term to the float twin's
softened outputs, T = 2, weight 0.5), Adam with cosine decay per step (no
weight decay on binary latent weights), batch 64, one thread, seed 0.
"""

import argparse
import math
import os
import pickle
import random
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "converter", "python"))

from bnn_torch.layers import BinaryActivation, BinaryConv2d  # noqa: E402

SIZE = 96
MEAN, STD = 0.5, 0.25
CLASSES = ["no person", "person"]
DEFAULT_CACHE = os.path.expanduser("~/.cache/bnn-person")


# ------------------------------------------------------------------ network
def act(binary, estimator):
    return BinaryActivation(estimator) if binary else nn.Hardtanh()


def conv(ci, co, binary):
    if binary:
        return BinaryConv2d(ci, co, 3, stride=1, padding=1, scale="xnor",
                            weight_estimator="clipped", binarize_input=False)
    return nn.Conv2d(ci, co, 3, stride=1, padding=1, bias=False)


class PersonNet(nn.Module):
    def __init__(self, binary=True, widths=(32, 64, 128, 128), extra=0, estimator="approx"):
        super().__init__()
        self.binary = binary
        self.config = {"binary": binary, "widths": list(widths), "extra": extra, "estimator": estimator}
        c1, c2, c3, c4 = widths
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.MaxPool2d(2), act(binary, estimator))  # 16 x 24 x 24
        layers = []
        cin = 16
        for i, c in enumerate((c1, c2, c3)):
            for j in range(1 + extra):
                layers += [conv(cin, c, binary), nn.BatchNorm2d(c), act(binary, estimator)]
                cin = c
            layers.append(nn.MaxPool2d(2))
        layers += [conv(cin, c4, binary), nn.BatchNorm2d(c4)]                   # c4 x 3 x 3, float
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c4, len(CLASSES))

    def forward(self, x):
        y = self.pool(self.body(self.stem(x))).flatten(1)
        return self.fc(y)


def build(config):
    return PersonNet(**config)


def load(path):
    """A PersonNet from a file save() or compact() wrote (float16 tensors are upcast)."""
    ck = torch.load(path, map_location="cpu")
    m = build(ck["config"])
    m.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["state_dict"].items()})
    m.eval()
    return m


def save(model, path):
    torch.save({"config": model.config, "state_dict": model.state_dict()}, path)


def compact(src, dst):
    """Rewrite a checkpoint with the body's convolution weights in float16 (half the
    file; the signs of binary latent weights do not change (a weight too small for
    float16 becomes +-2^-24), the XNOR scales move by about 1e-4 relative; everything else stays float32). eval_person.py measures both."""
    ck = torch.load(src, map_location="cpu")
    sd = {}
    for k, v in ck["state_dict"].items():
        if v.dim() == 4 and k.startswith("body."):
            h = v.half()
            tiny = (h == 0) & (v != 0)          # below float16's range: keep the sign
            h[tiny] = torch.sign(v[tiny]).half() * 2.0 ** -24
            v = h
        sd[k] = v
    if ck["config"]["binary"]:
        for k, v in sd.items():
            if v.dim() == 4 and k.startswith("body."):
                assert torch.equal(v.float() < 0, ck["state_dict"][k] < 0), f"{k}: a sign changed"
    torch.save({"config": ck["config"], "state_dict": sd}, dst)


def init_from(model, path):
    """Start from another PersonNet's weights (the float twin's: same parameter names)."""
    ck = torch.load(path, map_location="cpu")
    own = model.state_dict()
    for k, v in ck["state_dict"].items():
        if k not in own or own[k].shape != v.shape:
            raise KeyError(f"{path}: {k} does not fit")
    missing = [k for k in own if k not in ck["state_dict"]]
    if missing:
        raise KeyError(f"{path}: no weights for {missing}")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["state_dict"].items()})


def to_input(u8):
    """N x 96 x 96 uint8 grey -> N x 1 x 96 x 96 float32, normalised."""
    x = torch.from_numpy(np.ascontiguousarray(u8)).float().unsqueeze(1) / 255.0
    return (x - MEAN) / STD


def export_onnx(model, path):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 1, SIZE, SIZE), str(path), input_names=["input"],
                          output_names=["logits"], opset_version=13, do_constant_folding=True)
    return path


# ------------------------------------------------------------------ data
class Sampler:
    def __init__(self, cache, seed):
        with open(os.path.join(cache, "train.pkl"), "rb") as f:
            self.items = pickle.load(f)
        self.rng = np.random.default_rng(seed)
        # per class: source -> list of (item index, window row)
        self.by = {0: {}, 1: {}}
        for ii, it in enumerate(self.items):
            for wi, lab in enumerate(it["windows"][:, 4].astype(int)):
                self.by[lab].setdefault(it["source"], []).append((ii, wi))
        self.by = {lab: {s: np.array(v) for s, v in d.items()} for lab, d in self.by.items()}
        # whole-image windows (the camera-frame case), per class
        self.whole = {0: [], 1: []}
        for ii, it in enumerate(self.items):
            H, W = it["grey"].shape
            for wi, (x0, y0, x1, y1, lab) in enumerate(it["windows"]):
                if x0 == 0 and y0 == 0 and abs(x1 - W) < 1 and abs(y1 - H) < 1:
                    self.whole[int(lab)].append((ii, wi))
        self.whole = {lab: np.array(v) for lab, v in self.whole.items()}
        self.whole_p = 0.0
        for lab in (0, 1):
            print(f"class {CLASSES[lab]}: " + ", ".join(f"{s} {len(v)}" for s, v in sorted(self.by[lab].items())))

    def sample(self, lab):
        r = self.rng
        if self.whole_p > 0 and len(self.whole[lab]) and r.random() < self.whole_p:
            pool = self.whole[lab]
        else:
            srcs = sorted(self.by[lab])
            pool = self.by[lab][srcs[r.integers(len(srcs))]]
        ii, wi = pool[r.integers(len(pool))]
        it = self.items[ii]
        grey = it["grey"]
        x0, y0, x1, y1 = it["windows"][wi, :4]
        w, h = x1 - x0, y1 - y0
        s = math.exp(r.uniform(math.log(0.9), math.log(1.1)))
        cx = (x0 + x1) / 2 + r.uniform(-0.06, 0.06) * w
        cy = (y0 + y1) / 2 + r.uniform(-0.06, 0.06) * h
        w, h = w * s, h * s
        H, W = grey.shape
        # keep the window in the image
        w, h = min(w, W), min(h, H)
        x0 = min(max(0.0, cx - w / 2), W - w)
        y0 = min(max(0.0, cy - h / 2), H - h)
        a, b = int(round(x0)), int(round(y0))
        c = grey[b:max(b + 1, int(round(y0 + h))), a:max(a + 1, int(round(x0 + w)))]
        interp = cv2.INTER_AREA if c.shape[0] >= SIZE and c.shape[1] >= SIZE else cv2.INTER_LINEAR
        img = cv2.resize(c, (SIZE, SIZE), interpolation=interp).astype(np.float32)
        if r.random() < 0.5:
            img = img[:, ::-1]
        # photometric: gamma, contrast, brightness
        img = 255.0 * (img / 255.0) ** math.exp(r.uniform(-0.4, 0.4))
        m = img.mean()
        img = (img - m) * math.exp(r.uniform(-0.4, 0.3)) + m + r.uniform(-30, 30)
        u = r.random()
        if u < 0.1:
            img = cv2.GaussianBlur(img, (0, 0), r.uniform(0.5, 1.5))
        elif u < 0.2:
            img = img + r.normal(0, r.uniform(2, 8), img.shape)
        return np.clip(np.round(img), 0, 255).astype(np.uint8)

    def batch(self, n):
        labs = self.rng.integers(0, 2, n)
        return np.stack([self.sample(int(l)) for l in labs]), labs


# ------------------------------------------------------------------ training
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--float", action="store_true", help="train the float twin")
    ap.add_argument("--init", help="start from these weights (e.g. the float twin)")
    ap.add_argument("--teacher", help="float twin for distillation (binary training)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--steps-per-epoch", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None, help="default 2e-3 float, 1e-3 binary")
    ap.add_argument("--widths", default="32,64,128,128")
    ap.add_argument("--extra", type=int, default=0, help="extra binary convs per stage")
    ap.add_argument("--estimator", default="approx", help="activation sign estimator")
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--out", help="default models/person/person_{float,binary}.pt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--whole", type=float, default=0.0,
                    help="probability of drawing a whole-image window (of the sample's class) directly")
    ap.add_argument("--export", help="a .pt to export to ONNX (no training)")
    ap.add_argument("--onnx", help="with --export: the .onnx to write")
    ap.add_argument("--compact", nargs=2, metavar=("IN", "OUT"),
                    help="write IN.pt with the body's conv weights in float16 to OUT.pt (no training)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    if args.compact:
        compact(*args.compact)
        print(f"wrote {args.compact[1]}")
        return 0
    if args.export:
        m = load(args.export)
        onnx_path = args.onnx or os.path.splitext(args.export)[0] + ".onnx"
        export_onnx(m, onnx_path)
        print(f"wrote {onnx_path}")
        return 0

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    binary = not args.float
    cfg = {"binary": binary, "widths": [int(v) for v in args.widths.split(",")], "extra": args.extra,
           "estimator": args.estimator}
    model = build(cfg)
    if args.init:
        init_from(model, args.init)
        print(f"init from {args.init}")
    teacher = load(args.teacher) if args.teacher else None
    out = args.out or os.path.join(HERE, "person_binary.pt" if binary else "person_float.pt")
    lr = args.lr or (1e-3 if binary else 2e-3)
    latent = [p for n, p in model.named_parameters() if binary and n.endswith("weight") and p.dim() == 4
              and not n.startswith("stem")]
    ids = {id(p) for p in latent}
    others = [p for p in model.parameters() if id(p) not in ids]
    opt = torch.optim.Adam([{"params": latent, "weight_decay": 0.0},
                            {"params": others, "weight_decay": 1e-5}], lr=lr)
    total = args.epochs * args.steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    sampler = Sampler(args.cache, args.seed)
    sampler.whole_p = args.whole
    print(f"whole-image windows: {len(sampler.whole[0])} no person, {len(sampler.whole[1])} person; p = {args.whole}")
    print(model)
    print(f"{sum(p.numel() for p in model.parameters())} parameters; {total} steps, lr {lr}", flush=True)
    t0 = time.time()
    step = 0
    for ep in range(args.epochs):
        model.train()
        tl, tc, tn = 0.0, 0, 0
        for _ in range(args.steps_per_epoch):
            u8, labs = sampler.batch(args.batch)
            x = to_input(u8)
            y = torch.from_numpy(labs).long()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            if teacher is not None:
                with torch.no_grad():
                    tlog = teacher(x)
                T = 2.0
                kl = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(tlog / T, 1), reduction="batchmean") * T * T
                loss = 0.5 * loss + 0.5 * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            tl += float(loss) * len(y)
            tc += int((logits.argmax(1) == y).sum())
            tn += len(y)
        print(f"epoch {ep + 1}/{args.epochs} loss {tl / tn:.4f} train acc {100 * tc / tn:.2f} % "
              f"lr {sched.get_last_lr()[0]:.2e} {time.time() - t0:.0f} s", flush=True)
        save(model, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
