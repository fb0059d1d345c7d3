#!/usr/bin/python3
"""Prepare the object detector's data: the raccoon split, person pseudo-labels
from the float teacher on video frames, and a training cache.

    /usr/bin/python3 models/detect/prepare_data.py [--data ../shared/data] [--cache ~/.cache/bnn-detect]

Writes models/detect/split.json (the split and the pseudo-labels' recipe,
small, no pixels) and, under the cache folder (never in the repository):

  labels.json        every image used: where it comes from, its size and its
                     boxes [x0, y0, x1, y1, class] in original pixels
                     (class 0 person, 1 raccoon), split "train" or "test"
  train.npz          the training images resized to 640 x 640 RGB uint8 the
                     way bnn-detect resizes (cv2.INTER_AREA, whole image, no
                     letterbox; twice the model input so that zoomed-in crops
                     keep detail), and their boxes in [0, 1] coordinates
  frames/<video>/    the held-out video frames as PNG (lossless), the inputs
                     eval_detect.py gives bnn-detect

Data (read-only, never copied into the repository):
  raccoon   detection/raccoon: 200 photos with VOC XML boxes. 40 held out
            (seeded sample), 160 for training.
  videos    video/MOT17-13-SDP-raw.h265 (750 frames), video/MOT20-05-raw_even_shorter.mp4
            (127 frames) and opencv-doc's vtest.avi (795 frames): every Nth
            frame (N in VIDEOS below); the last 20 % of each video's frames is
            the held-out block, the first 80 % training.
  teacher   teachers/yolo-fastest-1.1 (COCO, float) through cv2.dnn's darknet
            importer at 320 x 320 (the whole frame resized, as the student
            sees it), person (COCO class 0) boxes scoring >= 0.3 after NMS at
            0.45, kept if at least 4 x 4 pixels at 320 x 320. These are the
            person labels of the video frames, for training and for the
            held-out evaluation alike (person AP is against the teacher).
"""

import argparse
import json
import os
import random
import sys
import xml.etree.ElementTree as ET

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from yolo_teacher import YoloTeacher  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
DEFAULT_CACHE = os.path.expanduser("~/.cache/bnn-detect")
SPLIT_PATH = os.path.join(HERE, "split.json")
SIZE = 320
CACHE_SIZE = 640
CLASSES = ["person", "raccoon"]
RACCOON_SEED, RACCOON_TEST = 0, 40
TEST_FRACTION = 0.2
TEACHER_SCORE, TEACHER_NMS, MIN_SIDE = 0.3, 0.45, 4.0
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
# name: (path relative to data, or absolute; take every Nth frame)
VIDEOS = {
    "MOT17-13": ("video/MOT17-13-SDP-raw.h265", 3),
    "MOT20-05": ("video/MOT20-05-raw_even_shorter.mp4", 2),
    "vtest": (VTEST, 4),
}


