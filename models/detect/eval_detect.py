#!/usr/bin/python3
"""Evaluate the object detector on the held-out images.

    /usr/bin/python3 models/detect/eval_detect.py [--cache ~/.cache/bnn-detect]
        [--model models/detect/detector.bnn] [--binary models/detect/detector_binary.pt]
        [--float models/detect/detector_float.pt] [--json results.json]

Needs prepare_data.py's cache (the held-out labels and frames) and the built
tools (build/apps/bnn-detect, build/apps/bnn-benchmark).

Held-out sets (models/detect/split.json):
  raccoon  the 40 held-out raccoon photos, their real (hand-drawn VOC) boxes:
           raccoon AP@0.5
  person   the held-out video frames (the last 20 % of MOT17-13, MOT20-05 and
           vtest.avi, every Nth frame), labelled by the float teacher
           (Yolo-Fastest 1.1, person score >= 0.3 at 320 x 320): person
           AP@0.5 against the TEACHER's boxes, not human ones. The teacher's
           own AP on them is 100 % by construction.

Rows:
  binary, bnn runtime   detector.bnn run by bnn-detect --score 0.01 --json
                        (the app's whole path: OpenCV decoding, INTER_AREA
                        resize, the runtime, YOLO decoding and NMS in C++)
  binary, PyTorch       detector_binary.pt, the same input path and a numpy
                        copy of the app's decoding and NMS (train_detect.decode)
  float twin, PyTorch   detector_float.pt, the same

AP is VOC's all-point interpolated average precision at IoU 0.5 over all
images of the set pooled (each true box matched at most once, highest scores
first); detections of the other class are ignored (raccoon detections on the
video frames are counted separately as false alarms at the app's default
score threshold, 0.25).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import train_detect as td  # noqa: E402

IOU = 0.5
DEFAULT_SCORE = 0.25


def average_precision(dets, gts):
    """dets: list over images of n x 5 [x0, y0, x1, y1, score]; gts: list of m x 4.
    VOC all-point interpolated AP at IoU 0.5, and the recall reached."""
    npos = sum(len(g) for g in gts)
    rows = [(d[4], i, d[:4]) for i, ds in enumerate(dets) for d in ds]
    rows.sort(key=lambda r: -r[0])
    used = [np.zeros(len(g), bool) for g in gts]
    tp = np.zeros(len(rows))
    for k, (_, i, box) in enumerate(rows):
        g = gts[i]
        if len(g):
            iou = td.iou_matrix(np.asarray(box, np.float64)[None], np.asarray(g, np.float64))[0]
            j = int(iou.argmax())
            if iou[j] >= IOU and not used[i][j]:
                used[i][j] = True
                tp[k] = 1
    if npos == 0:
        return float("nan"), float("nan")
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
    """bnn-detect on every held-out image: {path: n x 6 [x0, y0, x1, y1, score, class]}."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "det.json")
        subprocess.run([detect, "--model", model, "--score", "0.01", "--json", out] + [it["path"] for it in items],
                       check=True)
        with open(out) as f:
            res = json.load(f)
    dets = {}
    for r in res["results"]:
        dets[r["source"]] = np.array([d["box"] + [d["score"], d["class"]] for d in r["detections"]],
                                     np.float64).reshape(-1, 6)
        if r.get("ms") is not None:
            dets.setdefault("_ms", []).append(r["ms"])
    return dets


def run_torch(model, items):
    anchors = model.anchors.view(-1, 2).numpy()
    dets = {}
    with torch.no_grad():
        for it in items:
            bgr = cv2.imread(it["path"], cv2.IMREAD_COLOR)
            x = td.to_input(td.image_input(bgr)[None])
            outs = [o[0].numpy() for o in model(x)]
            d = td.decode(outs, anchors, score_threshold=0.01).astype(np.float64)
            h, w = bgr.shape[:2]
            d[:, [0, 2]] = (d[:, [0, 2]] * w / td.SIZE).clip(0, w)
            d[:, [1, 3]] = (d[:, [1, 3]] * h / td.SIZE).clip(0, h)
            dets[it["path"]] = d
    return dets


def metrics(dets, items):
    rac = [it for it in items if it["source"] == "raccoon"]
    vid = [it for it in items if it["source"] != "raccoon"]

    def ap(sel, cls):
        d = [dets[it["path"]][dets[it["path"]][:, 5] == cls][:, :5] for it in sel]
        g = [np.array([b[:4] for b in it["boxes"] if b[4] == cls], np.float64).reshape(-1, 4) for it in sel]
        return average_precision(d, g)

    m = {"raccoon_ap": ap(rac, 1)[0], "person_ap": ap(vid, 0)[0]}
    for src in sorted({it["source"] for it in vid}):
        m[f"person_ap_{src}"] = ap([it for it in vid if it["source"] == src], 0)[0]
    m["raccoon_alarms_on_frames"] = int(sum(((dets[it["path"]][:, 5] == 1) &
                                             (dets[it["path"]][:, 4] >= DEFAULT_SCORE)).sum() for it in vid))
    m["person_alarms_on_raccoon_photos"] = int(sum(((dets[it["path"]][:, 5] == 0) &
                                                     (dets[it["path"]][:, 4] >= DEFAULT_SCORE)).sum() for it in rac))
    return m


