#!/usr/bin/python3
"""Prepare the person-presence (visual-wake-words style) data: the split,
person pseudo-labels from the float teacher, and a training/evaluation cache.

    /usr/bin/python3 models/person/prepare_data.py [--data ../shared/data] [--cache ~/.cache/bnn-person]

Writes models/person/split.json (recipe, sources, frame indices and photo
names, counts; no pixels) and, under the cache folder (never in the
repository):

  train.pkl   the training images as grey uint8 (shorter side at most
              MAX_SIDE), their teacher boxes, and a pool of labelled square
              crop windows (x0, y0, side, label) per image that the trainer
              samples from
  test.npz    the held-out crops, 96 x 96 grey uint8, labels (0 no person,
              1 person), source and window of each

Labels come from the float teacher, not from people: Yolo-Fastest 1.1 (COCO,
teachers/yolo-fastest-1.1.{cfg,weights}) through cv2.dnn's darknet importer
on the whole frame (aspect kept, 640 pixels wide, height a multiple of 32),
person (COCO class 0) boxes after NMS 0.45. A second, person-only teacher
(yolo-fastest-1.1_body) is run too and its boxes only ever make a window
ambiguous (never positive): a recall safety net for the negatives.

A square window (side s) is
  person     when a COCO-teacher person box scoring >= 0.3 has at least 60 %
             of its area inside the window and that inside part covers at
             least 3 % of the window (a person visible, not tiny);
  no person  when no box of either teacher scoring >= 0.1 overlaps it
             meaningfully (intersection <= 10 % of the box and <= 1 % of the
             window);
  ambiguous  otherwise: discarded.
Windows: side = shorter image side x log-uniform(0.2, 1), uniformly placed;
one in ten is the whole image squashed to 96 x 96 (what a camera frame
resized to the model input looks like). Crops are resized with INTER_AREA
(INTER_LINEAR when enlarging) from the BGR -> grey image.

Sources (read-only, never copied into the repository):
  videos   video/MOT17-13-SDP-raw.h265 (750 frames), video/MOT20-05 (127
           frames) and opencv-doc's vtest.avi (795 frames); every Nth frame
           (VIDEOS below); the last 20 % of each video's frames is the
           held-out block (as models/detect), the first 80 % training.
           MOT20-05 is a dense crowd where the teacher misses most people:
           it gives person windows only, never no-person windows.
  raccoon  detection/raccoon, the models/detect split (seed 0, 40 held out);
           person labels from the teacher as everywhere (these photos
           are mostly person-free: hard negatives with animals).
  extra    training only: faces/dlib-faces photos, a subset of faces/orl and
           faces/dlib-johns (whole-image windows only: face close-ups the
           teacher may or may not call a person), every image in opencv-doc's
           examples/data, the darknet and facedetect sample photos, frames of
           opencv-doc's Megamind.avi and tree.avi.

Held out: per image, the distinct labelled windows among POOL_TEST
candidates, at most TEST_PER_CLASS_IMAGE per class, then the classes are
balanced overall with a seeded sample of the more common one.
"""

import argparse
import json
import math
import os
import pickle
import random
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "models", "detect"))
from yolo_teacher import YoloTeacher  # noqa: E402  (the detector's teacher, shared)
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
DEFAULT_CACHE = os.path.expanduser("~/.cache/bnn-person")
SPLIT_PATH = os.path.join(HERE, "split.json")
DETECT_SPLIT = os.path.join(ROOT, "models", "detect", "split.json")
SIZE = 96
MAX_SIDE = 360                     # cached images: shorter side at most this
TEACHER_W = 640
POS_SCORE, NEG_SCORE, NMS = 0.3, 0.1, 0.45
POS_INSIDE, POS_COVER = 0.6, 0.03
NEG_BOX, NEG_WIN = 0.10, 0.01
SCALE = (0.2, 1.0)
WHOLE_P = 0.1
TEST_FRACTION = 0.2
POOL_TRAIN = 400                   # candidate windows per training image
POOL_TEST = 60                     # candidate windows per held-out image
TEST_PER_CLASS_IMAGE = 12          # at most this many held-out crops per class per image
SEED = 0
OCV = "/usr/share/doc/opencv-doc/examples/data"
VIDEOS = {
    "MOT17-13": ("video/MOT17-13-SDP-raw.h265", 3, True),
    "MOT20-05": ("video/MOT20-05-raw_even_shorter.mp4", 1, False),   # no negatives (crowd)
    "vtest": (OCV + "/vtest.avi", 3, True),
}
EXTRA_VIDEOS = {"Megamind": (OCV + "/Megamind.avi", 15), "tree": (OCV + "/tree.avi", 10)}
EXTRA_DIRS = [OCV, "/usr/share/darknet/data", "/usr/share/doc/facedetect/examples"]
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".pgm", ".bmp")


