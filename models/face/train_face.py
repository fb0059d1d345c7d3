#!/usr/bin/python3
"""Train the face embedder (binary, or its float twin with --float).

    /usr/bin/python3 models/face/train_face.py --float --epochs 28    # -> models/face/face_float.pt
    /usr/bin/python3 models/face/train_face.py --epochs 28            # -> models/face/face_binary.pt
    /usr/bin/python3 models/face/train_face.py --init models/face/face_binary.pt \
        --teacher models/face/face_float.pt --epochs 24 --lr 1e-3    # binary, second stage

Any of them with --dev (and --out somewhere outside models/face/) trains on
the dev split instead, for choosing a recipe without the held-out people.

Data: ../shared/data/faces (--data to change), never copied into the
repository.  The identity split is deterministic (seeded) and written to
models/face/split.json: training sees 32 of ORL's 40 people and 32 of the 38
Extended Yale B people; 8 ORL people, 6 Yale B people and all 5 dlib-johns
people are held out for eval_face.py.

--dev: a validation ("dev") split carved out of the TRAINING identities only,
for comparing recipes without looking at the held-out people: 6 of the 32
training ORL people and 6 of the 21 full-resolution training Yale B people
(the yaleB01..B11 thumbnails stay in training), drawn with their own fixed
seed (DEV_SEED) from split.json's training lists, are removed from training
and written with their images to models/face/dev_split.json, which
eval_face.py --dev evaluates on.  The held-out split (split.json) is the
same with or without --dev, and without --dev nothing changes: the same
identities, in the same order, and the same seeds.

Input: one 64 x 64 grey face, the whole given crop resized with OpenCV's
INTER_AREA (what bnn-face's image input does), (x / 255 - 0.5) / 0.5, NCHW.

Network (ReActNet-style, from converter/python/bnn_torch): float stem
(3x3 stride-2 conv + BN, 32 x 32 x 32), six blocks (RSign -> XNOR-scaled
binary 3x3 -> BN -> + shortcut (AvgPool at stride 2) -> RPReLU, RSign ->
binary 1x1 (two concatenated when channels double) -> BN -> + shortcut ->
RPReLU) to 256 x 4 x 4, global average pool, float Linear + BatchNorm1d to a
128-d embedding.  --float is the same network with every RSign replaced by
its learnable shift alone and every binary conv by a real-valued one.

Training: a classifier over the training identities with a CosFace margin
loss (s = 24, m = 0.25) on the L2-normalised embedding, identities sampled
about evenly (weight 1 / sqrt(images of the person), so Yale B's 64 images
per person do not swamp ORL's 10), light augmentation (flip, +-4 px shift,
+-10 degrees, scale 0.9..1.1, brightness/contrast/gamma, occasional blur),
Adam lr 2e-3 with cosine decay per step, batch 64, one thread, seed 0.
The binary model then gets a second stage (--init, --teacher): the same loss
plus 5 x (1 - cosine) between its embedding and the float twin's (the float
twin sees the augmented image, the binary model the same image with pixel
noise of up to 4 grey levels added), lr 1e-3, the margin head's class centres
started at each person's mean embedding.
"""

import argparse
import json
import math
import os
import random
import re
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

from bnn_torch.layers import BinaryConv2d, LearnableBias, RPReLU, RSign  # noqa: E402

SIZE = 64
EMBED = 128
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data")
SPLIT_PATH = os.path.join(HERE, "split.json")
SPLIT_SEED = 5
HOLD_ORL, HOLD_YALE = 8, 6
DEV_PATH = os.path.join(HERE, "dev_split.json")
DEV_SEED = 17
DEV_ORL, DEV_YALE = 6, 6
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".pgm", ".bmp")


# ------------------------------------------------------------------ data
def list_images(folder):
    """Image files of one person, sorted by name (as bnn-face's ListImages)."""
    return sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXT))


