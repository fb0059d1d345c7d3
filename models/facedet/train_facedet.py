#!/usr/bin/env python3
"""Train the binary face detector (and its float twin): models/detect's YOLOv3-style
network (float stem, ReActNet binary backbone and neck, float 1x1 heads at strides 8 and 16),
one class `face` with five landmarks per face, input 3 x 240 x 320. Training canvases come
from prepare_data.py's cache (~/.cache/bnn-facedet2): WIDER's training half with its real
boxes, photos and frames with teacher pseudo-labels, and mosaics of LFW and CelebA face crops
at many scales (small faces). Runs are resumable (--resume) from OUT.ckpt.

  python3 models/facedet/train_facedet.py --float --steps 1800 --out /tmp/fd/float.pt
  python3 models/facedet/train_facedet.py --init /tmp/fd/float.pt --teacher /tmp/fd/float.pt \
      --steps 3600 --lr 1e-3 --kd-weight 2 --out /tmp/fd/binary.pt
  python3 models/facedet/train_facedet.py --export /tmp/fd/binary.pt --onnx /tmp/f.onnx
"""
import argparse
import json
import math
import os
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

SIZE = 320                   # input width
SIZE_H = 240                 # input height
STRIDES = (8, 16)
NA = 3                       # anchors per stride
CLASSES = ["face"]
NC = len(CLASSES)
LANDMARKS = 5                # points per face after the classes: x, y of YuNet's five, in its order
FIELDS = 5 + NC + 2 * LANDMARKS
LM = 5 + NC                  # first landmark field
# the mirror image swaps the person's right and left: eyes (0, 1) and mouth corners (3, 4)
FLIP_POINTS = [1, 0, 2, 4, 3]
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
DEFAULT_CACHE = os.path.expanduser("~/.cache/bnn-facedet2")
ZOOM = (0.6, 2.5)
GREY = 128


