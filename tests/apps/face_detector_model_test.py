"""The shipped face detector, models/facedet/face-detector.bnn, through bnn-detect.

  - the model's metadata: task detector, name face-detector, one label `face`,
    input 1 x 240 x 320 x 3 (NHWC as the runtime stores it), YOLO decoding
    with five landmarks per face;
  - on grace_hopper_512x512.jpg (Debian package facedetect; kept out of
    training) bnn-detect finds a face where the float teacher UltraFace does,
    with its five landmarks near YuNet's;
  - on messi5.jpg and the first frames of Megamind.avi (opencv-doc) it finds
    the face the teachers find (no regression on the demo's sample video);
  - on face-free synthetic images (plain grey, a smooth gradient) it finds no
    face above the score threshold.

Environment: BNN_DETECT (default build/apps/bnn-detect), BNN_LIB (default
build/bnn/libbnn.so). With BNN_DETECT set, a missing binary, library or model
fails instead of skipping. Needs only Debian packages (facedetect), no
../shared data.
"""
import ctypes
import json
import os
import subprocess
import tempfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "facedet", "face-detector.bnn")
BNN_DETECT = os.environ.get("BNN_DETECT", os.path.join(ROOT, "build", "apps", "bnn-detect"))
BNN_LIB = os.environ.get("BNN_LIB", os.path.join(ROOT, "build", "bnn", "libbnn.so"))
GRACE = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"   # dpkg -L facedetect
MESSI = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"
MEGAMIND = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"

# UltraFace (teachers/version-RFB-320.onnx via models/facedet/teachers.py, score
# 1.00) on GRACE, in image pixels: x0, y0, x1, y1. YuNet gives [172, 94, 353, 319].
GRACE_EXPECTED = [169.4, 111.6, 360.6, 318.5]
MIN_IOU = 0.5
# YuNet's five points on GRACE (teachers.py; the eye on the image's left first), and how far
# ours may be from each, as a fraction of YuNet's eye distance (86 px)
GRACE_LANDMARKS = [(221.1, 172.3), (307.1, 174.9), (263.2, 223.7), (224.0, 259.4), (298.5, 262.4)]
MAX_LANDMARK_ERROR = 0.2
# messi5.jpg: UltraFace's box (YuNet: [223.7, 93.9, 260.0, 131.5]); the only face there
MESSI_EXPECTED = [226.3, 91.8, 256.9, 131.6]
# Megamind.avi: UltraFace finds the face in 59 of the first 60 frames
MEGAMIND_FRAMES, MEGAMIND_MIN_FOUND = 60, 54
# Measured with the shipped model (third training run, see docs/face-detection.md):
# the face on GRACE scores 0.999 at [168.8, 98.6, 364.0, 342.9] (IoU 0.83 with
# GRACE_EXPECTED); the face-free images give no box at all even at --score 0.01.
# 0.5 is half the measured score (the first, short run gave 0.277 and the floor
# was 0.25, the model's default score threshold). Raise it when the model improves.
MIN_SCORE = 0.5        # the face on GRACE must score at least this
NO_FACE_SCORE = 0.05   # face-free images: nothing at or above this


def need(path):
    if not os.path.exists(path):
        if "BNN_DETECT" in os.environ:
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} is not installed")


def detect(*inputs, score=None):
    need(BNN_DETECT)
    need(MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "det.json")
        cmd = [BNN_DETECT, "--model", MODEL, "--json", out, *inputs]
        if score is not None:
            cmd += ["--score", str(score)]
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


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int),
                ("dims", ctypes.c_int32 * 6), ("bytes", ctypes.c_size_t), ("scale", ctypes.c_float),
                ("zero_point", ctypes.c_int32)]


def test_model_metadata():
    need(BNN_LIB)
    need(MODEL)
    lib = ctypes.CDLL(BNN_LIB)
    lib.bnn_last_load_error.restype = ctypes.c_char_p
    lib.bnn_model_name.restype = ctypes.c_char_p
    lib.bnn_model_label.restype = ctypes.c_char_p
    lib.bnn_model_detector_decoding.restype = ctypes.c_char_p
    model = ctypes.c_void_p()
    assert lib.bnn_model_load_file(MODEL.encode(), ctypes.byref(model)) == 0, lib.bnn_last_load_error()
    try:
        assert lib.bnn_model_task(model) == 2                      # BNN_TASK_DETECTOR
        assert lib.bnn_model_name(model) == b"face-detector"
        assert lib.bnn_model_label_count(model) == 1 and lib.bnn_model_label(model, 0) == b"face"
        assert lib.bnn_model_detector_decoding(model) == b"yolo-landmarks"
        assert lib.bnn_model_detector_landmarks(model) == 5
        assert lib.bnn_model_input_count(model) == 1
        info = TensorInfo()
        assert lib.bnn_model_input_info(model, 0, ctypes.byref(info)) == 0
        assert list(info.dims[:info.rank]) == [1, 240, 320, 3]     # NHWC: H 240, W 320
    finally:
        lib.bnn_model_free(model)


def test_grace_hopper_face():
    need(GRACE)
    res = detect(GRACE)["results"][0]
    faces = [d for d in res["detections"] if d["label"] == "face"]
    assert faces, res
    best = max(faces, key=lambda d: iou(d["box"], GRACE_EXPECTED))
    assert iou(best["box"], GRACE_EXPECTED) >= MIN_IOU, (best, GRACE_EXPECTED)
    assert best["score"] >= MIN_SCORE, best
    marks = best["landmarks"]
    assert len(marks) == 5, best
    eyes = np.hypot(GRACE_LANDMARKS[1][0] - GRACE_LANDMARKS[0][0], GRACE_LANDMARKS[1][1] - GRACE_LANDMARKS[0][1])
    for got, want in zip(marks, GRACE_LANDMARKS):
        assert np.hypot(got[0] - want[0], got[1] - want[1]) <= MAX_LANDMARK_ERROR * eyes, (marks, GRACE_LANDMARKS)
    for d in res["detections"]:
        x0, y0, x1, y1 = d["box"]
        assert 0 <= x0 < x1 <= res["width"] and 0 <= y0 < y1 <= res["height"], d


def test_no_face_on_face_free_images():
    import cv2
    with tempfile.TemporaryDirectory() as tmp:
        grey = np.full((240, 320, 3), 128, np.uint8)
        ramp = np.repeat(np.repeat(np.linspace(0, 255, 320, dtype=np.float32)[None, :, None], 240, 0), 3, 2)
        ramp[..., 0] = ramp[..., 0][:, ::-1]
        paths = []
        for name, img in (("grey.png", grey), ("ramp.png", ramp.astype(np.uint8))):
            paths.append(os.path.join(tmp, name))
            cv2.imwrite(paths[-1], img)
        res = detect(*paths, score=NO_FACE_SCORE)
    for r in res["results"]:
        assert not r["detections"], r


def test_messi5_face():
    need(MESSI)
    res = detect(MESSI)["results"][0]
    assert any(iou(d["box"], MESSI_EXPECTED) >= MIN_IOU and d["score"] >= 0.25 for d in res["detections"]), res


def test_megamind_faces():
    need(MEGAMIND)
    res = detect(MEGAMIND, "--max-frames", str(MEGAMIND_FRAMES))["results"]
    assert len(res) == MEGAMIND_FRAMES
    found = sum(1 for r in res if any(d["score"] >= 0.25 for d in r["detections"]))
    assert found >= MEGAMIND_MIN_FOUND, found