def yale_usable(path):
    """Extended Yale B's P00_Ambient images are uncropped 640 x 480 frames (not
    face crops) in this copy: excluded everywhere."""
    return not os.path.basename(path).endswith("_Ambient.png")


def make_split(data):
    """The deterministic identity split (and the held-out image lists)."""
    faces = os.path.join(data, "faces")
    orl = sorted(os.listdir(os.path.join(faces, "orl")), key=lambda s: int(s[1:]))
    yale_dir = os.path.join(faces, "extended-yale-b-cropped")
    yale = sorted(os.listdir(yale_dir))
    # In this copy yaleB01..B11 are 24 x 24 thumbnails, the others 168 x 192
    # crops: held-out Yale B people come from the full-resolution ones (the
    # thumbnails are only used for training, upsampled).
    full = [p for p in yale if cv2.imread(os.path.join(yale_dir, p, list_images(os.path.join(yale_dir, p))[0]),
                                          cv2.IMREAD_GRAYSCALE).shape == (192, 168)]
    rng = random.Random(SPLIT_SEED)
    hold_orl = sorted(rng.sample(orl, HOLD_ORL), key=lambda s: int(s[1:]))
    hold_yale = sorted(rng.sample(full, HOLD_YALE))
    johns = sorted(os.listdir(os.path.join(faces, "dlib-johns")))

    def files(sub, person, keep=lambda p: True):
        d = os.path.join(faces, sub, person)
        return [os.path.join(sub, person, f) for f in list_images(d) if keep(f)]

    split = {
        "note": "paths relative to <data>/faces; the first image of each held-out person is "
                "the enrolled one in eval_face.py; Yale B *_Ambient.png (uncropped frames) excluded",
        "seed": SPLIT_SEED,
        "train": {"orl": [p for p in orl if p not in hold_orl],
                  "yale": [p for p in yale if p not in hold_yale]},
        "heldout": {"orl": hold_orl, "yale": hold_yale, "johns": johns},
        "heldout_images": {
            "orl": {p: files("orl", p) for p in hold_orl},
            "yale": {p: files("extended-yale-b-cropped", p, yale_usable) for p in hold_yale},
            "johns": {p: files("dlib-johns", p) for p in johns},
        },
    }
    return split


def is_full_resolution(folder):
    """Whether a Yale B person's images are 168 x 192 crops (yaleB01..B11 are 24 x 24 thumbnails)."""
    return cv2.imread(os.path.join(folder, list_images(folder)[0]), cv2.IMREAD_GRAYSCALE).shape == (192, 168)


def make_dev_split(data, split):
    """The dev split: DEV_ORL training ORL people and DEV_YALE full-resolution
    training Yale B people, drawn with DEV_SEED from split["train"] (the
    held-out people of `split` are never candidates).  "train" is what is
    left for training, in split["train"]'s order."""
    faces = os.path.join(data, "faces")
    yale_dir = os.path.join(faces, "extended-yale-b-cropped")
    orl = split["train"]["orl"]
    full = [p for p in split["train"]["yale"] if is_full_resolution(os.path.join(yale_dir, p))]
    rng = random.Random(DEV_SEED)
    dev_orl = sorted(rng.sample(orl, DEV_ORL), key=lambda s: int(s[1:]))
    dev_yale = sorted(rng.sample(full, DEV_YALE))

    def files(sub, person, keep=lambda p: True):
        d = os.path.join(faces, sub, person)
        return [os.path.join(sub, person, f) for f in list_images(d) if keep(f)]

    return {
        "note": "validation split carved out of split.json's training people (train_face.py --dev, "
                "eval_face.py --dev); paths relative to <data>/faces; the first image of each dev "
                "person is the enrolled one; Yale B *_Ambient.png excluded",
        "seed": DEV_SEED,
        "train": {"orl": [p for p in orl if p not in dev_orl],
                  "yale": [p for p in split["train"]["yale"] if p not in dev_yale]},
        "dev": {"orl": dev_orl, "yale": dev_yale},
        "dev_images": {
            "orl": {p: files("orl", p) for p in dev_orl},
            "yale": {p: files("extended-yale-b-cropped", p, yale_usable) for p in dev_yale},
        },
    }