def read_voc(path):
    root = ET.parse(path).getroot()
    boxes = []
    for obj in root.iter("object"):
        name = obj.find("name").text.strip()
        if name != "raccoon":
            raise ValueError(f"{path}: unexpected class {name}")
        b = obj.find("bndbox")
        x0, y0, x1, y1 = (float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
        # VOC boxes are 1-based inclusive pixel indices; as a continuous box
        # in 0-based pixels that is [xmin - 1, xmax].
        boxes.append([x0 - 1, y0 - 1, x1, y1, 1])
    return boxes


def raccoon_split(data):
    ann = os.path.join(data, "detection", "raccoon", "annotations")
    names = sorted((f[:-4] for f in os.listdir(ann) if f.endswith(".xml")),
                   key=lambda s: int(s.split("-")[1]))
    test = sorted(random.Random(RACCOON_SEED).sample(names, RACCOON_TEST),
                  key=lambda s: int(s.split("-")[1]))
    return [n for n in names if n not in test], test


class Teacher(YoloTeacher):
    def persons(self, bgr, score=TEACHER_SCORE):
        """Person boxes [x0, y0, x1, y1, score] in the frame's pixels, best
        first: the whole frame at SIZE x SIZE, boxes at least MIN_SIDE pixels
        on each side at that size."""
        h, w = bgr.shape[:2]
        boxes = [b for b in self.person_boxes(bgr, (SIZE, SIZE), score, TEACHER_NMS)
                 if (b[2] - b[0]) * SIZE / w >= MIN_SIDE and (b[3] - b[1]) * SIZE / h >= MIN_SIDE]
        return sorted(boxes, key=lambda b: -b[4])


def resize_for_cache(bgr):
    """As bnn-detect prepares the model input (RGB, the whole image resized with
    INTER_AREA), at CACHE_SIZE."""
    return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (CACHE_SIZE, CACHE_SIZE), interpolation=cv2.INTER_AREA)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    os.makedirs(args.cache, exist_ok=True)
    teacher = Teacher(args.data)

    items = []   # dicts: id, source, path / frame, width, height, boxes, split
    images = []  # CACHE_SIZE x CACHE_SIZE RGB of the training items (same order as train items)

    train_names, test_names = raccoon_split(args.data)
    img_dir = os.path.join(args.data, "detection", "raccoon", "images")
    for split, names in (("train", train_names), ("test", test_names)):
        for n in names:
            path = os.path.join(img_dir, n + ".jpg")
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                raise IOError(f"cannot read {path}")
            boxes = read_voc(os.path.join(args.data, "detection", "raccoon", "annotations", n + ".xml"))
            items.append({"id": n, "source": "raccoon", "path": path, "width": bgr.shape[1],
                          "height": bgr.shape[0], "boxes": boxes, "split": split})
            if split == "train":
                images.append(resize_for_cache(bgr))

    video_split = {}
    for name, (rel, every) in VIDEOS.items():
        path = rel if os.path.isabs(rel) else os.path.join(args.data, rel)
        cap = cv2.VideoCapture(path)
        frames = []
        while True:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(f)
        if not frames:
            raise IOError(f"cannot read {path}")
        first_test = int(round(len(frames) * (1 - TEST_FRACTION)))
        picked = list(range(0, len(frames), every))
        video_split[name] = {"path": rel, "frames": len(frames), "every": every,
                             "train": [i for i in picked if i < first_test],
                             "test": [i for i in picked if i >= first_test]}
        out_dir = os.path.join(args.cache, "frames", name)
        os.makedirs(out_dir, exist_ok=True)
        for i in picked:
            bgr = frames[i]
            split = "train" if i < first_test else "test"
            boxes = [b[:4] + [0] for b in teacher.persons(bgr)]
            item = {"id": f"{name}-{i:04d}", "source": name, "frame": i, "width": bgr.shape[1],
                    "height": bgr.shape[0], "boxes": boxes, "split": split}
            if split == "test":
                item["path"] = os.path.join(out_dir, f"{i:04d}.png")
                cv2.imwrite(item["path"], bgr)
            else:
                images.append(resize_for_cache(bgr))
            items.append(item)
        print(f"{name}: {len(frames)} frames, {len(video_split[name]['train'])} train, "
              f"{len(video_split[name]['test'])} held out (from frame {first_test})", flush=True)

    train = [it for it in items if it["split"] == "train"]
    assert len(train) == len(images)
    boxes01 = []
    for it in train:
        sx, sy = 1.0 / it["width"], 1.0 / it["height"]
        boxes01.append(np.array([[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy, b[4]] for b in it["boxes"]],
                                 np.float32).reshape(-1, 5))
    np.savez(os.path.join(args.cache, "train.npz"), images=np.stack(images),
             boxes=np.array(boxes01, dtype=object), ids=np.array([it["id"] for it in train]))
    with open(os.path.join(args.cache, "labels.json"), "w") as f:
        json.dump({"classes": CLASSES, "items": items}, f)

    split = {
        "note": "raccoon: image names under <data>/detection/raccoon (real VOC boxes); videos: frame "
                "indices (0-based, decode order) labelled with persons by the teacher; the held-out "
                "block is the last 20 % of each video",
        "classes": CLASSES,
        "raccoon": {"seed": RACCOON_SEED, "train": train_names, "test": test_names},
        "videos": video_split,
        "teacher": {"model": "teachers/yolo-fastest-1.1.{cfg,weights}", "input": [SIZE, SIZE],
                    "class": "person (COCO 0)", "score": TEACHER_SCORE, "nms": TEACHER_NMS,
                    "min_side_at_320": MIN_SIDE},
    }
    with open(SPLIT_PATH, "w") as f:
        json.dump(split, f, indent=1)
        f.write("\n")

    for split_name in ("train", "test"):
        for src in ["raccoon"] + list(VIDEOS):
            sel = [it for it in items if it["split"] == split_name and it["source"] == src]
            nb = sum(len(it["boxes"]) for it in sel)
            print(f"{split_name:5s} {src:9s} {len(sel):4d} images {nb:5d} boxes")
    print(f"cache: {args.cache}; split: {SPLIT_PATH}")


if __name__ == "__main__":
    sys.exit(main())
