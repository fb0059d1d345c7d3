#!/usr/bin/env python3
"""Build the face detector's training cache (~/.cache/bnn-facedet) from ../shared/data.

Real boxes: dlib-faces training.xml. Pseudo-labels on everything else (extra
dlib-faces photos, raccoon photos, opencv-doc sample images and videos, the
MOT clips): a face is a box both float teachers agree on (UltraFace >= 0.7 and
YuNet >= 0.6 with IoU >= 0.4, the mean of the two boxes) or UltraFace alone at
>= 0.95; boxes only one teacher finds below that are stored as `ignore`
regions. Held out and never cached: dlib-faces testing.xml images (evaluation),
grace_hopper_512x512.jpg and darknet's person.jpg (used by the CI test).
Images are cached as 320x240 RGB (the model input, resized like bnn-detect
does); boxes in 0..1 coordinates. Nothing is written into the repository.
Run from the project root: /usr/bin/python3 models/facedet/prepare_data.py
"""
import argparse
import glob
import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import teachers  # noqa: E402
from eval_facedet import load_xml, iou_one  # noqa: E402

DATA = "../shared/data"
CACHE = os.path.expanduser("~/.cache/bnn-facedet")
W, H = 320, 240
OPENCV = "/usr/share/doc/opencv-doc/examples/data"
VIDEOS = {"megamind": (f"{OPENCV}/Megamind.avi", 3), "vtest": (f"{OPENCV}/vtest.avi", 15),
          "mot17": (f"{DATA}/video/MOT17-13-SDP-raw.h265", 5), "mot20": (f"{DATA}/video/MOT20-05-raw_even_shorter.mp4", 2)}
HELD_OUT = {"grace_hopper_512x512.jpg", "person.jpg"}


def pseudo(uf, yn, bgr):
    a, b = uf(bgr, score=0.5), yn(bgr, score=0.5)
    faces, ignore, used = [], [], set()
    for x in a:
        j = -1
        if b:
            iou = iou_one(np.array(x[:4]), np.array([y[:4] for y in b]))
            j = int(iou.argmax()) if iou.max() >= 0.4 else -1
        if (j >= 0 and x[4] >= 0.7 and b[j][4] >= 0.6) or x[4] >= 0.95:
            faces.append(list((np.array(x[:4]) + np.array(b[j][:4])) / 2) if j >= 0 else list(x[:4]))
        else:
            ignore.append(list(x[:4]))
        if j >= 0:
            used.add(j)
    ignore += [list(y[:4]) for k, y in enumerate(b) if k not in used]
    return faces, ignore


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=CACHE)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    os.makedirs(args.cache, exist_ok=True)
    uf, yn = teachers.UltraFace(), teachers.YuNet()
    test_files = {os.path.basename(it["path"]) for it in load_xml(f"{DATA}/faces/dlib-faces/testing.xml")}
    images, boxes, ignores, ids = [], [], [], []

    def add(ident, bgr, faces, ign):
        h, w = bgr.shape[:2]
        images.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (W, H), interpolation=cv2.INTER_AREA))
        s = np.array([w, h, w, h], np.float32)
        boxes.append((np.array(faces, np.float32).reshape(-1, 4) / s).clip(0, 1))
        ignores.append((np.array(ign, np.float32).reshape(-1, 4) / s).clip(0, 1))
        ids.append(ident)

    real = load_xml(f"{DATA}/faces/dlib-faces/training.xml")
    for it in real:
        add("dlib-train/" + os.path.basename(it["path"]), cv2.imread(it["path"]), it["boxes"].tolist(), [])
    done = {os.path.basename(it["path"]) for it in real}
    stills = sorted(glob.glob(f"{DATA}/faces/dlib-faces/*.jpg")) + sorted(glob.glob(f"{DATA}/detection/raccoon/images/*.jpg")) \
        + sorted(glob.glob(f"{OPENCV}/*.jpg")) + sorted(glob.glob(f"{OPENCV}/*.png"))
    for p in stills:
        n = os.path.basename(p)
        if n in done or n in test_files or n in HELD_OUT:
            continue
        bgr = cv2.imread(p)
        if bgr is None or min(bgr.shape[:2]) < 64:
            continue
        add(p.replace(DATA + "/", "").replace(OPENCV + "/", "opencv/"), bgr, *pseudo(uf, yn, bgr))
    for name, (path, every) in VIDEOS.items():
        cap, i = cv2.VideoCapture(path), 0
        while True:
            ok, f = cap.read()
            if not ok:
                break
            if i % every == 0:
                add(f"{name}/{i:04d}", f, *pseudo(uf, yn, f))
            i += 1
        print(f"{name}: {i} frames", flush=True)
    np.savez(os.path.join(args.cache, "train.npz"), images=np.stack(images), boxes=np.array(boxes, dtype=object),
             ignore=np.array(ignores, dtype=object), ids=np.array(ids))
    crops = sorted(glob.glob(f"{DATA}/faces/orl/**/*.pgm", recursive=True)) + \
        sorted(glob.glob(f"{DATA}/faces/extended-yale-b-cropped/**/*.png", recursive=True)) + \
        sorted(glob.glob(f"{DATA}/faces/dlib-johns/**/*.jpg", recursive=True))
    with open(os.path.join(args.cache, "crops.json"), "w") as f:
        json.dump(crops, f)
    by = {}
    for i, b in zip(ids, boxes):
        k = i.split("/")[0]
        by.setdefault(k, [0, 0, 0])
        by[k][0] += 1
        by[k][1] += len(b)
        by[k][2] += len(b) > 0
    for k, (n, nb, nw) in by.items():
        print(f"{k:22s} {n:5d} images {nw:5d} with faces {nb:5d} boxes")
    print(f"{len(crops)} face crops for composites; cache {args.cache}")


if __name__ == "__main__":
    main()