class Teacher(YoloTeacher):
    def persons(self, bgr, score):
        """Person (class 0) boxes [x0, y0, x1, y1, score] in the image's pixels:
        the image at TEACHER_W wide (aspect kept, height a multiple of 32),
        boxes at least 2 pixels on each side."""
        h, w = bgr.shape[:2]
        th = max(32, int(round(TEACHER_W * h / w / 32)) * 32)
        return [b for b in self.person_boxes(bgr, (TEACHER_W, th), score, NMS)
                if b[2] - b[0] >= 2 and b[3] - b[1] >= 2]


def label_window(win, pos_boxes, neg_boxes):
    """1 person, 0 no person, -1 ambiguous; win = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = win
    warea = (x1 - x0) * (y1 - y0)

    def inter(b):
        iw = min(x1, b[2]) - max(x0, b[0])
        ih = min(y1, b[3]) - max(y0, b[1])
        return iw * ih if iw > 0 and ih > 0 else 0.0

    for b in pos_boxes:
        a = (b[2] - b[0]) * (b[3] - b[1])
        i = inter(b)
        if a > 0 and i / a >= POS_INSIDE and i / warea >= POS_COVER:
            return 1
    for b in neg_boxes:
        a = (b[2] - b[0]) * (b[3] - b[1])
        i = inter(b)
        if i > 0 and (i / a > NEG_BOX or i / warea > NEG_WIN):
            return -1
    return 0


def sample_windows(h, w, n, rng, whole_only=False):
    """n windows (x0, y0, x1, y1) in pixels of an h x w image."""
    wins = []
    for _ in range(n):
        if whole_only or rng.random() < WHOLE_P:
            wins.append((0.0, 0.0, float(w), float(h)))
            continue
        s = min(h, w) * math.exp(rng.uniform(math.log(SCALE[0]), math.log(SCALE[1])))
        x = rng.uniform(0, w - s)
        y = rng.uniform(0, h - s)
        wins.append((x, y, x + s, y + s))
    return wins


def crop(grey, win):
    x0, y0, x1, y1 = (int(round(v)) for v in win)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(grey.shape[1], max(x1, x0 + 1)), min(grey.shape[0], max(y1, y0 + 1))
    c = grey[y0:y1, x0:x1]
    interp = cv2.INTER_AREA if c.shape[0] >= SIZE and c.shape[1] >= SIZE else cv2.INTER_LINEAR
    return cv2.resize(c, (SIZE, SIZE), interpolation=interp)


def shrink(bgr):
    """Grey image, shorter side at most MAX_SIDE, and the scale applied."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    f = min(1.0, MAX_SIDE / min(grey.shape[:2]))
    if f < 1.0:
        grey = cv2.resize(grey, (int(round(grey.shape[1] * f)), int(round(grey.shape[0] * f))),
                          interpolation=cv2.INTER_AREA)
    return grey, f


