#!/usr/bin/python3
"""The shipped person-presence model, models/person/person.bnn, on images that
install with Debian packages (its accuracy on the held-out split is
models/person/eval_person.py's job; docs/person-detection.md has it).

  - the verifying loader accepts it and its metadata is what the firmware and
    users need: a classifier with labels "no person" and "person", one
    96 x 96 x 1 U8 grey input (NORMALIZE inside), one output of 2 logits;
  - darknet's person.jpg and facedetect's Grace Hopper (people filling the
    frame) are "person"; darknet's dog.jpg and horses.jpg, a flat grey frame
    and uniform noise are "no person". These four images were among the
    model's extra training images (docs/person-detection.md), so this checks
    that the shipped file behaves as trained, not how well it generalises;
  - patch-based inference (bnn-benchmark's report) cuts the arena at least
    3x, to at most 64 KiB (the microcontroller issue's targets).

Environment: BNN_RUN and BNN_BENCHMARK (defaults in build/apps/); run from
Meson, a missing binary fails.
Run: /usr/bin/python3 -m pytest -q tests/apps/person_model_test.py
"""
import os
import re
import subprocess
import tempfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "person", "person.bnn")
BNN_RUN = os.environ.get("BNN_RUN", os.path.join(ROOT, "build", "apps", "bnn-run"))
BNN_BENCHMARK = os.environ.get("BNN_BENCHMARK", os.path.join(ROOT, "build", "apps", "bnn-benchmark"))
PEOPLE = ["/usr/share/darknet/data/person.jpg", "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"]
NO_PEOPLE = ["/usr/share/darknet/data/dog.jpg", "/usr/share/darknet/data/horses.jpg"]


def frame(path):
    import cv2
    img = cv2.imread(path)
    assert img is not None, f"cannot read {path} (apt-get install darknet facedetect)"
    grey = cv2.cvtColor(cv2.resize(img, (96, 96), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    return grey.astype(np.float32)


def logits(frames):
    """bnn-run on a batch of 96 x 96 grey frames (pixel values, NHWC)."""
    with tempfile.TemporaryDirectory() as tmp:
        x = np.stack(frames)[:, :, :, None].astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        r = subprocess.run([BNN_RUN, MODEL, "--input", os.path.join(tmp, "x.npy"), "--output",
                            os.path.join(tmp, "y.npy")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return np.load(os.path.join(tmp, "y.npy")).reshape(len(frames), -1)


def test_metadata():
    r = subprocess.run([BNN_BENCHMARK, MODEL, "--runs", "2", "--no-profile"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "(person)" in r.stdout
    with open(MODEL, "rb") as f:
        data = f.read()
    assert b"no person" in data and b"person" in data


@pytest.mark.parametrize("path", PEOPLE)
def test_people_are_found(path):
    y = logits([frame(path)])[0]
    assert y.shape == (2,)
    assert y[1] > y[0], f"{path}: logits {y}"


@pytest.mark.parametrize("path", NO_PEOPLE)
def test_no_people_are_found(path):
    y = logits([frame(path)])[0]
    assert y[0] > y[1], f"{path}: logits {y}"


def test_blank_and_noise_are_no_person():
    rng = np.random.default_rng(0)
    y = logits([np.full((96, 96), 128, np.float32), rng.integers(0, 256, (96, 96)).astype(np.float32)])
    assert (y[:, 0] > y[:, 1]).all(), y


def test_patch_based_arena():
    r = subprocess.run([BNN_BENCHMARK, MODEL, "--runs", "2", "--no-profile"], capture_output=True, text=True)
    m = re.search(r"arena peaks: +(\d+) bytes layer by layer, (\d+) patch-based", r.stdout)
    assert m, r.stdout
    layer, patch = int(m.group(1)), int(m.group(2))
    assert patch * 3 <= layer, r.stdout
    assert patch <= 64 * 1024, r.stdout
