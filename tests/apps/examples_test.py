#!/usr/bin/python3
"""The camera examples (apps/examples) built the way a user builds them,
outside the source tree, against the installed library:

  - `meson install` into a staging folder; the examples' Makefile, run on a
    copy of the folder, finds bnn only through pkg-config (bnn.pc) and the
    installed headers;
  - the C example on raw BGR frames and the C++ example on a video, with the
    shipped detector as installed (share/bnn/models): people in vtest.avi;
  - both with a detector converted to take BGR pixels (--input-u8 bgr):
    frames of its size go in without a copy and the box is where it should be;
  - the same folder as a Meson project with bnn as a subproject.

usage: examples_test.py BUILD_DIR PREFIX LIBDIR BNN_CONVERT SOURCE_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import cv2
import numpy as np
from red_detector import ANCHOR, SIZE, STRIDE, red_detector  # tests/apps/red_detector.py

BUILD = PREFIX = LIBDIR = CONVERT = SOURCE = None
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def red_frame(cx, cy):
    img = np.full((SIZE, SIZE, 3), 30, np.uint8)
    img[cy * STRIDE:(cy + 1) * STRIDE, cx * STRIDE:(cx + 1) * STRIDE] = (0, 0, 255)
    return img


def boxes(stdout):
    """{frame: [(label, score, [x0, y0, x1, y1])]} from the examples' output."""
    frames, current = {}, None
    for line in stdout.splitlines():
        if line.startswith("frame "):
            current = int(line.split()[1].rstrip(":"))
            frames[current] = []
        elif line.startswith("  ") and current is not None:
            label, score, rest = line.split(None, 2)
            frames[current].append((label, float(score), [float(v) for v in rest.strip("[]").split()]))
    return frames


