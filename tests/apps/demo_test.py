#!/usr/bin/python3
"""bnn-demo end to end with the shipped models, on media from Debian packages
(opencv-doc's vtest.avi and Megamind.avi, facedetect's grace_hopper).

  - headless on a sample video: a JSON line per frame with people in every
    frame, an annotated video with every frame, or an image sequence;
  - the built-in default: the sample gallery is enrolled, the woman of
    Megamind.avi is named in her frames and the man who follows is not;
  - bad input: a missing camera, an unreadable file, a damaged gallery (left
    unchanged), a model of the wrong kind, bad options;
  - windowed under Xvfb: screenshots of the real window show the object
    boxes and the stats panel (pixels); keys pause, enroll a typed name (the
    face's box turns from red "unknown" to green, and the gallery file holds
    the name) and quit.

usage: demo_test.py BNN_DEMO
Needs xvfb, xdotool and x11-apps (xwd) for the windowed part.
"""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import cv2
import numpy as np

DEMO = None
SAMPLES = "/usr/share/doc/opencv-doc/examples/data"
VTEST = os.path.join(SAMPLES, "vtest.avi")
MEGAMIND = os.path.join(SAMPLES, "Megamind.avi")
GRACE = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"

# apps/vision/overlay.h's colours (BGR).
PERSON_COLOR = (255, 128, 0)   # ClassColor(0)
KNOWN_FACE = (0, 255, 0)
UNKNOWN_FACE = (0, 0, 255)


def run(*args, **kw):
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.update(kw.pop("env", {}))
    return subprocess.run([DEMO, *map(str, args)], capture_output=True, text=True, env=env, timeout=300, **kw)


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]  # complete lines only


def color_pixels(img, bgr, tol=12):
    return int((np.abs(img.astype(int) - np.array(bgr)).max(axis=2) <= tol).sum())


