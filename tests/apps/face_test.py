#!/usr/bin/python3
"""bnn-face end to end with models whose answers are known: an "embedder"
that maps an image's mean colour to a vector (so a person is a colour), and
the red-cell detector of detect_test.py. Checks enroll, identify (with and
without a detector, with "unknown"), verify, and that bad input (unreadable
images, empty folders, damaged galleries, wrong model kinds) fails cleanly
without touching an existing gallery.

usage: face_test.py BNN_CONVERT BNN_FACE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detect_test  # noqa: E402  (the red-cell detector)

CONVERT = FACE = None
RED, GREEN, BLUE = (0, 0, 255), (0, 255, 0), (255, 0, 0)  # BGR


def colour_embedder(path):
    """[1,3,16,16] -> global average -> [1,3] -> Gemm -> [1,8]: the mean RGB
    (normalised to [-1, 1]) in the first three values."""
    w = np.zeros((8, 3), np.float32)
    w[:3, :3] = np.eye(3)
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "w"], ["e"], transB=1)]
    g = helper.make_graph(nodes, "colour", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                          [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def image(path, colour, size=40, noise=0):
    img = np.zeros((size, size, 3), np.uint8)
    img[:] = colour
    if noise:
        img = np.clip(img.astype(int) + np.random.default_rng(len(path)).integers(-noise, noise, img.shape), 0, 255)
    cv2.imwrite(path, img.astype(np.uint8))


class Face(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.tmp = self.dir.name
        colour_embedder(os.path.join(d, "e.onnx"))
        self.embedder = os.path.join(d, "e.bnn")
        self.run_ok([CONVERT, os.path.join(d, "e.onnx"), "-o", self.embedder, "--task", "embedder",
                     "--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5"])
        detect_test.red_detector(os.path.join(d, "d.onnx"))
        self.detector = os.path.join(d, "d.bnn")
        self.run_ok([CONVERT, os.path.join(d, "d.onnx"), "-o", self.detector, "--task", "detector",
                     "--decoding", "yolo", "--anchors", "16x24", "--strides", "8", "--mean", "0,0,0", "--std", "1,1,1",
                     "--score-threshold", "0.5"])
        self.people = os.path.join(d, "people")
        for name, colour in (("alice", RED), ("bob", GREEN)):
            os.makedirs(os.path.join(self.people, name))
            for k in range(3):
                image(os.path.join(self.people, name, "%d.png" % k), colour, noise=20)
        self.gallery = os.path.join(d, "g.gallery")

    def tearDown(self):
        self.dir.cleanup()

    def run_ok(self, args):
        p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def face(self, *args):
        return subprocess.run([FACE] + [str(a) for a in args], capture_output=True, text=True, timeout=120)

    def enroll(self, folder=None):
        return self.face("enroll", "--embedder", self.embedder, "--gallery", self.gallery, folder or self.people)

    def test_enroll_identify_verify(self):
        p = self.enroll()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("2 people", p.stdout)
        probes = os.path.join(self.tmp, "probes")
        os.makedirs(probes)
        image(os.path.join(probes, "1_reddish.png"), (40, 30, 230))
        image(os.path.join(probes, "2_blue.png"), BLUE)
        p = self.face("identify", "--embedder", self.embedder, "--gallery", self.gallery, probes)
        self.assertEqual(p.returncode, 0, p.stderr)
        faces = [r["faces"][0] for r in json.loads(p.stdout)["results"]]
        self.assertEqual([(f["name"], f["known"]) for f in faces], [("alice", True), ("unknown", False)])
        self.assertGreater(faces[0]["similarity"], 0.9)
        self.assertLess(faces[1]["similarity"], 0.5)
        a, b = os.path.join(self.people, "alice", "0.png"), os.path.join(self.people, "bob", "0.png")
        same = json.loads(self.face("verify", "--embedder", self.embedder, a,
                                    os.path.join(self.people, "alice", "1.png")).stdout)
        diff = json.loads(self.face("verify", "--embedder", self.embedder, a, b).stdout)
        self.assertTrue(same["same_person"])
        self.assertFalse(diff["same_person"])
        self.assertLess(diff["similarity"], same["similarity"])

    def test_threshold_is_the_models_unless_given(self):
        # The embedder's calibrated threshold (bnn-convert --match-threshold)
        # is the default; --threshold overrides it; 0.5 for a model without one.
        strict = os.path.join(self.tmp, "strict.bnn")
        self.run_ok([CONVERT, os.path.join(self.tmp, "e.onnx"), "-o", strict, "--task", "embedder",
                     "--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5", "--match-threshold", "0.999"])
        a, b = os.path.join(self.people, "alice", "0.png"), os.path.join(self.tmp, "reddish.png")
        image(b, (40, 30, 230))

        def verify(model, *extra):
            p = self.face("verify", "--embedder", model, *extra, a, b)
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout)
        plain, calibrated, given = verify(self.embedder), verify(strict), verify(strict, "--threshold", "0.5")
        self.assertEqual(plain["threshold"], 0.5)
        self.assertEqual(calibrated["threshold"], 0.999)
        self.assertEqual(given["threshold"], 0.5)
        # Red and reddish: alike, but not 0.999 alike.
        self.assertGreater(plain["similarity"], 0.9)
        self.assertLess(plain["similarity"], 0.999)
        self.assertEqual(calibrated["similarity"], plain["similarity"])
        self.assertEqual((plain["same_person"], calibrated["same_person"], given["same_person"]), (True, False, True))

    def test_identify_with_a_detector(self):
        self.assertEqual(self.enroll().returncode, 0)
        scene = os.path.join(self.tmp, "scene.png")
        # One red "face" (the detector's red cell) on a dark red background
        # (too dark to be detected), so that the margin around the crop is
        # reddish too and the face reads as alice.
        img = detect_test.scene(3, 5)
        img[(img == 30).all(axis=2)] = (0, 0, 100)
        cv2.imwrite(scene, img)
        p = self.face("identify", "--embedder", self.embedder, "--detector", self.detector, "--gallery",
                      self.gallery, scene)
        self.assertEqual(p.returncode, 0, p.stderr)
        faces = json.loads(p.stdout)["results"][0]["faces"]
        self.assertEqual(len(faces), 1)
        self.assertEqual(faces[0]["name"], "alice")
        for got, want in zip(faces[0]["box"], detect_test.expected_box(3, 5)):
            self.assertAlmostEqual(got, want, delta=0.6)

    def test_reenroll_replaces_and_keeps(self):
        self.assertEqual(self.enroll().returncode, 0)
        more = os.path.join(self.tmp, "more")
        os.makedirs(os.path.join(more, "carol"))
        image(os.path.join(more, "carol", "0.png"), BLUE)
        p = self.enroll(more)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("3 people", p.stdout)

    def test_bad_input_never_touches_the_gallery(self):
        self.assertEqual(self.enroll().returncode, 0)
        with open(self.gallery, "rb") as f:
            before = f.read()
        bad = os.path.join(self.tmp, "bad")
        os.makedirs(os.path.join(bad, "dave"))
        with open(os.path.join(bad, "dave", "0.jpg"), "w") as f:
            f.write("not an image")
        p = self.enroll(bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read image", p.stderr)
        os.makedirs(os.path.join(self.tmp, "empty"))
        p = self.enroll(os.path.join(self.tmp, "empty"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("no person sub-folders", p.stderr)
        os.makedirs(os.path.join(self.tmp, "nobody", "erin"))
        p = self.enroll(os.path.join(self.tmp, "nobody"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("holds no images", p.stderr)
        with open(self.gallery, "rb") as f:
            self.assertEqual(f.read(), before)
        # A damaged gallery: identify and enroll refuse it, and enroll leaves it be.
        with open(self.gallery, "r+b") as f:
            f.seek(30)
            f.write(b"\xff")
        with open(self.gallery, "rb") as f:
            damaged = f.read()
        probe = os.path.join(self.people, "alice", "0.png")
        p = self.face("identify", "--embedder", self.embedder, "--gallery", self.gallery, probe)
        self.assertEqual(p.returncode, 1)
        self.assertIn("damaged", p.stderr)
        p = self.enroll()
        self.assertEqual(p.returncode, 1)
        self.assertIn("--new", p.stderr)
        with open(self.gallery, "rb") as f:
            self.assertEqual(f.read(), damaged)

    def test_wrong_model_kinds_and_usage(self):
        p = self.face("enroll", "--embedder", self.detector, "--gallery", self.gallery, self.people)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not an embedder", p.stderr)
        p = self.face("enroll", "--embedder", self.embedder, "--detector", self.embedder, "--gallery", self.gallery,
                      self.people)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a detector", p.stderr)
        self.assertEqual(self.face("fly").returncode, 1)
        self.assertEqual(self.face("verify", "--embedder", self.embedder, "a.png").returncode, 1)
        self.assertEqual(subprocess.run([FACE], capture_output=True).returncode, 2)
        self.assertFalse(os.path.exists(self.gallery))


if __name__ == "__main__":
    CONVERT, FACE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