class Examples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        stage = os.path.join(d, "stage")
        p = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", stage, "--no-rebuild", "--quiet"],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        cls.prefix = stage + PREFIX
        cls.libdir = os.path.join(cls.prefix, LIBDIR)
        pc_dir = os.path.join(cls.libdir, "pkgconfig")
        # A staged install is a relocated one: point bnn.pc's prefix at it.
        pc = os.path.join(pc_dir, "bnn.pc")
        with open(pc) as f:
            text = f.read()
        assert f"prefix={PREFIX}\n" in text, text
        with open(pc, "w") as f:
            f.write(text.replace(f"prefix={PREFIX}\n", f"prefix={cls.prefix}\n", 1))
        cls.env = dict(os.environ, PKG_CONFIG_PATH=pc_dir, LD_LIBRARY_PATH=cls.libdir)
        # The examples folder, copied out of the source tree, built by its Makefile.
        cls.examples = os.path.join(d, "examples")
        shutil.copytree(os.path.join(SOURCE, "apps", "examples"), cls.examples)
        cls.bin = os.path.join(d, "bin")
        os.makedirs(cls.bin)
        p = subprocess.run(["make", "-C", cls.examples, "OUT=" + cls.bin], capture_output=True, text=True,
                           env=cls.env, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        # A detector that takes BGR pixels, and raw frames for it.
        red_detector(os.path.join(d, "red.onnx"))
        cls.red = os.path.join(d, "red.bnn")
        labels = os.path.join(d, "labels.txt")
        with open(labels, "w") as f:
            f.write("red\nblue\n")
        p = subprocess.run([CONVERT, os.path.join(d, "red.onnx"), "-o", cls.red, "--task", "detector", "--decoding",
                            "yolo", "--anchors", "%dx%d" % ANCHOR, "--strides", str(STRIDE), "--score-threshold",
                            "0.5", "--input-u8", "bgr", "--name", "red", "--labels", labels],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        cls.red_cells = [(2, 6), (5, 1), (7, 7)]
        cls.red_raw = os.path.join(d, "red.bgr")
        with open(cls.red_raw, "wb") as f:
            for cx, cy in cls.red_cells:
                f.write(red_frame(cx, cy).tobytes())
        cls.red_video = os.path.join(d, "red.avi")
        w = cv2.VideoWriter(cls.red_video, cv2.VideoWriter_fourcc(*"FFV1"), 5, (SIZE, SIZE))  # lossless
        for cx, cy in cls.red_cells:
            w.write(red_frame(cx, cy))
        w.release()
        # Three frames of vtest.avi as raw BGR.
        cls.street_raw = os.path.join(d, "street.bgr")
        cap = cv2.VideoCapture(VTEST)
        with open(cls.street_raw, "wb") as f:
            for _ in range(3):
                ok, frame = cap.read()
                assert ok
                f.write(frame.tobytes())
        cls.detector = os.path.join(cls.prefix, "share", "bnn", "models", "detect", "detector.bnn")

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def run_example(self, *args):
        p = subprocess.run([os.path.join(self.bin, args[0]), *map(str, args[1:])], capture_output=True, text=True,
                           env=self.env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def assertRedBoxes(self, frames):
        self.assertEqual(sorted(frames), [0, 1, 2])
        for k, (cx, cy) in enumerate(self.red_cells):
            self.assertEqual(len(frames[k]), 1, frames[k])
            _, score, box = frames[k][0]
            self.assertGreater(score, 0.9)
            want = [(cx + 0.5) * STRIDE - ANCHOR[0] / 2, (cy + 0.5) * STRIDE - ANCHOR[1] / 2,
                    (cx + 0.5) * STRIDE + ANCHOR[0] / 2, (cy + 0.5) * STRIDE + ANCHOR[1] / 2]
            for g, e in zip(box, want):
                self.assertAlmostEqual(g, e, delta=0.6)

    def assertPeople(self, frames):
        self.assertEqual(sorted(frames), [0, 1, 2])
        for k in frames:
            people = [b for b in frames[k] if b[0] == "person" and b[1] >= 0.5]
            self.assertGreaterEqual(len(people), 2, frames[k])
            for _, _, (x0, y0, x1, y1) in people:
                self.assertTrue(0 <= x0 < x1 <= 768 and 0 <= y0 < y1 <= 576)

    def test_built_only_from_the_install(self):
        pc = subprocess.run(["pkg-config", "--cflags", "--libs", "bnn"], capture_output=True, text=True,
                            env=self.env).stdout
        self.assertIn(self.prefix, pc)
        self.assertNotIn(SOURCE, pc)
        for f in ("bnn.h", "bnn.hpp"):
            self.assertTrue(os.path.exists(os.path.join(self.prefix, "include", "bnn", f)))
        ldd = subprocess.run(["ldd", os.path.join(self.bin, "camera-c")], capture_output=True, text=True,
                             env=self.env).stdout
        self.assertIn(os.path.join(self.libdir, "libbnn.so"), ldd)

    def test_c_example_raw_frames(self):
        out = self.run_example("camera-c", self.detector, self.street_raw, 768, 576)
        self.assertIn("frames are resized into the input", out)
        self.assertPeople(boxes(out))
        out = self.run_example("camera-c", self.red, self.red_raw, SIZE, SIZE)
        self.assertIn("frames go in without a copy", out)
        self.assertRedBoxes(boxes(out))

    def test_c_example_bad_input(self):
        p = subprocess.run([os.path.join(self.bin, "camera-c"), self.red, self.red_raw, "63", "64"], capture_output=True,
                           text=True, env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("ends inside a frame", p.stderr)
        p = subprocess.run([os.path.join(self.bin, "camera-c"), self.red_raw, self.red_raw, "64", "64"],
                           capture_output=True, text=True, env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("camera: "), p.stderr)

    def test_cpp_example_video(self):
        out = self.run_example("camera-cpp", self.detector, VTEST, 3)
        self.assertNotIn("zero copy", out)
        self.assertPeople(boxes(out))
        out = self.run_example("camera-cpp", self.red, self.red_video)
        self.assertEqual(out.count("(zero copy)"), 3)
        self.assertRedBoxes(boxes(out))
        p = subprocess.run([os.path.join(self.bin, "camera-cpp"), self.red, "7"], capture_output=True, text=True,
                           env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no camera", p.stderr)

    def test_meson_subproject(self):
        proj = os.path.join(self.dir.name, "subproject-app")
        shutil.copytree(self.examples, proj)
        os.makedirs(os.path.join(proj, "subprojects"))
        os.symlink(SOURCE, os.path.join(proj, "subprojects", "bnn"))
        env = dict(os.environ)
        env.pop("PKG_CONFIG_PATH", None)
        build = os.path.join(proj, "build")
        p = subprocess.run(["meson", "setup", build, proj, "--force-fallback-for=bnn"], capture_output=True,
                           text=True, env=env, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = subprocess.run(["ninja", "-C", build, "camera-c"], capture_output=True, text=True, env=env, timeout=1200)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr)
        p = subprocess.run([os.path.join(build, "camera-c"), self.red, self.red_raw, str(SIZE), str(SIZE)], capture_output=True,
                           text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRedBoxes(boxes(p.stdout))


if __name__ == "__main__":
    BUILD, PREFIX, LIBDIR, CONVERT, SOURCE = sys.argv[1:6]
    unittest.main(argv=sys.argv[:1], verbosity=2)
