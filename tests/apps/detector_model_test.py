#!/usr/bin/python3
"""The shipped object detector, models/detect/detector.bnn, through bnn-detect
on images that install with Debian packages.

A smoke test of the committed model, not a measure of its accuracy
(models/detect/eval_detect.py and docs/object-detection.md are that). The
training and evaluation data stay outside the repository; the inputs here
are opencv-doc's vtest.avi and darknet's person.jpg. NOTE: vtest.avi's first
frames are in the detector's TRAINING split (it trained on frames 0..635,
every 4th, with the teacher's person boxes), so passing says the shipped
file, the app and the runtime work together, not that the model generalises.

Checks:
  - bnn-detect loads the model (task detector, labels person and raccoon) and
    writes valid JSON; every box lies inside its image and scores in [0, 1];
  - vtest.avi frames 0..4: each of the three people the float teacher
    (Yolo-Fastest 1.1 through cv2.dnn at 320 x 320, score >= 0.5) finds in
    each frame (EXPECTED below, measured once; the teacher is not needed to
    run this test) is matched by a person box of IoU >= 0.5 scoring >= 0.5.
    Measured when this test was written: the matches have IoU 0.62..0.87 and
    scores 0.68..0.98; each frame has 3-4 person boxes scoring >= 0.5 and no
    raccoon box;
  - darknet's person.jpg: a person box scoring >= 0.25 with IoU >= 0.5
    against the person (the teacher's box). The model FAILS this (measured:
    no person box near her, best person score 0.12 elsewhere, and a raccoon
    box at 0.32 over the horse and half of her): its training people are small pedestrians
    in street videos, and person.jpg's woman in a field is about 4x taller
    than its typical training person. Marked xfail(strict=True), so the day a
    retrained model passes, the test says so and the mark must go;

The PyTorch state dicts (7.7 MB each) are not committed; eval_detect.py
compares the runtime with them where they exist.

Environment: BNN_DETECT (default build/apps/bnn-detect). Run from Meson
(BNN_DETECT set), a missing input or binary fails instead of skipping.
Run: /usr/bin/python3 -m pytest -q tests/apps/detector_model_test.py
"""
import json
import os
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "detect", "detector.bnn")
BNN_DETECT = os.environ.get("BNN_DETECT", os.path.join(ROOT, "build", "apps", "bnn-detect"))
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
PERSON_JPG = "/usr/share/darknet/data/person.jpg"
FRAMES = 5

# The float teacher's person boxes (score >= 0.5) on vtest.avi frames 0..4, in frame pixels.
EXPECTED = {
    0: [[497, 160, 532, 234], [641, 240, 679, 325], [254, 225, 279, 307]],
    1: [[494, 161, 531, 233], [257, 220, 288, 309], [636, 240, 677, 326]],
    2: [[493, 162, 529, 233], [262, 219, 297, 310], [630, 237, 668, 330]],
    3: [[613, 238, 647, 326], [491, 162, 519, 233], [275, 208, 317, 299]],
    4: [[490, 162, 519, 234], [599, 239, 639, 327], [281, 210, 319, 296]],
}
PERSON_JPG_EXPECTED = [182, 88, 270, 380]   # the teacher's box (score 0.99)
MIN_IOU, MIN_SCORE = 0.5, 0.5


def need(path):
    if not os.path.exists(path):
        if "BNN_DETECT" in os.environ:
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} is not installed")


def detect(*inputs, score=None, max_frames=None):
    need(BNN_DETECT)
    need(MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "det.json")
        cmd = [BNN_DETECT, "--model", MODEL, "--json", out, *inputs]
        if score is not None:
            cmd += ["--score", str(score)]
        if max_frames is not None:
            cmd += ["--max-frames", str(max_frames)]
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENCV_FOR_THREADS_NUM="1")
        subprocess.run(cmd, check=True, env=env, timeout=60)
        with open(out) as f:
            return json.load(f)


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def vtest():
    need(VTEST)
    return detect(VTEST, max_frames=FRAMES)


def check_boxes(result):
    for d in result["detections"]:
        x0, y0, x1, y1 = d["box"]
        assert 0 <= x0 < x1 <= result["width"] and 0 <= y0 < y1 <= result["height"], d
        assert 0 <= d["score"] <= 1, d
        assert (d["label"], d["class"]) in (("person", 0), ("raccoon", 1)), d


def test_vtest_people(vtest):
    results = vtest["results"]
    assert [r["frame"] for r in results] == list(range(FRAMES))
    for r in results:
        assert (r["width"], r["height"]) == (768, 576)
        check_boxes(r)
        people = [d for d in r["detections"] if d["label"] == "person"]
        for want in EXPECTED[r["frame"]]:
            best = max(people, key=lambda d: iou(d["box"], want), default=None)
            assert best is not None and iou(best["box"], want) >= MIN_IOU and best["score"] >= MIN_SCORE, \
                f"frame {r['frame']}: no person box matches {want} (best {best})"
        assert not [d for d in r["detections"] if d["label"] == "raccoon"], r


@pytest.mark.xfail(strict=True, reason="known weakness: no large people in the training data "
                                       "(docs/object-detection.md)")
def test_person_jpg():
    need(PERSON_JPG)
    r = detect(PERSON_JPG, score=0.25)["results"][0]
    check_boxes(r)
    assert any(d["label"] == "person" and iou(d["box"], PERSON_JPG_EXPECTED) >= MIN_IOU
               for d in r["detections"]), r["detections"]


def test_person_jpg_boxes_valid():
    need(PERSON_JPG)
    r = detect(PERSON_JPG, score=0.01)["results"][0]
    assert (r["width"], r["height"]) == (640, 424)
    assert r["detections"]
    check_boxes(r)