def load_image(path):
    """64 x 64 uint8 grey, the whole image resized as bnn-face does (BGR to grey, INTER_AREA)."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise IOError(f"cannot read {path}")
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def normalise(u8):
    """uint8 N x 64 x 64 -> float32 N x 1 x 64 x 64, (x / 255 - 0.5) / 0.5."""
    return ((u8.astype(np.float32) / 255.0 - 0.5) / 0.5)[:, None]


def load_training_set(data, split):
    faces = os.path.join(data, "faces")
    images, labels, names = [], [], []
    for sub, key in (("orl", "orl"), ("extended-yale-b-cropped", "yale")):
        for person in split["train"][key]:
            d = os.path.join(faces, sub, person)
            fs = [f for f in list_images(d) if yale_usable(f)]
            label = len(names)
            names.append(f"{key}/{person}")
            for f in fs:
                images.append(load_image(os.path.join(d, f)))
                labels.append(label)
    return np.stack(images), np.array(labels, np.int64), names


# ------------------------------------------------------------------ network
class Block(nn.Module):
    """ReActNet's block (bnn_torch.models.ReActBlock), binary or float twin."""

    def __init__(self, cin, cout, stride, binary):
        super().__init__()
        assert cout in (cin, 2 * cin)

        def act(c):   # RSign = sign(x + b); the float twin keeps the shift, drops the sign
            return RSign(c) if binary else LearnableBias(c)

        def conv(ci, co, k, s):
            if binary:
                return BinaryConv2d(ci, co, k, stride=s, padding=k // 2, scale="xnor",
                                    weight_estimator="clipped", binarize_input=False)
            return nn.Conv2d(ci, co, k, stride=s, padding=k // 2, bias=False)

        self.rsign1 = act(cin)
        self.conv3 = conv(cin, cin, 3, stride)
        self.bn1 = nn.BatchNorm2d(cin)
        # count_include_pad=False: the same values (no padding), but PyTorch then
        # exports a bare AveragePool instead of a Pad of zeros before it, which
        # the runtime would run as a copy (0.2 ms of 1.1).
        self.pool = nn.AvgPool2d(2, 2, count_include_pad=False) if stride == 2 else None
        self.rprelu1 = RPReLU(cin)
        self.rsign2 = act(cin)
        n = 1 if cout == cin else 2
        self.pw = nn.ModuleList(conv(cin, cout // n, 1, 1) for _ in range(n))
        self.bn2 = nn.ModuleList(nn.BatchNorm2d(cout // n) for _ in range(n))
        self.rprelu2 = RPReLU(cout)

    def forward(self, x):
        out1 = self.bn1(self.conv3(self.rsign1(x)))
        if self.pool is not None:
            x = self.pool(x)
        out1 = self.rprelu1(x + out1)
        s = self.rsign2(out1)
        outs = [bn(c(s)) + out1 for c, bn in zip(self.pw, self.bn2)]
        return self.rprelu2(outs[0] if len(outs) == 1 else torch.cat(outs, 1))


class FaceNet(nn.Module):
    """1 x 64 x 64 grey face -> 128-d embedding (not normalised; compare by cosine)."""

    WIDTHS = ((32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2))

    def __init__(self, binary=True, embed=EMBED):
        super().__init__()
        self.binary = binary
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(32))                                  # 32 x 32
        self.blocks = nn.Sequential(*(Block(a, b, s, binary) for a, b, s in self.WIDTHS))  # 256 x 4 x 4
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(256, embed, bias=False)
        self.bn = nn.BatchNorm1d(embed)

    def forward(self, x):
        x = self.pool(self.blocks(self.stem(x)))
        return self.bn(self.fc(torch.flatten(x, 1)))


def build(binary=True):
    return FaceNet(binary=binary)


def load_weights(model, state):
    """Load a state dict into `model`.  A float twin's loads into a binary
    model too (latent weights from the float twin): the two differ only in
    the activations' shifts, rsignN.bias in the twin (LearnableBias) and
    rsignN.move.bias in RSign.  Returns whether that mapping was used."""
    mapped = False
    if model.binary and any(re.search(r"\.rsign[12]\.bias$", k) for k in state):
        state = {re.sub(r"\.(rsign[12])\.bias$", r".\1.move.bias", k): v for k, v in state.items()}
        mapped = True
    model.load_state_dict(state)
    return mapped


class CosFace(nn.Module):
    """Large-margin cosine loss: s * (cos(theta_y) - m) for the true class."""

    def __init__(self, embed, classes, s=24.0, m=0.25):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, embed) * 0.01)
        self.s, self.m = s, m

    def forward(self, e, y):
        cos = F.linear(F.normalize(e), F.normalize(self.weight))
        logits = self.s * (cos - self.m * F.one_hot(y, cos.shape[1]))
        return F.cross_entropy(logits, y), cos


# ------------------------------------------------------------------ augmentation
def augment(x, gen):
    """x: N x 1 x 64 x 64 normalised; flip, shift, rotation, scale, light, blur."""
    n = x.shape[0]

    def u(lo, hi, *shape):
        return torch.rand(*(shape or (n,)), generator=gen) * (hi - lo) + lo

    angle = u(-10, 10) * math.pi / 180
    scale = u(0.9, 1.1)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    tx, ty = u(-4, 4) * 2 / SIZE, u(-4, 4) * 2 / SIZE
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                         torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # light: in [0, 1], gamma, contrast, brightness
    v = (x * 0.5 + 0.5).clamp(0, 1)
    v = v ** torch.exp(u(-0.4, 0.4)).view(n, 1, 1, 1)
    v = (v - 0.5) * u(0.7, 1.3).view(n, 1, 1, 1) + 0.5 + u(-0.15, 0.15).view(n, 1, 1, 1)
    # occasional blur (a 3x3 box), as a lower-resolution camera would give
    blur = (torch.rand(n, generator=gen) < 0.25).view(n, 1, 1, 1)
    vb = F.avg_pool2d(F.pad(v, (1, 1, 1, 1), mode="replicate"), 3, 1)
    v = torch.where(blur, vb, v).clamp(0, 1)
    return (v - 0.5) / 0.5


# ------------------------------------------------------------------ training
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--float", dest="float_twin", action="store_true",
                    help="train the float twin (real-valued layers)")
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder holding faces/ (default ../shared/data)")
    ap.add_argument("--out", default=None, help="state dict (default models/face/face_{binary,float}.pt)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default=None,
                    help="start from this state dict (same architecture; a float twin's may start a "
                         "binary model: its weights become the latent weights)")
    ap.add_argument("--teacher", default=None,
                    help="float twin state dict to distill from: adds --distill-weight * (1 - cosine) "
                         "between this model's embedding and the teacher's")
    ap.add_argument("--distill-weight", type=float, default=5.0)
    ap.add_argument("--noise", type=float, default=4.0,
                    help="with --teacher: the student alone also gets pixel noise, sigma up to this "
                         "many grey levels (the teacher sees the clean augmented image)")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop early (and save) if training takes longer")
    ap.add_argument("--dev", action="store_true",
                    help="train without the dev people (models/face/dev_split.json, written): for "
                         "choosing a recipe with eval_face.py --dev; give --out outside models/face/, "
                         "and --init / --teacher trained with --dev too")
    args = ap.parse_args(argv)
    if args.dev and args.out is None:
        ap.error("--dev needs --out (a dev-split model must not replace models/face/*.pt)")

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = args.out or os.path.join(HERE, "face_float.pt" if args.float_twin else "face_binary.pt")

    split = make_split(args.data)
    with open(SPLIT_PATH, "w") as f:
        json.dump(split, f, indent=1)
        f.write("\n")
    train_split = split
    if args.dev:
        dev = make_dev_split(args.data, split)
        with open(DEV_PATH, "w") as f:
            json.dump(dev, f, indent=1)
            f.write("\n")
        train_split = {"train": dev["train"]}
        print(f"dev split (seed {DEV_SEED}, {DEV_PATH}): ORL {dev['dev']['orl']}, Yale B "
              f"{dev['dev']['yale']} left out of training", flush=True)
    u8, labels, names = load_training_set(args.data, train_split)
    x = torch.from_numpy(normalise(u8))
    y = torch.from_numpy(labels)
    counts = np.bincount(labels)
    weights = torch.from_numpy(1.0 / np.sqrt(counts[labels]))
    print(f"{'float' if args.float_twin else 'binary'}: {len(names)} identities, {len(labels)} images "
          f"(ORL {len(train_split['train']['orl'])}, Yale B {len(train_split['train']['yale'])}); held out "
          f"ORL {split['heldout']['orl']}, Yale B {split['heldout']['yale']}, dlib-johns all", flush=True)

    model = build(binary=not args.float_twin)
    head = CosFace(EMBED, len(names))
    teacher = None
    if args.init:
        if load_weights(model, torch.load(args.init, map_location="cpu")):
            print(f"{args.init} is a float twin: its weights are the binary model's latent weights",
                  flush=True)
        # class centres of the new margin head: each person's mean embedding
        model.eval()
        with torch.no_grad():
            e = F.normalize(torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)]))
            head.weight.copy_(F.normalize(torch.stack([e[y == c].mean(0) for c in range(len(names))])))
        print(f"started from {args.init}", flush=True)
    if args.teacher:
        teacher = build(binary=False)
        teacher.load_state_dict(torch.load(args.teacher, map_location="cpu"))
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        print(f"distilling from {args.teacher} (weight {args.distill_weight}, student noise up to "
              f"{args.noise} grey levels)", flush=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"{nparams} parameters, {args.epochs} epochs, batch {args.batch_size}, lr {args.lr}", flush=True)
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    steps = math.ceil(len(labels) / args.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps)
    gen = torch.Generator().manual_seed(args.seed)

    start = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        idx_all = torch.multinomial(weights, len(labels), replacement=True, generator=gen)
        total = correct = seen = 0
        for i in range(0, len(labels), args.batch_size):
            idx = idx_all[i:i + args.batch_size]
            xb, yb = augment(x[idx], gen), y[idx]
            if teacher is None:
                loss, cos = head(model(xb), yb)
            else:
                with torch.no_grad():
                    target = F.normalize(teacher(xb))
                sigma = torch.rand(len(idx), 1, 1, 1, generator=gen) * (2 * args.noise / 255)
                xs = (xb + sigma * torch.randn(xb.shape, generator=gen)).clamp(-1, 1)
                e = model(xs)
                loss, cos = head(e, yb)
                loss = loss + args.distill_weight * (1 - (F.normalize(e) * target).sum(1)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += (cos.argmax(1) == yb).sum().item()
            seen += len(idx)
        minutes = (time.time() - start) / 60
        print(f"epoch {epoch}: loss {total / seen:.3f}, train top-1 {correct / seen:.3f}, "
              f"{minutes:.1f} min", flush=True)
        if args.max_minutes and minutes > args.max_minutes and epoch < args.epochs:
            print(f"stopping after {epoch} epochs (--max-minutes {args.max_minutes})", flush=True)
            break
    torch.save(model.state_dict(), out)
    print(f"saved {out} ({os.path.getsize(out)} bytes), {(time.time() - start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
