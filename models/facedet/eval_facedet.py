#!/usr/bin/env python3
"""Face detection on held-out real photos: AP@0.5, recall and landmark error, every model in one run.

Test sets (never trained on, never used to choose a model):
- WIDER: the held-out half of ../shared/data/faces/wider-val100 (models/facedet/wider_heldout.txt,
  48 images; crowds, parades, press conferences), official boxes. Faces under 16 px on their
  shorter side in the stored 416 x 416 image are ignored (a detection on one is neither right nor
  wrong); the rest count.
- dlib: dlib-faces testing.xml (5 images, 25 real boxes).

Rows: the binary model through the real runtime (bnn-detect --json, landmarks included), the
binary model and its float twin in PyTorch, the float peers a user would pick instead (UltraFace
RFB-320 and YuNet n 320, both 320 px inputs, and face-api's SSD MobileNet v1 at 512 x 512 where
its weights are fetched, see faceapi_ssd.py), and a floor (OpenCV's Haar frontal-face cascade,
opencv-data). Each model sees the whole image as its app would (the binary model and UltraFace
at 320 x 240, YuNet at 320 x 320, the SSD padded to a square at 512). Columns: AP@0.5 (VOC all-point), recall at the model's default score
threshold, and the mean landmark error against YuNet's points (run on the image and on 2 x 2
tiles at twice the resolution, as prepare_data.py labels) on the counted faces both it and the
model find at IoU >= 0.5, normalised by YuNet's inter-ocular distance. The landmark floor is a
fixed mean face shape placed in the model's own box.

    /usr/bin/python3 models/facedet/eval_facedet.py [--model M.bnn] [--binary-pt P] [--float-pt P] [--update-doc]
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import teachers  # noqa: E402

DATA = "../shared/data"
DLIB = f"{DATA}/faces/dlib-faces"
WIDER = f"{DATA}/faces/wider-val100"
MODEL = "models/facedet/face-detector.bnn"
CACHE = os.path.expanduser("~/.cache/bnn-facedet2")
DOC = "docs/face-detection.md"
HAAR = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
IOU = 0.5
MIN_FACE = 16
# The landmark floor: YuNet's five points as fractions of its box (x0, y0, x1, y1), averaged over
# the LFW and CelebA training crops of prepare_data.py's cache (mean_shape() computes it again).
MEAN_SHAPE = [(0.321, 0.428), (0.680, 0.427), (0.502, 0.614), (0.355, 0.776), (0.648, 0.775)]


def wider_heldout(path=os.path.join(HERE, "wider_heldout.txt")):
    """The WIDER val100 images held out of all training and model choice (file names)."""
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def load_xml(path):
    items = []
    for im in ET.parse(path).getroot().iter("image"):
        boxes = [[float(b.get("left")), float(b.get("top")),
                  float(b.get("left")) + float(b.get("width")), float(b.get("top")) + float(b.get("height"))]
                 for b in im.iter("box") if b.get("ignore") != "1"]
        items.append({"path": os.path.join(os.path.dirname(path), im.get("file")), "boxes": np.array(boxes).reshape(-1, 4),
                      "ignore": np.zeros((0, 4))})
    return items


def wider_boxes(name, w, h):
    """The official boxes of a WIDER val100 image (YOLO labels, normalised) as corners in the
    pixels of its w x h stored image."""
    lab = np.loadtxt(f"{WIDER}/labels/{name[:-4]}.txt", ndmin=2).reshape(-1, 5)
    return np.stack([(lab[:, 1] - lab[:, 3] / 2) * w, (lab[:, 2] - lab[:, 4] / 2) * h,
                     (lab[:, 1] + lab[:, 3] / 2) * w, (lab[:, 2] + lab[:, 4] / 2) * h], 1)


def load_wider(names, side=np.minimum):
    """Held-out WIDER images: counted boxes (side(w, h) >= MIN_FACE px: the shorter side by default,
    the height with side=lambda w, h: h) and ignored ones."""
    items = []
    for n in names:
        p = f"{WIDER}/images/{n}"
        h, w = cv2.imread(p).shape[:2]
        b = wider_boxes(n, w, h)
        big = side(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) >= MIN_FACE
        items.append({"path": p, "boxes": b[big], "ignore": b[~big]})
    return items


def iou_one(box, g):
    ix = np.clip(np.minimum(box[2], g[:, 2]) - np.maximum(box[0], g[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], g[:, 3]) - np.maximum(box[1], g[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1]) + (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]) - inter
    return inter / np.maximum(area, 1e-9)


def match(dets, gts, ignores=None):
    """Greedy VOC matching, best score first. Returns (rows of (score, is_tp) for the detections
    that count, per image the index of the detection matched to each counted box or -1)."""
    ignores = ignores or [np.zeros((0, 4))] * len(gts)
    rows = sorted([(d[4], i, k) for i, ds in enumerate(dets) for k, d in enumerate(ds)], key=lambda r: -r[0])
    used = [np.full(len(g), -1) for g in gts]
    out = []
    for score, i, k in rows:
        box = np.asarray(dets[i][k][:4], np.float64)
        g = gts[i]
        if len(g):
            iou = iou_one(box, g)
            iou[used[i] >= 0] = -1
            j = int(iou.argmax())
            if iou[j] >= IOU:
                used[i][j] = k
                out.append((score, 1))
                continue
        if len(ignores[i]) and iou_one(box, ignores[i]).max() >= IOU:
            continue   # on a face too small to count: neither right nor wrong
        out.append((score, 0))
    return out, used


def average_precision(dets, gts, ignores=None):
    """dets: per image, list of (x0, y0, x1, y1, score, ...); gts: per image, m x 4. (AP, final recall)."""
    npos = sum(len(g) for g in gts)
    rows, _ = match(dets, gts, ignores)
    tp = np.array([t for _, t in rows], np.float64)
    ctp = np.cumsum(tp)
    recall = ctp / max(npos, 1)
    precision = ctp / np.arange(1, len(rows) + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1])), float(recall[-1] if len(rows) else 0.0)


def recall_at(dets, gts, ignores, threshold):
    kept = [[d for d in ds if d[4] >= threshold] for ds in dets]
    _, used = match(kept, gts, ignores)
    return sum(int((u >= 0).sum()) for u in used) / max(1, sum(len(g) for g in gts))


def landmark_error(dets, items, refs, floor=False, min_side=0):
    """Mean over faces of the mean point distance / inter-ocular distance, against the reference
    points refs (per image, per counted box: 10 values or None), on the counted faces at least
    min_side px on their shorter side. Uses each box's matched detection (IoU >= 0.5, greedy by
    score). floor: the mean shape in the detection's box instead."""
    _, used = match(dets, [it["boxes"] for it in items], [it["ignore"] for it in items])
    errs = []
    for i, it in enumerate(items):
        for j, k in enumerate(used[i]):
            ref = refs[i][j]
            g = it["boxes"][j]
            if k < 0 or ref is None or min(g[2] - g[0], g[3] - g[1]) < min_side:
                continue
            d = dets[i][k]
            if floor:
                x0, y0, x1, y1 = d[:4]
                pts = np.array([[x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)] for fx, fy in MEAN_SHAPE])
            elif len(d) >= 15:
                pts = np.asarray(d[5:15], np.float64).reshape(5, 2)
            else:
                return None, 0
            ref = np.asarray(ref, np.float64).reshape(5, 2)
            iod = np.linalg.norm(ref[0] - ref[1])
            if iod < 1:
                continue
            errs.append(float(np.linalg.norm(pts - ref, axis=1).mean() / iod))
    return (float(np.mean(errs)) if errs else None), len(errs)