class Headless(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.dir.name, "out")

    def tearDown(self):
        self.dir.cleanup()

    def test_video_detections_per_frame(self):
        p = run(VTEST, "--headless", "--out", self.out, "--max-frames", 40, "--no-faces")
        self.assertEqual(p.returncode, 0, p.stderr)
        frames = jsonl(os.path.join(self.out, "vtest.jsonl"))
        self.assertEqual([f["frame"] for f in frames], list(range(40)))
        for f in frames:
            self.assertEqual((f["width"], f["height"]), (768, 576))
            people = [o for o in f["objects"] if o["label"] == "person" and o["score"] >= 0.5]
            # The shipped detector finds 2-8 of the walkers in each of these frames.
            self.assertGreaterEqual(len(people), 2, f)
            for o in people:
                x0, y0, x1, y1 = o["box"]
                self.assertTrue(0 <= x0 < x1 <= 768 and 0 <= y0 < y1 <= 576, o)
                self.assertGreater(y1 - y0, x1 - x0, o)  # walkers stand upright
            self.assertEqual(f["faces"], [])
            self.assertGreater(f["ms"]["objects"], 0)
        cap = cv2.VideoCapture(os.path.join(self.out, "vtest.avi"))
        self.assertEqual(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 40)
        ok, drawn = cap.read()
        self.assertTrue(ok)
        self.assertGreater(color_pixels(drawn, PERSON_COLOR, tol=40), 200)  # boxes, through MJPG
        self.assertIn("wrote", p.stdout)

    def test_image_sequence(self):
        p = run(VTEST, "--headless", "--frames", "--out", self.out, "--max-frames", 5)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(os.path.join(self.out, "vtest"))),
                         [f"{k:06d}.jpg" for k in range(5)])
        self.assertEqual(len(jsonl(os.path.join(self.out, "vtest.jsonl"))), 5)

    def test_default_sample_and_gallery(self):
        # No source, no camera, no display: the built-in sample, headless.
        p = run("--out", self.out, "--max-frames", 150)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("built-in sample", p.stdout)
        self.assertIn("running headless", p.stdout)
        with open(os.path.join(self.out, "demo.gallery"), "rb") as f:
            gallery = f.read()
        self.assertTrue(gallery.startswith(b"BNNGALRY"))
        self.assertIn(b"Roxanne", gallery)
        self.assertIn(b"Grace Hopper", gallery)
        people = jsonl(os.path.join(self.out, "vtest.jsonl"))
        self.assertEqual(len(people), 150)
        faces = jsonl(os.path.join(self.out, "Megamind.jsonl"))
        self.assertEqual(len(faces), 150)
        # The clip: the woman's face is the largest in frames 0-59 (she was enrolled
        # from them), then a man with glasses fills the screen until about frame 150.
        def largest(f):
            return max(f["faces"], key=lambda x: (x["box"][2] - x["box"][0]) * (x["box"][3] - x["box"][1]))
        first = [largest(f) for f in faces[:60] if f["faces"]]
        self.assertGreater(len(first), 50)
        self.assertGreater(sum(x["name"] == "Roxanne" for x in first), 0.8 * len(first), first[:5])
        after = [largest(f) for f in faces[60:] if f["faces"]]
        self.assertGreater(len(after), 60)
        self.assertGreater(sum(x["name"] == "unknown" for x in after), 20, after[:5])  # he is not her
        self.assertTrue(os.path.exists(os.path.join(self.out, "Megamind.avi")))
        # Run again: the existing gallery is loaded, not re-enrolled.
        p = run("--out", self.out, "--max-frames", 1)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("people", p.stdout)
        self.assertNotIn("enrolled", p.stdout)

    def test_bad_input(self):
        d = self.dir.name
        p = run("/dev/video9", "--headless", "--out", self.out)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no camera at /dev/video9", p.stderr)
        junk = os.path.join(d, "junk.avi")
        with open(junk, "wb") as f:
            f.write(b"not a video" * 100)
        p = run(junk, "--headless", "--out", self.out)
        self.assertEqual(p.returncode, 1)
        self.assertIn("junk.avi", p.stderr)
        p = run(os.path.join(d, "missing.mp4"), "--headless", "--out", self.out)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such file", p.stderr)
        empty = os.path.join(d, "empty")
        os.makedirs(empty)
        p = run(empty, "--headless", "--out", self.out)
        self.assertEqual(p.returncode, 1)
        self.assertIn("holds no images", p.stderr)
        # A damaged gallery is an error and stays as it was.
        damaged = os.path.join(d, "team.gallery")
        with open(damaged, "wb") as f:
            f.write(b"BNNGALRY" + b"\x01\x00\x00\x00" + b"\xff" * 40)
        with open(damaged, "rb") as f:
            before = f.read()
        p = run(GRACE, "--headless", "--out", self.out, "--gallery", damaged)
        self.assertEqual(p.returncode, 1)
        self.assertIn("team.gallery", p.stderr)
        with open(damaged, "rb") as f:
            self.assertEqual(f.read(), before)
        # A model of the wrong kind, a missing model, bad options.
        models = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
        p = run(GRACE, "--headless", "--out", self.out, "--embedder", os.path.join(models, "detect", "detector.bnn"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("not an embedder", p.stderr)
        p = run(GRACE, "--headless", "--out", self.out, "--detector", os.path.join(d, "none.bnn"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("none.bnn", p.stderr)
        self.assertEqual(run(GRACE, "--max-frames", "0").returncode, 1)
        self.assertEqual(run(GRACE, "--bogus").returncode, 1)
        self.assertEqual(run(GRACE, "--no-objects", "--no-faces").returncode, 1)


def read_xwd(data):
    """An `xwd -root` dump (ZPixmap, 24 or 32 bits per pixel) as a BGR image."""
    h = np.frombuffer(data[:100], ">u4")
    header_size, fmt, depth, width, height = int(h[0]), int(h[2]), int(h[3]), int(h[4]), int(h[5])
    byte_order, bpp, bpl, ncolors = int(h[7]), int(h[11]), int(h[12]), int(h[19])
    if fmt != 2 or bpp not in (24, 32) or depth != 24:
        raise ValueError(f"unexpected xwd: format {fmt}, depth {depth}, {bpp} bits per pixel")
    start = header_size + 12 * ncolors
    n = bpp // 8
    px = np.frombuffer(data[start:start + bpl * height], np.uint8).reshape(height, bpl)[:, :width * n]
    px = px.reshape(height, width, n)
    # LSB first: B, G, R (, pad); MSB first: (pad,) R, G, B.
    return np.ascontiguousarray(px[:, :, :3] if byte_order == 0 else px[:, :, ::-1][:, :, :3])


class Windowed(unittest.TestCase):
    """The real window under Xvfb, driven by xdotool like a user."""

    @classmethod
    def setUpClass(cls):
        for tool in ("Xvfb", "xdotool", "xwd"):
            if not shutil.which(tool):
                raise AssertionError(f"{tool} is missing (Debian: xvfb, xdotool, x11-apps)")
        r, w = os.pipe()
        # -noreset: Xvfb would reset when its last client leaves.
        cls.xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-noreset", "-screen", "0", "1280x800x24",
                                     "-nolisten", "tcp"], pass_fds=(w,), stderr=subprocess.DEVNULL)
        os.close(w)
        ready, _, _ = select.select([r], [], [], 20)
        if not ready:
            raise AssertionError("Xvfb did not start")
        cls.display = ":" + os.read(r, 16).decode().strip()
        cls.displayfd = r  # kept open: Xvfb writes the newline after the number separately

    @classmethod
    def tearDownClass(cls):
        cls.xvfb.terminate()
        cls.xvfb.wait(10)
        os.close(cls.displayfd)

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.env = dict(os.environ, DISPLAY=self.display, QT_QPA_PLATFORM="xcb")

    def tearDown(self):
        self.dir.cleanup()

    def start(self, *args):
        self.log = os.path.join(self.dir.name, "frames.jsonl")
        self.proc = subprocess.Popen([DEMO, *map(str, args), "--json", self.log], env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.seen = []
        self.reader = threading.Thread(target=lambda: self.seen.extend(iter(self.proc.stdout.readline, "")))
        self.reader.start()
        self.wait_for(lambda: len(jsonl(self.log)) >= 3 if os.path.exists(self.log) else False, "3 frames")
        wid = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "^bnn-demo$"],
                             capture_output=True, text=True, env=self.env, timeout=20).stdout.split()
        self.assertTrue(wid, "no bnn-demo window")
        self.window = wid[-1]
        time.sleep(0.5)  # a few more frames painted

    def wait_for(self, cond, what, timeout=30):
        t0 = time.time()
        while not cond():
            if self.proc.poll() is not None:
                self.fail(f"bnn-demo exited ({self.proc.returncode}) waiting for {what}: {self.proc.stderr.read()}")
            if time.time() - t0 > timeout:
                self.proc.kill()
                self.fail(f"timed out waiting for {what}; stdout: {self.peek()}")
            time.sleep(0.1)

    def keys(self, *keys):
        subprocess.run(["xdotool", "windowfocus", "--sync", self.window], env=self.env, check=True, timeout=10)
        for k in keys:
            subprocess.run(["xdotool", "key", "--clearmodifiers", k], env=self.env, check=True, timeout=10)
            time.sleep(0.15)

    def screenshot(self):
        data = subprocess.run(["xwd", "-root", "-silent"], capture_output=True, env=self.env, check=True,
                              timeout=20).stdout
        return read_xwd(data)

    def frame_in(self, shot, raw):
        """Where `raw`'s bottom half (no panel, few boxes) sits in the screenshot."""
        h = raw.shape[0]
        res = cv2.matchTemplate(shot, raw[h // 2:], cv2.TM_SQDIFF_NORMED)
        _, _, (x, y), _ = cv2.minMaxLoc(res)
        y -= h // 2
        return shot[y:y + h, x:x + raw.shape[1]]

    def quit(self):
        self.keys("q")
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.fail("q did not quit bnn-demo")
        self.reader.join(10)
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr.read())
        return self.peek()

    def test_boxes_and_stats_panel(self):
        cap = cv2.VideoCapture(VTEST)
        cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
        ok, raw = cap.read()
        self.assertTrue(ok)
        still = os.path.join(self.dir.name, "street.png")
        cv2.imwrite(still, raw)
        self.start(still, "--no-faces")
        shot = self.frame_in(self.screenshot(), raw)
        self.assertEqual(shot.shape, raw.shape)
        # Person boxes in their class colour, absent from the frame itself.
        self.assertLess(color_pixels(raw, PERSON_COLOR), 20)
        self.assertGreater(color_pixels(shot, PERSON_COLOR), 300)
        # The stats panel: the top-left corner darkened, with white text on it.
        panel, under = shot[:40, :200].astype(float), raw[:40, :200].astype(float)
        self.assertLess(panel.mean(), 0.6 * under.mean())
        self.assertGreater(int((shot[:40, :200].min(axis=2) >= 200).sum()), 100)
        self.keys("p")
        self.wait_for(lambda: "paused" in self.peek(), "paused")
        out = self.quit()
        self.assertIn("paused", out)

    def peek(self):
        """Stdout so far."""
        return "".join(self.seen)

    def test_enroll_typed_name(self):
        gallery = os.path.join(self.dir.name, "team.gallery")
        raw = cv2.imread(GRACE)
        self.start(GRACE, "--no-objects", "--gallery", gallery)
        shot = self.frame_in(self.screenshot(), raw)
        self.assertGreater(color_pixels(shot, UNKNOWN_FACE), 300)   # an unknown face
        self.assertLess(color_pixels(shot, KNOWN_FACE), 20)
        self.assertFalse(os.path.exists(gallery))
        # OpenCV's Qt window sends letters in lower case; the demo capitalises words.
        self.keys("e", "a", "d", "a", "Return")
        self.wait_for(lambda: "enrolled 'Ada'" in self.peek(), "the enrollment")
        time.sleep(0.5)
        shot = self.frame_in(self.screenshot(), raw)
        self.assertGreater(color_pixels(shot, KNOWN_FACE), 300)     # now recognised
        with open(gallery, "rb") as f:
            self.assertIn(b"Ada", f.read())
        frames = jsonl(self.log)
        self.assertEqual(frames[-1]["faces"][0]["name"], "Ada")
        self.quit()


if __name__ == "__main__":
    DEMO = sys.argv[1]
    unittest.main(argv=sys.argv[:1], verbosity=2)
