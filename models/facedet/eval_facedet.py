#!/usr/bin/env python3
"""AP@0.5 (VOC all-point) on dlib-faces testing.xml (25 real boxes, 5 images).

Rows: the binary model through the real runtime (build/apps/bnn-detect --json),
the binary model in PyTorch, its float twin (same architecture, float), and the
float teachers UltraFace and YuNet, all on the same 5 images. Also runs
bnn-benchmark for latency and peak arena. --update-doc writes the table into
docs/face-detection.md between the RESULTS markers. Run from the project root:
    /usr/bin/python3 models/facedet/eval_facedet.py [--update-doc]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import teachers  # noqa: E402

DLIB = "../shared/data/faces/dlib-faces"
MODEL = "models/facedet/face-detector.bnn"
CACHE = os.path.expanduser("~/.cache/bnn-facedet")
DOC = "docs/face-detection.md"
IOU = 0.5


def load_xml(path):
    items = []
    for im in ET.parse(path).getroot().iter("image"):
        boxes = [[float(b.get("left")), float(b.get("top")),
                  float(b.get("left")) + float(b.get("width")), float(b.get("top")) + float(b.get("height"))]
                 for b in im.iter("box") if b.get("ignore") != "1"]
        items.append({"path": os.path.join(os.path.dirname(path), im.get("file")), "boxes": np.array(boxes).reshape(-1, 4)})
    return items


def iou_one(box, g):
    ix = np.clip(np.minimum(box[2], g[:, 2]) - np.maximum(box[0], g[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], g[:, 3]) - np.maximum(box[1], g[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1]) + (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]) - inter
    return inter / np.maximum(area, 1e-9)


def average_precision(dets, gts):
    """dets: per image, list of (x0, y0, x1, y1, score); gts: per image, m x 4. (AP, final recall)."""
    npos = sum(len(g) for g in gts)
    rows = sorted([(d[4], i, d[:4]) for i, ds in enumerate(dets) for d in ds], key=lambda r: -r[0])
    used = [np.zeros(len(g), bool) for g in gts]
    tp = np.zeros(len(rows))
    for k, (_, i, box) in enumerate(rows):
        g = gts[i]
        if len(g):
            iou = iou_one(np.asarray(box, np.float64), g)
            j = int(iou.argmax())
            if iou[j] >= IOU and not used[i][j]:
                used[i][j] = True
                tp[k] = 1
    ctp = np.cumsum(tp)
    recall = ctp / npos
    precision = ctp / np.arange(1, len(rows) + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1])), float(recall[-1] if len(rows) else 0.0)


def run_bnn(detect, model, items):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "det.json")
        subprocess.run([detect, "--model", model, "--score", "0.01", "--json", out] + [it["path"] for it in items],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            res = {r["source"]: r for r in json.load(f)["results"]}
    return [[d["box"] + [d["score"]] for d in res[it["path"]]["detections"]] for it in items]


def run_torch(path, items):
    import torch
    import train_facedet as tf
    torch.set_num_threads(1)
    m = tf.load(path)
    anchors = m.anchors.view(-1, 2).tolist()
    dets = []
    for it in items:
        bgr = cv2.imread(it["path"])
        h, w = bgr.shape[:2]
        with torch.no_grad():
            outs = m(tf.to_input(tf.image_input(bgr)[None]))
        d = tf.decode([o[0].numpy() for o in outs], anchors, score_threshold=0.01)
        sx, sy = w / tf.SIZE, h / tf.SIZE_H
        dets.append([[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy, b[4]] for b in d])
    return dets


def benchmark(bench, model):
    out = subprocess.run([bench, model, "--runs", "100", "--no-profile"], check=True, capture_output=True,
                         text=True, env=dict(os.environ, OMP_NUM_THREADS="1")).stdout
    ms = float(re.search(r"latency:\s+([0-9.]+) ms", out).group(1))
    weights = int(re.search(r"weights:\s+(\d+) bytes", out).group(1))
    arena = int(re.search(r"arena:\s+(\d+) bytes", out).group(1))
    return ms, weights, arena


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detect", default="build/apps/bnn-detect")
    ap.add_argument("--benchmark", default="build/apps/bnn-benchmark")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--binary-pt", default=os.path.join(CACHE, "facedet_binary.pt"))
    ap.add_argument("--float-pt", default=os.path.join(CACHE, "facedet_float.pt"))
    ap.add_argument("--update-doc", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    items = load_xml(os.path.join(DLIB, "testing.xml"))
    gts = [it["boxes"] for it in items]
    print(f"{len(items)} images, {sum(len(g) for g in gts)} boxes")
    rows = []
    runs = [("binary, bnn-detect (runtime)", lambda: run_bnn(args.detect, args.model, items)),
            ("binary, PyTorch", lambda: run_torch(args.binary_pt, items)),
            ("float twin, PyTorch", lambda: run_torch(args.float_pt, items)),
            ("UltraFace RFB-320 (teacher, float)", lambda: [teachers.UltraFace()(cv2.imread(it["path"]), score=0.05)
                                                            for it in items]),
            ("YuNet n 320 (teacher, float)", lambda: [teachers.YuNet()(cv2.imread(it["path"]), score=0.05)
                                                      for it in items])]
    for name, fn in runs:
        try:
            ap50, rec = average_precision(fn(), gts)
            rows.append((name, f"{100 * ap50:.1f}", f"{100 * rec:.1f}"))
        except (OSError, subprocess.CalledProcessError, FileNotFoundError) as e:
            rows.append((name, "n/a", "n/a"))
            print(f"{name}: {e}")
        print(f"{rows[-1][0]:38s} AP@0.5 {rows[-1][1]:>5s}  recall {rows[-1][2]:>5s}", flush=True)
    ms, weights, arena = benchmark(args.benchmark, args.model)
    size = os.path.getsize(args.model)
    print(f"{args.model}: {size} bytes, weights {weights} bytes, peak arena {arena} bytes, median {ms:.2f} ms")
    table = ["| model | AP@0.5 | recall (score >= 0.01 / 0.05) |", "|---|---|---|"]
    table += [f"| {n} | {a} | {r} |" for n, a, r in rows]
    table += ["", f"`{args.model}`: {size / 1024:.0f} KiB file, {weights / 1024:.0f} KiB weights, "
              f"peak arena {arena / 1024 / 1024:.2f} MiB, median latency {ms:.2f} ms at 320x240 "
              "(bnn-benchmark --runs 100, one core)."]
    text = "\n".join(table)
    print(text)
    if args.update_doc:
        doc = open(DOC).read()
        a, b = "<!-- RESULTS BEGIN (eval_facedet.py --update-doc) -->", "<!-- RESULTS END -->"
        i, j = doc.index(a) + len(a), doc.index(b)
        open(DOC, "w").write(doc[:i] + "\n" + text + "\n" + doc[j:])
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