# ------------------------------------------------------------------ network
class Block(nn.Module):
    """ReActNet's block (bnn_torch.models.ReActBlock), binary or float twin."""

    def __init__(self, cin, cout, stride, binary):
        super().__init__()
        assert cout in (cin, 2 * cin)
        self.rsign1 = act(cin, binary)
        self.conv3 = conv(cin, cin, 3, stride, binary)
        self.bn1 = nn.BatchNorm2d(cin)
        # count_include_pad=False exports a bare AveragePool (no Pad node)
        self.pool = nn.AvgPool2d(2, 2, count_include_pad=False) if stride == 2 else None
        self.rprelu1 = RPReLU(cin)
        self.rsign2 = act(cin, binary)
        n = 1 if cout == cin else 2
        self.pw = nn.ModuleList(conv(cin, cout // n, 1, 1, binary) for _ in range(n))
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


def act(c, binary):
    """RSign = sign(x + b); the float twin keeps the shift and drops the sign."""
    return RSign(c) if binary else LearnableBias(c)


def conv(ci, co, k, s, binary):
    if binary:
        return BinaryConv2d(ci, co, k, stride=s, padding=k // 2, scale="xnor",
                            weight_estimator="clipped", binarize_input=False)
    return nn.Conv2d(ci, co, k, stride=s, padding=k // 2, bias=False)


class Detector(nn.Module):
    """3 x 240 x 320 -> (N x 48 x 30 x 40 at stride 8, N x 48 x 15 x 20 at stride 16);
    channel a * FIELDS + f is field f (tx, ty, tw, th, obj, face, then the landmarks' x, y
    offsets) of anchor a."""

    def __init__(self, binary=True, anchors=None, neck=64):
        super().__init__()
        self.binary = binary
        # neck: width of the stride-8 path after the merge (p4 and head16). 64 (the fourth
        # run's model) adds the upsampled reduce(p5) to c3; wider concatenates c3 (64) with
        # a reduce(p5) of neck - 64 channels, YOLOv3-style, and p4 is neck x neck (128: the
        # shipped fifth run's model)
        assert neck >= 128 or neck == 64
        self.neck = neck
        # 240 is not a multiple of 32, so the heads are at strides 8 and 16
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(32), nn.MaxPool2d(2))              # 32 x 60 x 80
        self.c3 = nn.Sequential(Block(32, 64, 2, binary), Block(64, 64, 1, binary))      # 30 x 40
        self.c4 = nn.Sequential(Block(64, 128, 2, binary), Block(128, 128, 1, binary))   # 15 x 20
        self.c5 = nn.Sequential(Block(128, 256, 1, binary), Block(256, 256, 1, binary))  # 15 x 20, wider
        self.p5 = Block(256, 256, 1, binary)
        self.reduce_act = act(256, binary)
        r = 64 if neck == 64 else neck - 64
        self.reduce = conv(256, r, 1, 1, binary)
        self.reduce_bn = nn.BatchNorm2d(r)
        self.p4 = Block(neck, neck, 1, binary)
        self.head16 = nn.Conv2d(neck, NA * FIELDS, 1)   # stride 8
        self.head32 = nn.Conv2d(256, NA * FIELDS, 1)    # stride 16
        for h in (self.head16, self.head32):
            nn.init.normal_(h.weight, std=0.01)
            b = torch.zeros(NA, FIELDS)
            b[:, 4] = math.log(0.01 / 0.99)   # objectness prior 1 %
            h.bias.data.copy_(b.view(-1))
        a = torch.zeros(len(STRIDES) * NA, 2) if anchors is None else torch.as_tensor(anchors, dtype=torch.float32)
        self.register_buffer("anchors", a)   # in input pixels, stride order (not in the ONNX graph)

    def forward(self, x):
        c3 = self.c3(self.stem(x))
        p5 = self.p5(self.c5(self.c4(c3)))
        up = F.interpolate(self.reduce_bn(self.reduce(self.reduce_act(p5))), scale_factor=2.0, mode="nearest")
        p4 = self.p4(c3 + up if self.neck == 64 else torch.cat([c3, up], 1))
        return self.head16(p4), self.head32(p5)


def build(binary=True, anchors=None, neck=64):
    return Detector(binary=binary, anchors=anchors, neck=neck)


def load(path):
    """A Detector from a state dict saved by this script (binary or float from its keys,
    the neck width from p4's)."""
    sd = torch.load(path, map_location="cpu")
    binary = any(k.endswith(".move.bias") for k in sd)
    m = build(binary=binary, neck=sd["p4.bn1.weight"].shape[0])
    m.load_state_dict(sd)
    m.eval()
    return m


def init_from_float(model, path):
    """Start a binary model from the float twin's weights (the RSign shifts from the
    LearnableBias ones; the binary convolutions' latent weights from the float ones)."""
    sd = torch.load(path, map_location="cpu")
    own = model.state_dict()
    new = {}
    for k in own:
        src = k if k in sd else k.replace(".move.bias", ".bias")
        if src not in sd or sd[src].shape != own[k].shape:
            raise KeyError(f"{path}: no weights for {k}")
        new[k] = sd[src]
    model.load_state_dict(new)


# ------------------------------------------------------------------ preprocessing and decoding
def to_input(rgb_u8):
    """N x H x W x 3 uint8 RGB (already SIZE x SIZE) -> N x 3 x H x W float32, normalised."""
    x = torch.from_numpy(np.ascontiguousarray(rgb_u8)).float().permute(0, 3, 1, 2) / 255.0
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def image_input(bgr):
    """bnn-detect's input path: BGR -> RGB, the whole image resized with INTER_AREA."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if rgb.shape[:2] != (SIZE_H, SIZE):
        rgb = cv2.resize(rgb, (SIZE, SIZE_H), interpolation=cv2.INTER_AREA)
    return rgb


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def decode(outputs, anchors, score_threshold=0.25, iou_threshold=0.45, max_boxes=300):
    """bnn_interpreter_detect_with_landmarks (bnn/src/detect.cc) in numpy, for one image.
    outputs: the model's per-stride NCHW arrays [A * FIELDS, H, W] (no batch axis).
    Returns an array of [x0, y0, x1, y1, score, label, x, y of each landmark] in input
    pixels; a landmark is (cell + 0.5) x stride + t x anchor size."""
    boxes = []
    anchors = np.asarray(anchors, np.float32).reshape(len(STRIDES), NA, 2)
    for s, (o, stride) in enumerate(zip(outputs, STRIDES)):
        h, w = o.shape[1:]
        p = o.reshape(NA, FIELDS, h, w).astype(np.float32)
        obj = sigmoid(p[:, 4])
        best = p[:, 5:LM].argmax(1)
        cls = sigmoid(np.take_along_axis(p[:, 5:LM], best[:, None], 1)[:, 0])
        score = obj * cls
        a, y, x = np.nonzero((obj >= score_threshold) & (score >= score_threshold))
        if not len(a):
            continue
        cx = (sigmoid(p[a, 0, y, x]) + x) * stride
        cy = (sigmoid(p[a, 1, y, x]) + y) * stride
        bw = anchors[s, a, 0] * np.exp(np.minimum(p[a, 2, y, x], 10.0))
        bh = anchors[s, a, 1] * np.exp(np.minimum(p[a, 3, y, x], 10.0))
        t = p[a, LM:, y, x].reshape(-1, LANDMARKS, 2)
        lx = (x[:, None] + 0.5) * stride + t[..., 0] * anchors[s, a, 0][:, None]
        ly = (y[:, None] + 0.5) * stride + t[..., 1] * anchors[s, a, 1][:, None]
        # C++ order: y, x, anchor
        order = np.lexsort((a, x, y))
        boxes.append(np.concatenate([np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2,
                                               score[a, y, x], best[a, y, x].astype(np.float32)], 1),
                                     np.stack([lx, ly], 2).reshape(-1, 2 * LANDMARKS)], 1)[order])
    if not boxes:
        return np.zeros((0, 6 + 2 * LANDMARKS), np.float32)
    return nms(np.concatenate(boxes), iou_threshold, max_boxes)


def iou_matrix(a, b):
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])  # noqa: E731
    uni = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(uni > 0, inter / np.maximum(uni, 1e-12), 0.0)


def nms(boxes, iou_threshold, max_boxes=300):
    order = np.argsort(-boxes[:, 4], kind="stable")
    boxes = boxes[order]
    kept = []
    for i in range(len(boxes)):
        if len(kept) >= max_boxes:
            break
        k = np.array(kept, int)
        if len(k):
            same = boxes[k, 5] == boxes[i, 5]
            if same.any() and (iou_matrix(boxes[i:i + 1], boxes[k[same]])[0] > iou_threshold).any():
                continue
        kept.append(i)
    return boxes[kept]


# ------------------------------------------------------------------ anchors
def shape_iou(wh, anchors):
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    return inter / (wh[:, None].prod(2) + anchors[None].prod(2) - inter)


def kmeans_anchors(boxes_list, k=len(STRIDES) * NA, seed=0):
    """k-means on box sizes at SIZE x SIZE, distance 1 - IoU, each class the same total weight."""
    b = np.concatenate([x for x in boxes_list if len(x)])
    wh = np.stack([(b[:, 2] - b[:, 0]) * SIZE, (b[:, 3] - b[:, 1]) * SIZE_H], 1).astype(np.float64)
    cls = b[:, 4].astype(int)
    counts = np.bincount(cls, minlength=NC)
    w = 1.0 / counts[cls]
    rng = np.random.default_rng(seed)
    cen = wh[rng.choice(len(wh), k, replace=False, p=w / w.sum())]
    for _ in range(1000):
        a = shape_iou(wh, cen).argmax(1)
        new = np.array([np.average(wh[a == j], 0, weights=w[a == j]) if (a == j).any() else cen[j]
                        for j in range(k)])
        if np.allclose(new, cen):
            break
        cen = new
    cen = cen[np.argsort(cen.prod(1))]
    best = shape_iou(wh, cen).max(1)
    return np.round(cen, 1), {CLASSES[c]: float(best[cls == c].mean()) for c in range(NC)}


# ------------------------------------------------------------------ augmentation
def augment(img, boxes, marks, ignore, rng, out, zoom):
    """img: a whole image, uint8 RGB at any size; boxes n x 5 (x0, y0, x1, y1, class), marks
    n x 10 (landmark x, y pairs, NaN where unknown) and ignore m x 4, all in [0, 1] of the
    image. The image is scaled to SIZE x SIZE_H times a random zoom (aspect jittered) and
    placed at random in an out = (W, H) canvas. Returns the canvas and its boxes, marks and
    ignore regions in canvas pixels (boxes mostly cut off by the canvas are dropped)."""
    z = math.exp(rng.uniform(math.log(zoom[0]), math.log(zoom[1])))
    ar = math.exp(rng.uniform(-0.2, 0.2))
    W, H = max(8, int(round(SIZE * z * math.sqrt(ar)))), max(8, int(round(SIZE_H * z / math.sqrt(ar))))
    outw, outh = out
    interp = cv2.INTER_AREA if W < img.shape[1] and H < img.shape[0] else cv2.INTER_LINEAR
    scaled = cv2.resize(img, (W, H), interpolation=interp)
    if rng.random() < 0.15:   # out-of-focus and motion-blurred camera frames
        k = int(rng.choice([3, 5]))
        scaled = cv2.GaussianBlur(scaled, (k, k), 0)
    ox = int(rng.integers(min(0, outw - W), max(0, outw - W) + 1))
    oy = int(rng.integers(min(0, outh - H), max(0, outh - H) + 1))
    canvas = np.full((outh, outw, 3), GREY, np.uint8)
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(outw, ox + W), min(outh, oy + H)
    canvas[y0:y1, x0:x1] = scaled[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    b = boxes.copy().astype(np.float32)
    m = marks.copy().astype(np.float32)
    ig = ignore.copy().astype(np.float32).reshape(-1, 4)
    for arr in (b, ig):
        arr[:, [0, 2]] = arr[:, [0, 2]] * W + ox
        arr[:, [1, 3]] = arr[:, [1, 3]] * H + oy
    m[:, 0::2] = m[:, 0::2] * W + ox
    m[:, 1::2] = m[:, 1::2] * H + oy
    if len(b):
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        c = b.copy()
        c[:, [0, 2]] = c[:, [0, 2]].clip(0, outw)
        c[:, [1, 3]] = c[:, [1, 3]].clip(0, outh)
        bw, bh = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]
        keep = (bw >= 2) & (bh >= 2) & (bw * bh >= 0.5 * area)
        # faces cut off by more than half, or shrunk below 4 px, are neither face nor background
        ig = np.concatenate([ig, c[~keep & (bw >= 1) & (bh >= 1), :4]])
        small = keep & (np.minimum(bw, bh) < 4)
        ig = np.concatenate([ig, c[small, :4]])
        keep &= ~small
        b, m = c[keep], m[keep]
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1]
        if len(b):
            b[:, [0, 2]] = outw - b[:, [2, 0]]
            m = m.reshape(-1, LANDMARKS, 2)[:, FLIP_POINTS].reshape(-1, 2 * LANDMARKS)
            m[:, 0::2] = outw - m[:, 0::2]
        if len(ig):
            ig[:, [0, 2]] = outw - ig[:, [2, 0]]
    hsv = cv2.cvtColor(np.ascontiguousarray(canvas), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-5, 5)) % 180
    hsv[..., 1] *= rng.uniform(0.6, 1.4)
    hsv[..., 2] *= rng.uniform(0.6, 1.4)
    canvas = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
    if rng.random() < 0.1:
        canvas = np.repeat(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)[..., None], 3, 2)
    return canvas, b, m, ig


MOSAIC_GRIDS = [(1, 1), (2, 2), (3, 2), (4, 3), (6, 4), (8, 6), (10, 8), (12, 9)]


def mosaic(crops, rng):
    """A grid of face crops (LFW, CelebA) as one image, 112 px a cell, with their boxes,
    marks and ignore regions in [0, 1] of it: augment() then scales it to the input, so a
    12 x 9 grid gives faces of about 15 px and 1 x 1 of about 150."""
    cols, rows = MOSAIC_GRIDS[int(rng.integers(len(MOSAIC_GRIDS)))]
    cell = 112
    img = np.empty((rows * cell, cols * cell, 3), np.uint8)
    boxes, marks, ignore = [], [], []
    W, H = cols * cell, rows * cell
    for r in range(rows):
        for c in range(cols):
            k = int(rng.integers(len(crops["images"])))
            im = crops["images"][k]
            if im.shape[0] != cell or im.shape[1] != cell:
                im = cv2.resize(im, (cell, cell), interpolation=cv2.INTER_AREA)
            img[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = im
            for arr, src in ((boxes, crops["boxes"][k]), (ignore, crops["ignore"][k])):
                for bb in src:
                    arr.append([(c + bb[0]) * cell / W, (r + bb[1]) * cell / H,
                                (c + bb[2]) * cell / W, (r + bb[3]) * cell / H])
            for mm in crops["marks"][k]:
                marks.append([((c if j % 2 == 0 else r) + v) * cell / (W if j % 2 == 0 else H)
                              for j, v in enumerate(mm)])
    b = np.array(boxes, np.float32).reshape(-1, 4)
    return img, np.concatenate([b, np.zeros((len(b), 1), np.float32)], 1), \
        np.array(marks, np.float32).reshape(-1, 10), np.array(ignore, np.float32).reshape(-1, 4)


# ------------------------------------------------------------------ loss
def yolo_loss(outputs, targets, anchors, teacher_outputs=None, kd_weight=1.0, lm_weight=1.0):
    """outputs: per-stride N x (A * FIELDS) x H x W; targets: per image (boxes n x 5, marks
    n x 10, ignore m x 4), all in canvas pixels (marks NaN where unknown). YOLOv3's loss
    (BCE centre, squared size, BCE objectness with predictions overlapping a face by IoU > 0.5
    or centred in an ignore region left out, BCE class) plus a smooth-L1 loss on the
    landmark offsets of every positive anchor whose face has landmarks."""
    device = outputs[0].device
    n = outputs[0].shape[0]
    anchors_t = torch.as_tensor(anchors, dtype=torch.float32)
    preds = [o.view(n, NA, FIELDS, o.shape[2], o.shape[3]) for o in outputs]
    # ground truth, padded: n x G x 4
    G = max(1, max(len(t[0]) for t in targets))
    gt = torch.zeros(n, G, 4)
    gvalid = torch.zeros(n, G, dtype=torch.bool)
    pos = [[] for _ in STRIDES]   # (b, a, gy, gx, tx, ty, tw, th, cls, weight, has marks, 10 mark offsets)
    for b, (t, mk, _) in enumerate(targets):
        if not len(t):
            continue
        gt[b, :len(t)] = torch.from_numpy(t[:, :4])
        gvalid[b, :len(t)] = True
        wh = np.stack([t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]], 1)
        ious = shape_iou(wh, np.asarray(anchors))
        for i in range(len(t)):
            cx, cy = (t[i, 0] + t[i, 2]) / 2, (t[i, 1] + t[i, 3]) / 2
            has = bool(np.isfinite(mk[i]).all())
            chosen = set(np.nonzero(ious[i] > 0.5)[0].tolist()) | {int(ious[i].argmax())}
            for k in chosen:
                s, a = divmod(k, NA)
                stride = STRIDES[s]
                gh, gw = outputs[s].shape[2], outputs[s].shape[3]
                gx, gy = min(int(cx / stride), gw - 1), min(int(cy / stride), gh - 1)
                lm = np.zeros(2 * LANDMARKS)
                if has:
                    lm[0::2] = (mk[i, 0::2] - (gx + 0.5) * stride) / anchors[k][0]
                    lm[1::2] = (mk[i, 1::2] - (gy + 0.5) * stride) / anchors[k][1]
                pos[s].append([b, a, gy, gx, cx / stride - gx, cy / stride - gy,
                               math.log(wh[i, 0] / anchors[k][0]), math.log(wh[i, 1] / anchors[k][1]),
                               int(t[i, 4]), 2.0 - wh[i, 0] * wh[i, 1] / (outputs[0].shape[2] * outputs[0].shape[3] * STRIDES[0] ** 2),
                               float(has)] + lm.tolist())
    lbox = torch.zeros((), device=device)
    lobj = torch.zeros((), device=device)
    lcls = torch.zeros((), device=device)
    llm = torch.zeros((), device=device)
    lkd = torch.zeros((), device=device)
    for s, p in enumerate(preds):
        stride = STRIDES[s]
        _, _, _, h, w = p.shape
        with torch.no_grad():
            gy, gx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            an = anchors_t[s * NA:(s + 1) * NA].view(1, NA, 1, 1, 2)
            cx = (torch.sigmoid(p[:, :, 0]) + gx) * stride
            cy = (torch.sigmoid(p[:, :, 1]) + gy) * stride
            bw = an[..., 0] * torch.exp(p[:, :, 2].clamp(max=10))
            bh = an[..., 1] * torch.exp(p[:, :, 3].clamp(max=10))
            pb = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], -1).view(n, -1, 1, 4)
            g = gt.view(n, 1, G, 4)
            iw = (torch.min(pb[..., 2], g[..., 2]) - torch.max(pb[..., 0], g[..., 0])).clamp(min=0)
            ih = (torch.min(pb[..., 3], g[..., 3]) - torch.max(pb[..., 1], g[..., 1])).clamp(min=0)
            inter = iw * ih
            uni = (pb[..., 2] - pb[..., 0]) * (pb[..., 3] - pb[..., 1]) + \
                  (g[..., 2] - g[..., 0]) * (g[..., 3] - g[..., 1]) - inter
            iou = torch.where(gvalid.view(n, 1, G), inter / uni.clamp(min=1e-9), torch.zeros(()))
            ignore = (iou.max(2).values > 0.5).view(n, NA, h, w)
            # cells centred in an ignore region (faces the labels are unsure of, cut off, tiny)
            ccx, ccy = (gx.float() + 0.5) * stride, (gy.float() + 0.5) * stride
            for b, (_, _, ig) in enumerate(targets):
                if len(ig):   # all of an image's regions at once (dozens on crowd photos)
                    r = torch.from_numpy(np.asarray(ig, np.float32)).view(-1, 4, 1, 1)
                    inside = (ccx >= r[:, 0]) & (ccx <= r[:, 2]) & (ccy >= r[:, 1]) & (ccy <= r[:, 3])
                    ignore[b] |= inside.any(0).view(1, h, w)
        tobj = torch.zeros(n, NA, h, w)
        weight = (~ignore).float()
        if pos[s]:
            P = torch.tensor(pos[s], dtype=torch.float32)
            bi, ai, yi, xi = (P[:, j].long() for j in range(4))
            tobj[bi, ai, yi, xi] = 1.0
            weight[bi, ai, yi, xi] = 1.0
            pp = p[bi, ai, :, yi, xi]                           # m x FIELDS
            bwt = P[:, 9]
            lbox = lbox + (bwt[:, None] * F.binary_cross_entropy_with_logits(
                pp[:, 0:2], P[:, 4:6], reduction="none")).sum()
            lbox = lbox + (bwt[:, None] * 0.5 * (pp[:, 2:4] - P[:, 6:8]) ** 2).sum()
            tcls = F.one_hot(P[:, 8].long(), NC).float()
            lcls = lcls + F.binary_cross_entropy_with_logits(pp[:, 5:LM], tcls, reduction="none").sum()
            has = P[:, 10:11]
            llm = llm + (has * F.smooth_l1_loss(pp[:, LM:], P[:, 11:], beta=0.1, reduction="none")).sum()
        lobj = lobj + (weight * F.binary_cross_entropy_with_logits(p[:, :, 4], tobj, reduction="none")).sum()
        if teacher_outputs is not None:
            tp = teacher_outputs[s].view_as(p)
            # soft objectness everywhere; soft classes and box where the teacher sees something. Not
            # the landmarks: the labels' points (YuNet's) are closer than the float twin's (0.14 of
            # the eye distance on its own training crops)
            lkd = lkd + F.binary_cross_entropy_with_logits(p[:, :, 4], torch.sigmoid(tp[:, :, 4]),
                                                           reduction="sum")
            m = torch.sigmoid(tp[:, :, 4:5]).detach()
            lkd = lkd + (m * F.binary_cross_entropy_with_logits(p[:, :, 5:LM], torch.sigmoid(tp[:, :, 5:LM]),
                                                                reduction="none")).sum()
            lkd = lkd + (m * (p[:, :, :4] - tp[:, :, :4]) ** 2).sum()
    total = (lbox + lobj + lcls + lm_weight * llm + kd_weight * lkd) / n
    return total, {"box": lbox.item() / n, "obj": lobj.item() / n, "cls": lcls.item() / n,
                   "lm": llm.item() / n, "kd": lkd.item() / n}


# ------------------------------------------------------------------ export
def export_onnx(model, path):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, SIZE_H, SIZE), str(path), input_names=["input"],
                          output_names=["stride8", "stride16"], opset_version=13, do_constant_folding=True)
    return path


# ------------------------------------------------------------------ training data
class Data:
    """prepare_data.py's cache: scenes (WIDER's training half, pseudo-labelled photos and
    frames) and face crops (LFW, CelebA) for mosaics. sample() draws one training canvas."""

    def __init__(self, cache, mix):
        sc = np.load(os.path.join(cache, "scenes.npz"), allow_pickle=True)
        cr = np.load(os.path.join(cache, "crops.npz"), allow_pickle=True)
        self.crops = {k: list(cr[k]) for k in ("images", "boxes", "marks", "ignore")}
        ids = [str(i) for i in sc["ids"]]
        # (an npz member is read and unpickled again on every access: once each)
        scenes = list(zip(sc["images"], map(self.with_class, sc["boxes"]), sc["marks"], sc["ignore"]))
        self.wider = [x for x, i in zip(scenes, ids) if i.startswith("wider/")]
        self.scenes = [x for x, i in zip(scenes, ids) if not i.startswith("wider/")]
        self.mix = np.array(mix, np.float64) / sum(mix)   # mosaic, wider, other scenes
        self.summary = (f"{len(self.wider)} WIDER images ({sum(len(x[1]) for x in self.wider)} faces), "
                        f"{len(self.scenes)} other scenes ({sum(len(x[1]) for x in self.scenes)} faces), "
                        f"{len(self.crops['images'])} face crops; mix mosaic/wider/scenes {self.mix.round(2).tolist()}")

    @staticmethod
    def with_class(b):
        b = np.asarray(b, np.float32).reshape(-1, 4)
        return np.concatenate([b, np.zeros((len(b), 1), np.float32)], 1)

    def sample(self, rng, canvas):
        kind = rng.choice(3, p=self.mix)
        if kind == 0:
            img, b, m, ig = mosaic(self.crops, rng)
            zoom = (0.7, 1.6)
        else:
            src = self.wider if kind == 1 else self.scenes
            img, b, m, ig = src[int(rng.integers(len(src)))]
            zoom = (0.8, 3.0) if kind == 1 else ZOOM
        return augment(img, b, m, ig, rng, canvas, zoom)


def fit_anchors(data, canvas, seed=0, samples=600):
    """k-means anchors on the boxes of training canvases drawn with their own seed."""
    rng = np.random.default_rng(seed + 1000)
    boxes = [data.sample(rng, canvas)[1] for _ in range(samples)]
    # the canvases are the input's scale; kmeans_anchors reads boxes in [0, 1] of SIZE x SIZE_H
    return kmeans_anchors([b / np.array([SIZE, SIZE_H, SIZE, SIZE_H, 1], np.float32) for b in boxes])


# ------------------------------------------------------------------ training
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--float", dest="float_twin", action="store_true", help="train the float twin")
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--out", default=None)
    ap.add_argument("--steps", type=int, default=4000, help="optimiser steps (the schedule's length)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--canvas", type=int, nargs=2, default=[256, 192], help="training crop W H (multiples of 32)")
    ap.add_argument("--mix", type=float, nargs=3, default=[0.4, 0.2, 0.4],
                    help="share of mosaics of face crops, WIDER training images and other scenes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default=None, help="start from the float twin's state dict")
    ap.add_argument("--teacher", default=None, help="float twin state dict: soft targets for the binary model")
    ap.add_argument("--kd-weight", type=float, default=1.0)
    ap.add_argument("--lm-weight", type=float, default=1.0, help="weight of the landmark loss")
    ap.add_argument("--neck", type=int, default=128,
                    help="stride-8 path width: 64 (c3 + up) or >= 128 (concat c3 with neck - 64)")
    ap.add_argument("--resume", action="store_true", help="go on from OUT.ckpt (saved every --log-every steps)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--max-minutes", type=float, default=None, help="stop (and save, resumable) after this long")
    ap.add_argument("--time-steps", type=int, default=0, help="time this many steps and exit")
    ap.add_argument("--threads", type=int, default=1, help="PyTorch threads (the runs above used 1)")
    ap.add_argument("--export", default=None, help="export this state dict to --onnx and exit")
    ap.add_argument("--onnx", default=None)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    if args.export:
        m = load(args.export)
        export_onnx(m, args.onnx)
        print(f"{args.onnx}; anchors {m.anchors.view(-1, 2).tolist()}")
        return
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = args.out or os.path.join(args.cache, "facedet_float.pt" if args.float_twin else "facedet_binary.pt")
    ckpt = out + ".ckpt"

    data = Data(args.cache, args.mix)
    canvas = tuple(args.canvas)
    anchors, fit = fit_anchors(data, canvas, args.seed)
    anchors = anchors.tolist()
    print(f"{'float' if args.float_twin else 'binary'}: {data.summary}", flush=True)
    print(f"anchors (stride order {STRIDES}): {anchors}; mean best shape IoU {fit}", flush=True)
    with open(os.path.join(HERE, "anchors.json"), "w") as f:
        f.write('{"strides": %s,\n "anchors": %s,\n "mean_best_shape_iou": %s}\n' % (
            json.dumps(list(STRIDES)), json.dumps(anchors), json.dumps({k: round(v, 4) for k, v in fit.items()})))

    model = build(binary=not args.float_twin, anchors=anchors, neck=args.neck)
    if args.init and not args.resume:
        init_from_float(model, args.init)
        model.anchors.copy_(torch.tensor(anchors))
        print(f"started from {args.init}", flush=True)
    teacher = None
    if args.teacher:
        teacher = load(args.teacher)
        for p in teacher.parameters():
            p.requires_grad_(False)
        print(f"soft targets from {args.teacher} (weight {args.kd_weight})", flush=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"{nparams} parameters; {args.steps} steps of batch {args.batch_size}, canvas {canvas}, lr {args.lr}",
          flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    warm = max(1, min(200, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(i, args.steps) / args.steps)))
    step, minutes_before = 0, 0.0
    if args.resume and os.path.exists(ckpt):
        st = torch.load(ckpt, map_location="cpu")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        step, minutes_before = st["step"], st["minutes"]
        print(f"resumed from {ckpt} at step {step} ({minutes_before:.1f} min before)", flush=True)

    def save():
        torch.save(model.state_dict(), out)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "step": step,
                    "minutes": minutes_before + (time.time() - start) / 60}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    start = time.time()
    sums, seen = {}, 0
    model.train()
    while step < args.steps:
        imgs, tgts = [], []
        for _ in range(args.batch_size):
            im, bx, mk, ig = data.sample(rng, canvas)
            imgs.append(im)
            tgts.append((bx, mk, ig))
        x = to_input(np.stack(imgs))
        outs = model(x)
        tout = None
        if teacher is not None:
            with torch.no_grad():
                tout = teacher(x)
        loss, parts = yolo_loss(outs, tgts, anchors, tout, args.kd_weight, args.lm_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v
        sums["total"] = sums.get("total", 0.0) + loss.item()
        seen += 1
        if args.time_steps and step >= args.time_steps:
            dt = time.time() - start
            print(f"{step} steps in {dt:.1f} s: {dt / step:.2f} s per step", flush=True)
            return
        if step % args.log_every == 0 or step == args.steps:
            minutes = minutes_before + (time.time() - start) / 60
            print(f"step {step}/{args.steps}: " + ", ".join(f"{k} {v / seen:.3f}" for k, v in sums.items()) +
                  f", lr {sched.get_last_lr()[0]:.2e}, {minutes:.1f} min", flush=True)
            sums, seen = {}, 0
            save()
            if args.max_minutes and (time.time() - start) / 60 > args.max_minutes and step < args.steps:
                print(f"stopping at step {step} (--max-minutes {args.max_minutes}); --resume goes on", flush=True)
                return
    save()
    print(f"saved {out} ({os.path.getsize(out)} bytes), {minutes_before + (time.time() - start) / 60:.1f} min",
          flush=True)


if __name__ == "__main__":
    main()
