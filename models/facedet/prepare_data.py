#!/usr/bin/env python3
"""Build the face detector's training cache (~/.cache/bnn-facedet2) from ../shared/data.

Two kinds of training material, both with five landmarks per face where a teacher gives them:

- scenes (scenes.npz): whole photos and frames with their face boxes. Real boxes where they
  exist (the training half of WIDER val100, dlib-faces training.xml); teacher pseudo-labels
  everywhere else (detection/person train frames, raccoon photos, dlib-faces extra photos,
  opencv-doc and darknet sample images, Megamind.avi and vtest.avi frames). Stored at their
  own size, the longer side at most 416 px.
- face crops (crops.npz): LFW (people sets 1-8) and CelebA crops with their faces, pasted into
  mosaics at many scales during training so that small faces are seen.

Pseudo-labels: UltraFace and YuNet run on the whole image and, for scenes, on 2 x 2
overlapping tiles at twice the resolution (small faces). A face is a box both teachers agree
on (UltraFace >= 0.7, YuNet >= 0.6, IoU >= 0.4; the mean of the two boxes) or UltraFace alone
at >= 0.95; boxes only one teacher finds below that become `ignore` regions (no loss either
way). Landmarks are YuNet's points of the matched YuNet box (NaN where none); on real boxes,
those of the YuNet box that overlaps it best (IoU >= 0.3). Real boxes under 8 px on their
shorter side (in the stored image) become ignore regions.

Held out, never cached: the WIDER images in models/facedet/wider_heldout.txt, dlib-faces
testing.xml, grace_hopper_512x512.jpg and darknet's person.jpg, and the MOT clips
(evaluation only). Nothing is written into the repository.
Run from the project root: /usr/bin/python3 models/facedet/prepare_data.py (about 10 minutes on one core)
"""
import argparse
import glob
import os
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import teachers  # noqa: E402
from eval_facedet import iou_one, load_xml, wider_boxes, wider_heldout  # noqa: E402

DATA = "../shared/data"
CACHE = os.path.expanduser("~/.cache/bnn-facedet2")
OPENCV = "/usr/share/doc/opencv-doc/examples/data"
DARKNET = "/usr/share/darknet/data"
VIDEOS = {"megamind": (f"{OPENCV}/Megamind.avi", 3), "vtest": (f"{OPENCV}/vtest.avi", 15)}
HELD_OUT = {"grace_hopper_512x512.jpg", "person.jpg"}
MAX_SIDE = 416
NAN10 = [float("nan")] * 10


def run_teachers(uf, yn, bgr, tiles):
    """Both teachers' raw boxes on the image and, with tiles, on 2 x 2 overlapping tiles
    (each 0.6 of the image) at twice the resolution; merged per teacher by NMS."""
    h, w = bgr.shape[:2]
    a, b = list(uf(bgr, score=0.5)), list(yn(bgr, score=0.5))
    if tiles:
        tw, th = int(w * 0.6), int(h * 0.6)
        for ox in (0, w - tw):
            for oy in (0, h - th):
                t = cv2.resize(bgr[oy:oy + th, ox:ox + tw], (2 * tw, 2 * th), interpolation=cv2.INTER_LINEAR)
                shift = np.array([ox, oy] * 7, np.float32)
                for src, dst in ((uf(t, score=0.5), a), (yn(t, score=0.5), b)):
                    for d in src:
                        v = np.array(d, np.float32)
                        v[:4] = v[:4] / 2 + shift[:4]
                        if len(v) > 5:
                            v[5:] = v[5:] / 2 + shift[:10]
                        # a face cut by the tile's edge is left to the whole image or another tile
                        if (v[0] > ox + 1 or ox == 0) and (v[1] > oy + 1 or oy == 0) and \
                           (v[2] < ox + tw - 1 or ox + tw >= w) and (v[3] < oy + th - 1 or oy + th >= h):
                            dst.append(tuple(v.tolist()))
    return teachers._nms(a, 0.4), teachers._nms(b, 0.4)


def pseudo(uf, yn, bgr, tiles=False):
    """(faces n x 4, marks n x 10, ignore m x 4) in pixels from the fused teachers."""
    a, b = run_teachers(uf, yn, bgr, tiles)
    faces, marks, ignore, used = [], [], [], set()
    bb = np.array([y[:4] for y in b], np.float64).reshape(-1, 4)
    for x in a:
        j = -1
        if len(bb):
            iou = iou_one(np.array(x[:4]), bb)
            j = int(iou.argmax()) if iou.max() >= 0.4 else -1
        if (j >= 0 and x[4] >= 0.7 and b[j][4] >= 0.6) or x[4] >= 0.95:
            faces.append(list((np.array(x[:4]) + np.array(b[j][:4])) / 2) if j >= 0 else list(x[:4]))
            marks.append(list(b[j][5:15]) if j >= 0 else NAN10)
        else:
            ignore.append(list(x[:4]))
        if j >= 0:
            used.add(j)
    ignore += [list(y[:4]) for k, y in enumerate(b) if k not in used]
    return faces, marks, ignore


def marks_for(yn_boxes, real):
    """YuNet's landmarks for each real box: those of the YuNet box overlapping it best (IoU >= 0.3)."""
    out = []
    bb = np.array([y[:4] for y in yn_boxes], np.float64).reshape(-1, 4)
    for r in real:
        iou = iou_one(np.asarray(r, np.float64), bb) if len(bb) else np.zeros(0)
        out.append(list(yn_boxes[int(iou.argmax())][5:15]) if len(iou) and iou.max() >= 0.3 else NAN10)
    return out