def read_frames(path):
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    if not frames:
        raise IOError(f"cannot read {path}")
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    os.makedirs(args.cache, exist_ok=True)
    coco = Teacher(args.data, "yolo-fastest-1.1")
    body = Teacher(args.data, "yolo-fastest-1.1_body")
    rng = random.Random(SEED)

    items = []   # dict: id, source, split, grey, pos, neg, negatives_ok, whole_only

    def add(item_id, source, split, bgr, negatives_ok=True, whole_only=False):
        pos = coco.persons(bgr, POS_SCORE)
        neg = coco.persons(bgr, NEG_SCORE) + body.persons(bgr, NEG_SCORE)
        grey, f = shrink(bgr)
        sc = lambda bs: [[b[0] * f, b[1] * f, b[2] * f, b[3] * f, b[4]] for b in bs]  # noqa: E731
        items.append({"id": item_id, "source": source, "split": split, "grey": grey,
                      "pos": sc(pos), "neg": sc(neg), "negatives_ok": negatives_ok,
                      "whole_only": whole_only, "orig_size": [bgr.shape[1], bgr.shape[0]]})

    # videos: last 20 % of frames held out
    video_split = {}
    for name, (rel, every, negatives_ok) in VIDEOS.items():
        path = rel if os.path.isabs(rel) else os.path.join(args.data, rel)
        frames = read_frames(path)
        first_test = int(round(len(frames) * (1 - TEST_FRACTION)))
        picked = list(range(0, len(frames), every))
        video_split[name] = {"path": rel, "frames": len(frames), "every": every,
                             "negatives": negatives_ok, "first_test_frame": first_test,
                             "train": [i for i in picked if i < first_test],
                             "test": [i for i in picked if i >= first_test]}
        for i in picked:
            add(f"{name}-{i:04d}", name, "train" if i < first_test else "test", frames[i], negatives_ok)
        print(f"{name}: {len(frames)} frames, {len(video_split[name]['train'])} train, "
              f"{len(video_split[name]['test'])} held out (from frame {first_test})", flush=True)

    # raccoon: the detector's split
    with open(DETECT_SPLIT) as f:
        rsplit = json.load(f)["raccoon"]
    img_dir = os.path.join(args.data, "detection", "raccoon", "images")
    for split, names in (("train", rsplit["train"]), ("test", rsplit["test"])):
        for n in names:
            bgr = cv2.imread(os.path.join(img_dir, n + ".jpg"), cv2.IMREAD_COLOR)
            if bgr is None:
                raise IOError(f"cannot read {n}")
            add(n, "raccoon", split, bgr)
    print(f"raccoon: {len(rsplit['train'])} train, {len(rsplit['test'])} held out", flush=True)

    # extra training images
    extra = []
    d = os.path.join(args.data, "faces", "dlib-faces")
    extra += [(os.path.join(d, f), False) for f in sorted(os.listdir(d)) if f.lower().endswith(IMAGE_EXT)]
    for sub, every in (("orl", 4), ("dlib-johns", 3)):
        d = os.path.join(args.data, "faces", sub)
        files = []
        for root, _, fs in sorted(os.walk(d)):
            files += [os.path.join(root, f) for f in sorted(fs) if f.lower().endswith(IMAGE_EXT)]
        extra += [(p, True) for p in sorted(files)[::every]]
    for d in EXTRA_DIRS:
        if os.path.isdir(d):
            extra += [(os.path.join(d, f), False) for f in sorted(os.listdir(d)) if f.lower().endswith(IMAGE_EXT)]
    n_extra = 0
    for p, whole in extra:
        bgr = cv2.imread(p, cv2.IMREAD_COLOR)
        if bgr is None or min(bgr.shape[:2]) < 64:
            continue
        add(os.path.relpath(p, args.data) if p.startswith(args.data) else p, "extra", "train", bgr,
            True, whole)
        n_extra += 1
    for name, (p, every) in EXTRA_VIDEOS.items():
        if os.path.exists(p):
            for i, fr in enumerate(read_frames(p)):
                if i % every == 0:
                    add(f"{name}-{i:04d}", "extra", "train", fr)
                    n_extra += 1
    print(f"extra: {n_extra} training images", flush=True)

    # windows
    train_items, test_x, test_y, test_meta = [], [], [], []
    counts = {"train": {}, "test": {}}
    for it in items:
        h, w = it["grey"].shape
        n = POOL_TRAIN if it["split"] == "train" else POOL_TEST
        if it["whole_only"]:
            n = 1
        wins = sample_windows(h, w, n, rng, it["whole_only"])
        labelled = []
        for win in wins:
            lab = label_window(win, it["pos"], it["neg"])
            if lab == 0 and not it["negatives_ok"]:
                lab = -1
            if lab >= 0:
                labelled.append((win, lab))
        if it["split"] == "train":
            it["windows"] = np.array([list(wn) + [lab] for wn, lab in labelled], np.float32).reshape(-1, 5)
            train_items.append(it)
            c = counts["train"].setdefault(it["source"], [0, 0, 0])
            c[0] += 1
            c[1] += int((it["windows"][:, 4] == 0).sum())
            c[2] += int((it["windows"][:, 4] == 1).sum())
        else:
            uniq = list(dict.fromkeys(labelled))   # the whole-image window comes up several times
            for lab in (0, 1):
                sel = [wn for wn, lb in uniq if lb == lab][:TEST_PER_CLASS_IMAGE]
                for wn in sel:
                    test_x.append(crop(it["grey"], wn))
                    test_y.append(lab)
                    test_meta.append([it["id"], it["source"]] + [round(v, 1) for v in wn])

    # balance the held-out set to equal classes (seeded)
    test_y = np.array(test_y)
    idx0, idx1 = np.nonzero(test_y == 0)[0], np.nonzero(test_y == 1)[0]
    k = min(len(idx0), len(idx1))
    r = np.random.default_rng(SEED)
    keep = np.sort(np.concatenate([r.choice(idx0, k, replace=False), r.choice(idx1, k, replace=False)]))
    test_x = np.stack(test_x)[keep]
    test_y = test_y[keep]
    test_meta = [test_meta[i] for i in keep]
    for m, lab in zip(test_meta, test_y):
        c = counts["test"].setdefault(m[1], [0, 0, 0])
        c[1 + int(lab)] += 1
    np.savez_compressed(os.path.join(args.cache, "test.npz"), x=test_x, y=test_y,
                        meta=np.array(test_meta, dtype=object))
    with open(os.path.join(args.cache, "train.pkl"), "wb") as f:
        pickle.dump([{k2: it[k2] for k2 in ("id", "source", "grey", "pos", "windows")} for it in train_items], f)

    split = {
        "note": "labels come from the float teacher (Yolo-Fastest), not from people; videos: frame "
                "indices (0-based, decode order), the held-out block is the last 20 % of each video; "
                "raccoon: models/detect's split; extra: training only",
        "classes": ["no person", "person"],
        "videos": video_split,
        "raccoon": {"from": "models/detect/split.json", "train": rsplit["train"], "test": rsplit["test"]},
        "extra_training_images": [it["id"] for it in items if it["source"] == "extra"],
        "teacher": {"positives": "teachers/yolo-fastest-1.1.{cfg,weights}, person (COCO 0), score >= %.2f" % POS_SCORE,
                    "ambiguity": "yolo-fastest-1.1 and yolo-fastest-1.1_body person boxes, score >= %.2f" % NEG_SCORE,
                    "input": f"whole image, {TEACHER_W} wide, height a multiple of 32 (aspect kept)",
                    "nms": NMS},
        "windows": {"person": f"a positive box with >= {POS_INSIDE} of its area inside and covering >= {POS_COVER} of the window",
                    "no_person": f"no box (either teacher, score >= {NEG_SCORE}) with intersection > {NEG_BOX} of the box or > {NEG_WIN} of the window",
                    "side": f"shorter side x log-uniform{SCALE}; whole image squashed with p = {WHOLE_P}",
                    "train_pool_per_image": POOL_TRAIN, "test_candidates_per_image": POOL_TEST,
                    "test_max_per_class_per_image": TEST_PER_CLASS_IMAGE, "seed": SEED,
                    "cached_shorter_side_max": MAX_SIDE, "input": [SIZE, SIZE]},
        "counts": {s: {src: {"images": c[0], "no_person": c[1], "person": c[2]} if s == "train"
                       else {"no_person": c[1], "person": c[2]}
                       for src, c in sorted(counts[s].items())} for s in counts},
        "test_total": {"no_person": int((test_y == 0).sum()), "person": int((test_y == 1).sum())},
    }
    with open(SPLIT_PATH, "w") as f:
        json.dump(split, f, indent=1)
        f.write("\n")
    print(json.dumps(split["counts"], indent=1))
    print(f"held out: {len(test_y)} crops ({int(test_y.sum())} person); cache {args.cache}; split {SPLIT_PATH}")


if __name__ == "__main__":
    sys.exit(main())
