#!/usr/bin/python3
"""bnn-detect end to end with a detector whose answer is known: a strided
convolution that scores a cell by how red it is (objectness), converted by
bnn-convert with YOLO metadata. Checks the JSON boxes on an image, a folder
and a video, the annotated output's pixels, and every bad input.

usage: detect_test.py BNN_CONVERT BNN_DETECT
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import cv2
import numpy as np
from red_detector import ANCHOR, LANDMARKS, SIZE, STRIDE, red_detector  # tests/apps/red_detector.py

CONVERT = DETECT = None


def scene(cell_x, cell_y, scale=2):
    """A dark image (SIZE * scale square) with one red model cell."""
    img = np.full((SIZE * scale, SIZE * scale, 3), 30, np.uint8)
    s = STRIDE * scale
    img[cell_y * s:(cell_y + 1) * s, cell_x * s:(cell_x + 1) * s] = (0, 0, 255)  # BGR red
    return img


def expected_box(cell_x, cell_y, scale=2):
    cx, cy = (cell_x + 0.5) * STRIDE * scale, (cell_y + 0.5) * STRIDE * scale
    w, h = ANCHOR[0] * scale, ANCHOR[1] * scale
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


class Detect(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        onnx_path, cls.model = os.path.join(d, "red.onnx"), os.path.join(d, "red.bnn")
        red_detector(onnx_path)
        labels = os.path.join(d, "labels.txt")
        with open(labels, "w") as f:
            f.write("red\nblue\n")
        p = subprocess.run([CONVERT, onnx_path, "-o", cls.model, "--task", "detector", "--decoding", "yolo",
                            "--anchors", "%dx%d" % ANCHOR, "--strides", str(STRIDE), "--labels", labels,
                            "--mean", "0,0,0", "--std", "1,1,1", "--score-threshold", "0.5"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        # A classifier, for the wrong-kind test.
        cls.classifier = os.path.join(d, "cls.bnn")
        p = subprocess.run([CONVERT, onnx_path, "-o", cls.classifier, "--task", "classifier"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def run_detect(self, *args):
        return subprocess.run([DETECT, "--model", self.model] + [str(a) for a in args], capture_output=True,
                              text=True, timeout=120)

    def assertBox(self, det, want):
        self.assertEqual(det["label"], "red")
        self.assertGreater(det["score"], 0.9)
        for got, exp in zip(det["box"], want):
            self.assertAlmostEqual(got, exp, delta=0.6)

    def test_image_and_annotation(self):
        d = self.dir.name
        img = os.path.join(d, "one.png")
        cv2.imwrite(img, scene(3, 5))
        ann = os.path.join(d, "annotated")
        p = self.run_detect(img, "--annotate", ann)
        self.assertEqual(p.returncode, 0, p.stderr)
        result = json.loads(p.stdout)["results"][0]
        self.assertEqual((result["width"], result["height"]), (128, 128))
        self.assertEqual(len(result["detections"]), 1)
        self.assertBox(result["detections"][0], expected_box(3, 5))
        drawn = cv2.imread(os.path.join(ann, "one.png"))
        x0, y0, x1, y1 = [int(round(v)) for v in expected_box(3, 5)]
        # The rectangle's edge is drawn; the background far from it is not.
        self.assertGreater(int(np.abs(drawn[(y0 + y1) // 2, x0].astype(int) - 30).max()), 60)
        self.assertTrue((drawn[5, 5] == 30).all())

    def test_landmarks(self):
        """A detector with landmarks (--decoding yolo-landmarks): each detection's points in the
        JSON, scaled to the image like the box, and drawn by --annotate (the first one red)."""
        d = self.dir.name
        onnx_path, model = os.path.join(d, "red-lm.onnx"), os.path.join(d, "red-lm.bnn")
        red_detector(onnx_path, landmarks=True)
        base = [CONVERT, onnx_path, "-o", model, "--task", "detector", "--anchors", "%dx%d" % ANCHOR,
                "--strides", str(STRIDE), "--mean", "0,0,0", "--std", "1,1,1", "--score-threshold", "0.5",
                "--labels", os.path.join(d, "labels.txt")]
        for extra, message in ((["--decoding", "yolo", "--landmarks", "2"], "--landmarks needs --decoding yolo-landmarks"),
                               (["--decoding", "yolo-landmarks"], "needs --landmarks"),
                               (["--decoding", "yolo-landmarks", "--landmarks", "0"], "--landmarks needs a number")):
            p = subprocess.run(base + extra, capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(message, p.stderr)
        p = subprocess.run(base + ["--decoding", "yolo-landmarks", "--landmarks", str(len(LANDMARKS))],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        img = os.path.join(d, "lm.png")
        cv2.imwrite(img, scene(3, 5))
        ann = os.path.join(d, "annotated-lm")
        p = subprocess.run([DETECT, "--model", model, img, "--annotate", ann], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        dets = json.loads(p.stdout)["results"][0]["detections"]
        self.assertEqual(len(dets), 1)
        self.assertBox(dets[0], expected_box(3, 5))
        cx, cy = (3 + 0.5) * STRIDE * 2, (5 + 0.5) * STRIDE * 2
        want = [[cx + fx * ANCHOR[0] * 2, cy + fy * ANCHOR[1] * 2] for fx, fy in LANDMARKS]
        self.assertEqual(len(dets[0]["landmarks"]), len(LANDMARKS))
        for got, exp in zip(dets[0]["landmarks"], want):
            self.assertAlmostEqual(got[0], exp[0], delta=0.1)
            self.assertAlmostEqual(got[1], exp[1], delta=0.1)
        drawn = cv2.imread(os.path.join(ann, "lm.png")).astype(int)
        x, y = [int(round(v)) for v in want[0]]
        self.assertTrue(drawn[y, x, 2] > 200 and drawn[y, x, 0] < 60 and drawn[y, x, 1] < 60, drawn[y, x])
        # The plain model has no landmarks member.
        p = self.run_detect(img)
        self.assertNotIn("landmarks", json.loads(p.stdout)["results"][0]["detections"][0])

    def test_pixel_input_models(self):
        """The same detector converted to take camera pixels (--input-u8): bgr
        frames of the model's size go to the runtime as they are, other sizes
        and formats through a resize; the boxes are the float model's."""
        d = self.dir.name
        onnx_path = os.path.join(d, "red.onnx")
        img = os.path.join(d, "small.png")
        cv2.imwrite(img, scene(2, 6, scale=1))  # exactly the model's 64 x 64
        big = os.path.join(d, "big.png")
        cv2.imwrite(big, scene(5, 1))
        for fmt in ("bgr", "rgb", "bgra"):
            model = os.path.join(d, f"red-{fmt}.bnn")
            p = subprocess.run([CONVERT, onnx_path, "-o", model, "--task", "detector", "--decoding", "yolo",
                                "--anchors", "%dx%d" % ANCHOR, "--strides", str(STRIDE), "--labels",
                                os.path.join(d, "labels.txt"), "--mean", "0,0,0", "--std", "1,1,1",
                                "--score-threshold", "0.5", "--input-u8", fmt], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            p = subprocess.run([DETECT, "--model", model, img, big], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            results = json.loads(p.stdout)["results"]
            self.assertEqual(len(results[0]["detections"]), 1, fmt)
            self.assertBox(results[0]["detections"][0], expected_box(2, 6, scale=1))
            self.assertEqual(len(results[1]["detections"]), 1, fmt)
            self.assertBox(results[1]["detections"][0], expected_box(5, 1))

    def test_folder_and_json_file(self):
        d = os.path.join(self.dir.name, "folder")
        os.makedirs(d, exist_ok=True)
        cv2.imwrite(os.path.join(d, "a.jpg"), scene(1, 1))
        cv2.imwrite(os.path.join(d, "b.png"), scene(6, 2))
        out = os.path.join(self.dir.name, "dets.json")
        p = self.run_detect(d, "--json", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            results = json.load(f)["results"]
        self.assertEqual([os.path.basename(r["source"]) for r in results], ["a.jpg", "b.png"])
        self.assertBox(results[0]["detections"][0], expected_box(1, 1))
        self.assertBox(results[1]["detections"][0], expected_box(6, 2))

    def test_video(self):
        path = os.path.join(self.dir.name, "moving.avi")
        w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (128, 128))
        self.assertTrue(w.isOpened())
        for k in range(4):
            w.write(scene(k + 2, 4))
        w.release()
        out = os.path.join(self.dir.name, "annotated.avi")
        p = self.run_detect(path, "--max-frames", 3, "--annotate", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        results = json.loads(p.stdout)["results"]
        self.assertEqual([r["frame"] for r in results], [0, 1, 2])
        for k, r in enumerate(results):
            self.assertEqual(len(r["detections"]), 1)
            self.assertBox(r["detections"][0], expected_box(k + 2, 4))
        cap = cv2.VideoCapture(out)
        self.assertEqual(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 3)

    def test_bad_inputs(self):
        d = self.dir.name
        fake = os.path.join(d, "fake.jpg")
        with open(fake, "w") as f:
            f.write("not an image")
        p = self.run_detect(fake)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read image", p.stderr)
        empty = os.path.join(d, "empty")
        os.makedirs(empty, exist_ok=True)
        p = self.run_detect(empty)
        self.assertEqual(p.returncode, 1)
        self.assertIn("holds no images", p.stderr)
        p = subprocess.run([DETECT, "--model", self.classifier, fake], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a detector", p.stderr)
        p = subprocess.run([DETECT, "--model", fake, fake], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("bnn-detect: "), p.stderr)
        p = self.run_detect(os.path.join(d, "missing.avi"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot open video", p.stderr)
        self.assertEqual(subprocess.run([DETECT], capture_output=True).returncode, 2)


if __name__ == "__main__":
    CONVERT, DETECT = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