class Store:
    def __init__(self):
        self.images, self.boxes, self.marks, self.ignore, self.ids = [], [], [], [], []

    def add(self, ident, bgr, faces, marks, ign, max_side=MAX_SIDE):
        h, w = bgr.shape[:2]
        s = min(1.0, max_side / max(h, w))
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if s < 1.0:
            rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        scale = np.array([w, h, w, h], np.float32)
        self.images.append(rgb)
        self.boxes.append((np.array(faces, np.float32).reshape(-1, 4) / scale))
        self.marks.append((np.array(marks, np.float32).reshape(-1, 10) / np.tile(scale[:2], 5)))
        self.ignore.append((np.array(ign, np.float32).reshape(-1, 4) / scale))
        self.ids.append(ident)

    def save(self, path):
        obj = lambda xs: np.array(xs + [None], dtype=object)[:-1]  # noqa: E731  (ragged arrays)
        np.savez(path, images=obj(self.images), boxes=obj(self.boxes), marks=obj(self.marks),
                 ignore=obj(self.ignore), ids=np.array(self.ids))

    def summary(self):
        by = {}
        for i, b, m in zip(self.ids, self.boxes, self.marks):
            k = i.split("/")[0]
            v = by.setdefault(k, [0, 0, 0, 0])
            v[0] += 1
            v[1] += len(b) > 0
            v[2] += len(b)
            v[3] += int(np.isfinite(m[:, 0]).sum())
        for k, (n, nw, nb, nm) in by.items():
            print(f"{k:16s} {n:6d} images {nw:6d} with faces {nb:6d} boxes {nm:6d} with landmarks", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=CACHE)
    ap.add_argument("--limit", type=int, default=0, help="at most this many images per source (a quick check)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    os.makedirs(args.cache, exist_ok=True)
    uf, yn = teachers.UltraFace(), teachers.YuNet()
    lim = (lambda xs: xs[:args.limit]) if args.limit else (lambda xs: xs)
    t0 = time.time()

    scenes = Store()
    held = set(wider_heldout())
    for p in lim(sorted(glob.glob(f"{DATA}/faces/wider-val100/images/*.jpg"))):
        n = os.path.basename(p)
        if n in held:
            continue
        bgr = cv2.imread(p)
        b = wider_boxes(n, bgr.shape[1], bgr.shape[0])
        small = np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) < 8
        _, yb = run_teachers(uf, yn, bgr, tiles=True)
        real = b[~small].tolist()
        scenes.add("wider/" + n, bgr, real, marks_for(yb, real), b[small].tolist())
    print(f"wider: {time.time() - t0:.0f} s", flush=True)

    dlib_train = load_xml(f"{DATA}/faces/dlib-faces/training.xml")
    for it in dlib_train:
        bgr = cv2.imread(it["path"])
        _, yb = run_teachers(uf, yn, bgr, tiles=True)
        scenes.add("dlib-train/" + os.path.basename(it["path"]), bgr, it["boxes"].tolist(),
                   marks_for(yb, it["boxes"].tolist()), [])
    skip = {os.path.basename(it["path"]) for it in dlib_train + load_xml(f"{DATA}/faces/dlib-faces/testing.xml")}
    skip |= HELD_OUT
    stills = [("person", p) for p in lim(sorted(glob.glob(f"{DATA}/detection/person/train/images/*.jpg")))]
    stills += [("dlib-extra", p) for p in sorted(glob.glob(f"{DATA}/faces/dlib-faces/*.jpg"))]
    stills += [("raccoon", p) for p in lim(sorted(glob.glob(f"{DATA}/detection/raccoon/images/*.jpg")))]
    stills += [("opencv", p) for p in sorted(glob.glob(f"{OPENCV}/*.jpg")) + sorted(glob.glob(f"{OPENCV}/*.png"))]
    stills += [("darknet", p) for p in sorted(glob.glob(f"{DARKNET}/*.jpg"))]
    for kind, p in stills:
        n = os.path.basename(p)
        if n in skip:
            continue
        bgr = cv2.imread(p)
        if bgr is None or min(bgr.shape[:2]) < 64:
            continue
        scenes.add(f"{kind}/{n}", bgr, *pseudo(uf, yn, bgr, tiles=True))
    print(f"stills: {time.time() - t0:.0f} s", flush=True)
    for name, (path, every) in VIDEOS.items():
        cap, i = cv2.VideoCapture(path), 0
        while not args.limit or i < args.limit * every:
            ok, f = cap.read()
            if not ok:
                break
            if i % every == 0:
                scenes.add(f"{name}/{i:04d}", f, *pseudo(uf, yn, f, tiles=True))
            i += 1
    scenes.save(os.path.join(args.cache, "scenes.npz"))
    scenes.summary()
    print(f"scenes: {time.time() - t0:.0f} s", flush=True)

    crops = Store()
    lfw = sorted(glob.glob(f"{DATA}/faces/lfw/*/*.jpg"))
    celeba = sorted(glob.glob(f"{DATA}/faces/celeba/*/*.jpg"))
    for kind, paths in (("lfw", lfw), ("celeba", celeba)):
        for p in lim(paths):
            bgr = cv2.imread(p)
            if bgr is None:
                continue
            crops.add(f"{kind}/{os.path.basename(os.path.dirname(p))}/{os.path.basename(p)}", bgr,
                      *pseudo(uf, yn, bgr, tiles=False))
        print(f"{kind}: {time.time() - t0:.0f} s", flush=True)
    crops.save(os.path.join(args.cache, "crops.npz"))
    crops.summary()
    print(f"cache {args.cache}, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