def agreement(a, b, items):
    """How closely two detection sets match: largest score difference of matched boxes
    (same class, IoU >= 0.9) among those scoring >= 0.25 in a, and how many of those have no match."""
    worst, unmatched, total = 0.0, 0, 0
    for it in items:
        da, db = a[it["path"]], b[it["path"]]
        for d in da[da[:, 4] >= DEFAULT_SCORE]:
            total += 1
            same = db[db[:, 5] == d[5]]
            if not len(same):
                unmatched += 1
                continue
            iou = td.iou_matrix(d[None, :4], same[:, :4])[0]
            j = int(iou.argmax())
            if iou[j] < 0.9:
                unmatched += 1
            else:
                worst = max(worst, abs(float(same[j, 4]) - float(d[4])))
    return {"boxes": total, "unmatched": unmatched, "largest_score_difference": worst}


def benchmark(tool, model):
    out = subprocess.run([tool, model], check=True, capture_output=True, text=True).stdout
    lat = re.search(r"latency:\s+([\d.]+) ms median", out)
    arena = re.search(r"arena:\s+(\d+) bytes", out)
    kernels = re.search(r"kernels:\s+(\S+)", out)
    return {"median_ms": float(lat.group(1)), "arena_bytes": int(arena.group(1)),
            "kernels": kernels.group(1) if kernels else "?", "text": out.split("per-operator")[0].strip()}


def pct(v):
    return "–" if v != v else f"{100 * v:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=td.DEFAULT_CACHE)
    ap.add_argument("--model", default=os.path.join(HERE, "detector.bnn"))
    ap.add_argument("--binary", default=os.path.join(HERE, "detector_binary.pt"))
    ap.add_argument("--float", dest="float_model", default=os.path.join(HERE, "detector_float.pt"))
    ap.add_argument("--detect", default=os.environ.get("BNN_DETECT", os.path.join(ROOT, "build", "apps", "bnn-detect")))
    ap.add_argument("--benchmark", default=os.path.join(ROOT, "build", "apps", "bnn-benchmark"))
    ap.add_argument("--no-bnn", action="store_true", help="PyTorch rows only")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    with open(os.path.join(args.cache, "labels.json")) as f:
        items = [it for it in json.load(f)["items"] if it["split"] == "test"]
    rac = [it for it in items if it["source"] == "raccoon"]
    vid = [it for it in items if it["source"] != "raccoon"]
    print(f"held out: {len(rac)} raccoon photos ({sum(len(it['boxes']) for it in rac)} real boxes), "
          f"{len(vid)} video frames ({sum(len(it['boxes']) for it in vid)} teacher person boxes)", flush=True)

    rows, dets = {}, {}
    if not args.no_bnn and os.path.exists(args.model):
        dets["binary, bnn runtime"] = run_bnn(args.detect, args.model, items)
    for name, path in (("binary, PyTorch", args.binary), ("float twin, PyTorch", args.float_model)):
        if os.path.exists(path):
            dets[name] = run_torch(td.load(path), items)
    for name, d in dets.items():
        rows[name] = metrics(d, items)
    result = {"rows": rows}
    if "binary, bnn runtime" in dets and "binary, PyTorch" in dets:
        result["bnn_vs_pytorch"] = agreement(dets["binary, bnn runtime"], dets["binary, PyTorch"], items)
        result["pytorch_vs_bnn"] = agreement(dets["binary, PyTorch"], dets["binary, bnn runtime"], items)
        ms = dets["binary, bnn runtime"].get("_ms", [])
        if ms:
            result["bnn_detect_ms_median"] = float(np.median(ms))
    if not args.no_bnn and os.path.exists(args.model):
        result["model_bytes"] = os.path.getsize(args.model)
        result["benchmark"] = benchmark(args.benchmark, args.model)

    srcs = sorted({it["source"] for it in vid})
    print()
    print("| model | raccoon AP@0.5 (real boxes) | person AP@0.5 (teacher's boxes) | "
          + " | ".join(f"person AP {s}" for s in srcs) + " | raccoon alarms on frames | person alarms on raccoon photos |")
    print("|---|---|---|" + "---|" * len(srcs) + "---|---|")
    for name, m in rows.items():
        print(f"| {name} | {pct(m['raccoon_ap'])} | {pct(m['person_ap'])} | "
              + " | ".join(pct(m[f'person_ap_{s}']) for s in srcs)
              + f" | {m['raccoon_alarms_on_frames']} | {m['person_alarms_on_raccoon_photos']} |")
    print(f"| teacher (Yolo-Fastest 1.1, float) | – (no raccoon class) | 100.0 (its own labels) | "
          + " | ".join("100.0" for _ in srcs) + " | – | – |")
    if "binary, PyTorch" in rows and "float twin, PyTorch" in rows:
        b, f_ = rows["binary, PyTorch"], rows["float twin, PyTorch"]
        print(f"\nbinary - float twin: raccoon {100 * (b['raccoon_ap'] - f_['raccoon_ap']):+.1f} points, "
              f"person {100 * (b['person_ap'] - f_['person_ap']):+.1f} points")
    if "bnn_vs_pytorch" in result:
        print(f"runtime vs PyTorch (boxes scoring >= 0.25): {result['bnn_vs_pytorch']} / {result['pytorch_vs_bnn']}")
    if "benchmark" in result:
        print(f"\nmodel file: {result['model_bytes']} bytes")
        print(result["benchmark"]["text"])
        if "bnn_detect_ms_median" in result:
            print(f"bnn-detect's own time per held-out image (resize + runtime + YOLO decoding + NMS, --score 0.01): "
                  f"median {result['bnn_detect_ms_median']:.2f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