def teacher_points(items):
    """YuNet's five points for each counted box (the YuNet face overlapping it best, IoU >= 0.3)."""
    from prepare_data import marks_for, run_teachers
    uf, yn = teachers.UltraFace(), teachers.YuNet()
    out = []
    for it in items:
        _, yb = run_teachers(uf, yn, cv2.imread(it["path"]), tiles=True)
        m = marks_for(yb, it["boxes"].tolist())
        out.append([None if not np.isfinite(v).all() else list(v) for v in np.asarray(m, np.float64).reshape(-1, 10)])
    return out


# ------------------------------------------------------------------ the models
def run_bnn(detect, model, items):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "det.json")
        subprocess.run([detect, "--model", model, "--score", "0.01", "--json", out] + [it["path"] for it in items],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            res = {r["source"]: r for r in json.load(f)["results"]}
    return [[d["box"] + [d["score"]] + [v for p in d.get("landmarks", []) for v in p]
             for d in res[it["path"]]["detections"]] for it in items]


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
        s = np.array([w / tf.SIZE, h / tf.SIZE_H], np.float32)
        dets.append([list(b[:4] * np.tile(s, 2)) + [b[4]] + list((b[6:].reshape(-1, 2) * s).reshape(-1)) for b in d])
    return dets


def run_faceapi(items):
    import torch
    from faceapi_ssd import DEFAULT_DIR, FaceApiSsd
    torch.set_num_threads(1)
    if not os.path.exists(DEFAULT_DIR):
        raise OSError(f"{DEFAULT_DIR} is missing (faceapi_ssd.py says how to fetch it)")
    ssd = FaceApiSsd()
    return [ssd(cv2.imread(it["path"]), score=0.05) for it in items]


def run_haar(items):
    cascade = cv2.CascadeClassifier(HAAR)
    dets = []
    for it in items:
        grey = cv2.cvtColor(cv2.imread(it["path"]), cv2.COLOR_BGR2GRAY)
        boxes, _, weights = cascade.detectMultiScale3(grey, scaleFactor=1.1, minNeighbors=3, outputRejectLevels=True)
        dets.append([[x, y, x + w, y + h, float(s)] for (x, y, w, h), s in zip(boxes, np.asarray(weights).reshape(-1))])
    return dets


def benchmark(bench, model):
    out = subprocess.run([bench, model, "--runs", "100", "--no-profile"], check=True, capture_output=True,
                         text=True, env=dict(os.environ, OMP_NUM_THREADS="1")).stdout
    ms = float(re.search(r"latency:\s+([0-9.]+) ms", out).group(1))
    weights = int(re.search(r"weights:\s+(\d+) bytes", out).group(1))
    arena = int(re.search(r"arena:\s+(\d+) bytes", out).group(1))
    kernels = re.search(r"kernels:\s+(\S+)", out)
    return ms, weights, arena, kernels.group(1) if kernels else "?"


def mean_shape(cache=CACHE):
    """MEAN_SHAPE again, from the training crops' YuNet points."""
    d = np.load(os.path.join(cache, "crops.npz"), allow_pickle=True)
    f = []
    for b, m in zip(d["boxes"], d["marks"]):
        for bb, mm in zip(b, m):
            if np.isfinite(mm).all():
                p = mm.reshape(5, 2)
                f.append((p - bb[:2]) / (bb[2:4] - bb[:2]))
    return np.mean(f, 0).round(3).tolist()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detect", default="build/apps/bnn-detect")
    ap.add_argument("--benchmark", default="build/apps/bnn-benchmark")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--binary-pt", default=os.path.join(CACHE, "facedet_binary.pt"))
    ap.add_argument("--float-pt", default=os.path.join(CACHE, "facedet_float.pt"))
    ap.add_argument("--update-doc", action="store_true")
    ap.add_argument("--only", default="", help="run only the rows whose names start with one of these "
                    "(comma-separated, e.g. 'float twin'); not with --update-doc")
    ap.add_argument("--mean-shape", action="store_true", help="print MEAN_SHAPE from the training cache and exit")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    if args.mean_shape:
        print(mean_shape())
        return
    held = wider_heldout()
    sets = {"WIDER held-out": load_wider(held),
            "WIDER held-out, height >= 16 px": load_wider(held, side=lambda w, h: h),
            "dlib test": load_xml(os.path.join(DLIB, "testing.xml"))}
    # landmark errors: on WIDER's faces of 32 px and more (below that the reference points
    # themselves move by about a third of the eye distance between YuNet runs), every dlib face
    lm_sets = {"WIDER held-out": 32, "dlib test": 0}
    for name, items in sets.items():
        print(f"{name}: {len(items)} images, {sum(len(it['boxes']) for it in items)} counted faces, "
              f"{sum(len(it['ignore']) for it in items)} ignored", flush=True)
    refs = {name: teacher_points(sets[name]) for name in lm_sets}
    uf, yn = teachers.UltraFace(), teachers.YuNet()
    # (row name, detections, default score threshold: ours is the model's, UltraFace's its
    # repository's demos', YuNet's OpenCV's face_detect sample's)
    runs = [("binary, bnn-detect (runtime)", lambda items: run_bnn(args.detect, args.model, items), 0.25),
            ("binary, PyTorch", lambda items: run_torch(args.binary_pt, items), 0.25),
            ("float twin, PyTorch", lambda items: run_torch(args.float_pt, items), 0.25),
            ("UltraFace RFB-320 (float peer)", lambda items: [uf(cv2.imread(it["path"]), score=0.05) for it in items], 0.7),
            ("YuNet n 320 (float peer; the landmark reference, run on tiles too)",
             lambda items: [yn(cv2.imread(it["path"]), score=0.05) for it in items], 0.9),
            ("face-api SSD MobileNet v1 (float peer, 512 x 512)", run_faceapi, 0.5),
            ("Haar cascade, OpenCV (floor)", run_haar, -1e9)]
    if args.only:
        if args.update_doc:
            ap.error("--only leaves rows out: not with --update-doc")
        runs = [r for r in runs if any(r[0].startswith(p) for p in args.only.split(","))]
    det_rows, lm_rows = [], []
    runtime_dets = {}
    for name, fn, thr in runs:
        cells, lms = [], []
        for sname, items in sets.items():
            gts, igs = [it["boxes"] for it in items], [it["ignore"] for it in items]
            try:
                dets = fn(items)
            except (OSError, subprocess.CalledProcessError) as e:
                print(f"{name} on {sname}: {e}", flush=True)
                cells += ["n/a"] * 2
                lms += ["n/a"] if sname in lm_sets else []
                continue
            if name.startswith("binary, bnn-detect"):
                runtime_dets[sname] = dets
            ap50, _ = average_precision(dets, gts, igs)
            cells += [f"{100 * ap50:.1f}", f"{100 * recall_at(dets, gts, igs, thr):.1f}"]
            if sname in lm_sets:
                nme, n = landmark_error(dets, items, refs[sname], min_side=lm_sets[sname])
                lms.append("-" if nme is None else f"{nme:.3f} ({n})")
        det_rows.append([name] + cells)
        lm_rows.append([name] + lms)
        print(" | ".join(det_rows[-1] + lms), flush=True)
    floor = ["mean face shape in the runtime's boxes (floor)"]
    for sname, min_side in lm_sets.items():
        nme, n = landmark_error(runtime_dets[sname], sets[sname], refs[sname], floor=True, min_side=min_side) \
            if sname in runtime_dets else (None, 0)
        floor.append("-" if nme is None else f"{nme:.3f} ({n})")
    lm_rows.append(floor)
    ms, weights, arena, kernels = benchmark(args.benchmark, args.model)
    size = os.path.getsize(args.model)
    counts = {s: sum(len(it["boxes"]) for it in items) for s, items in sets.items()}
    table = ["| model | " + " | ".join(f"{s} ({counts[s]} faces): AP@0.5 | recall at default" for s in sets) + " |",
             "|---" * (1 + 2 * len(sets)) + "|"]
    table += ["| " + " | ".join(r) + " |" for r in det_rows]
    table += ["", "Landmark error (mean point distance / YuNet's inter-ocular distance; faces matched):", "",
              "| model | " + " | ".join(f"{s}{f' (faces >= {m} px)' if m else ''}" for s, m in lm_sets.items()) + " |",
              "|---" * (1 + len(lm_sets)) + "|"]
    table += ["| " + " | ".join(r) + " |" for r in lm_rows]
    table += ["", f"`{args.model}`: {size / 1024:.0f} KiB file, {weights / 1024:.0f} KiB weights, "
              f"peak arena {arena / 1024 / 1024:.2f} MiB, median latency {ms:.2f} ms at 320x240 "
              f"(bnn-benchmark --runs 100, one core, kernels {kernels})."]
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
