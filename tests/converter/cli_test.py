#!/usr/bin/python3
"""bnn-convert as a user runs it: metadata options, --check, and bad input
(missing, damaged or unsupported models, bad options) giving a clear error,
exit 1, and never a partial or clobbered output file.

usage: cli_test.py BNN_CONVERT LIBBNN_SO BNN_RUN
"""
import ctypes
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONVERT = LIB = RUN = None


def conv_model(path, op="Relu", opset=13, kernel_shape=True):
    """x [1,3,8,8] -> Conv 3x3 (4 out) -> op -> GlobalAveragePool -> Flatten.
    Without kernel_shape (optional in ONNX) OpenCV DNN cannot read it."""
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    conv_attrs = {"kernel_shape": [3, 3]} if kernel_shape else {}
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], **conv_attrs),
             helper.make_node(op, ["c"], ["a"]),
             helper.make_node("GlobalAveragePool", ["a"], ["g"]),
             helper.make_node("Flatten", ["g"], ["y"])]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), path)


def convert(*args):
    return subprocess.run([CONVERT] + [str(a) for a in args], capture_output=True, text=True, timeout=120)


class Cli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = self.dir.name
        self.onnx = os.path.join(self.tmp, "m.onnx")
        self.out = os.path.join(self.tmp, "m.bnn")
        conv_model(self.onnx)

    def tearDown(self):
        self.dir.cleanup()

    def assertRefused(self, p, *phrases):
        self.assertEqual(p.returncode, 1, p.stderr)
        for phrase in phrases:
            self.assertIn(phrase, p.stderr)
        self.assertNotIn("Traceback", p.stderr)

    def test_metadata_reaches_the_runtime(self):
        labels = os.path.join(self.tmp, "labels.txt")
        with open(labels, "w") as f:
            f.write("cat\ndog\r\nbird\n\n")
        p = convert(self.onnx, "-o", self.out, "--name", "tiny", "--task", "classifier", "--labels", labels,
                    "--mean", "0.5,0.4,0.3", "--std", "0.2,0.2,0.25")
        self.assertEqual(p.returncode, 0, p.stderr)
        lib = ctypes.CDLL(LIB)
        lib.bnn_model_name.restype = ctypes.c_char_p
        lib.bnn_model_producer.restype = ctypes.c_char_p
        lib.bnn_model_label.restype = ctypes.c_char_p
        model = ctypes.c_void_p()
        self.assertEqual(lib.bnn_model_load_file(self.out.encode(), ctypes.byref(model)), 0)
        self.assertEqual(lib.bnn_model_name(model), b"tiny")
        self.assertTrue(lib.bnn_model_producer(model).startswith(b"bnn-convert "))
        self.assertEqual(lib.bnn_model_task(model), 1)
        self.assertEqual([lib.bnn_model_label(model, i) for i in range(lib.bnn_model_label_count(model))],
                         [b"cat", b"dog", b"bird"])
        self.assertEqual(lib.bnn_model_input_is_nchw(model), 1)
        mean, std = (ctypes.c_float * 3)(), (ctypes.c_float * 3)()
        self.assertEqual(lib.bnn_model_normalization(model, mean, std, 3), 3)
        self.assertAlmostEqual(mean[1], 0.4, places=6)
        self.assertAlmostEqual(std[2], 0.25, places=6)
        lib.bnn_model_embedder_match_threshold.restype = ctypes.c_float
        self.assertEqual(lib.bnn_model_embedder_match_threshold(model), 0.5)  # none given: the default
        lib.bnn_model_free(model)
        p = convert(self.onnx, "-o", self.out, "--task", "embedder", "--match-threshold", "0.625")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(lib.bnn_model_load_file(self.out.encode(), ctypes.byref(model)), 0)
        self.assertEqual(lib.bnn_model_task(model), 3)
        self.assertEqual(lib.bnn_model_embedder_match_threshold(model), 0.625)
        lib.bnn_model_free(model)

    def test_pixel_input_takes_camera_frames(self):
        """--input-u8 bgr: the model reads 8-bit BGR NHWC pixels and normalises them
        itself, giving what the float model gives on the normalised RGB image."""
        mean, std = [0.5, 0.4, 0.3], [0.2, 0.2, 0.25]
        norm = ["--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std))]
        pixel_bnn = os.path.join(self.tmp, "pixels.bnn")
        p = convert(self.onnx, "-o", pixel_bnn, "--input-u8", "bgr", *norm)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(convert(self.onnx, "-o", self.out, *norm).returncode, 0)
        lib = ctypes.CDLL(LIB)
        lib.bnn_interpreter_input.restype = ctypes.c_void_p
        lib.bnn_interpreter_output.restype = ctypes.c_void_p

        class Info(ctypes.Structure):
            _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int),
                        ("dims", ctypes.c_int32 * 6), ("bytes", ctypes.c_size_t), ("scale", ctypes.c_float),
                        ("zero_point", ctypes.c_int32)]

        def run(path, data):
            model, it, info = ctypes.c_void_p(), ctypes.c_void_p(), Info()
            self.assertEqual(lib.bnn_model_load_file(path.encode(), ctypes.byref(model)), 0)
            self.assertEqual(lib.bnn_interpreter_create(model, None, ctypes.byref(it)), 0)
            lib.bnn_model_input_info(model, 0, ctypes.byref(info))
            meta = (info.dtype, list(info.dims[:info.rank]), lib.bnn_model_input_pixel_format(model),
                    lib.bnn_model_input_is_nchw(model))
            buf = np.ascontiguousarray(data)
            self.assertEqual(buf.nbytes, info.bytes)
            self.assertEqual(lib.bnn_interpreter_set_input(it, 0, buf.ctypes.data_as(ctypes.c_void_p),
                                                           ctypes.c_size_t(buf.nbytes)), 0)  # zero copy
            self.assertEqual(lib.bnn_interpreter_invoke(it), 0)
            y = np.ctypeslib.as_array(ctypes.cast(lib.bnn_interpreter_output(it, 0), ctypes.POINTER(ctypes.c_float)),
                                      (4,)).copy()
            lib.bnn_interpreter_free(it)
            lib.bnn_model_free(model)
            return meta, y

        bgr = np.random.default_rng(3).integers(0, 256, (1, 8, 8, 3), dtype=np.uint8)
        meta, got = run(pixel_bnn, bgr)
        self.assertEqual(meta, (4, [1, 8, 8, 3], 2, 0))  # U8, NHWC, BGR, not NCHW
        rgb = bgr[..., ::-1].astype(np.float32) / 255
        x = (rgb - np.array(mean, np.float32)) / np.array(std, np.float32)
        _, want = run(self.out, x.astype(np.float32))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        # bnn-run feeds pixel values to such a model, and refuses values that are not pixels.
        xp = os.path.join(self.tmp, "x.npy")
        np.save(xp, bgr.astype(np.float32))
        yp = os.path.join(self.tmp, "y.npy")
        p = subprocess.run([RUN, pixel_bnn, "--input", xp, "--output", yp], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        np.testing.assert_allclose(np.load(yp).ravel(), want, rtol=1e-5, atol=1e-5)
        np.save(xp, bgr.astype(np.float32) + 0.5)
        p = subprocess.run([RUN, pixel_bnn, "--input", xp, "--output", yp], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("whole numbers 0 to 255", p.stderr)
        # --check turns the normalised check inputs back into pixels.
        xp = os.path.join(self.tmp, "x.npy")
        np.save(xp, np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        p = convert(self.onnx, "-o", pixel_bnn, "--input-u8", "bgra", *norm, "--check", xp, "--max-difference", "1e-4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("top-1 agreement 100.00 %", p.stdout)
        self.assertRefused(convert(self.onnx, "-o", pixel_bnn, "--input-u8", "grey"), "[1, 1, H, W]")
        self.assertRefused(convert(self.onnx, "-o", pixel_bnn, "--input-u8", "yuv"), "rgb, bgr")

    def test_check_reports_agreement_and_gates(self):
        x = np.random.default_rng(2).standard_normal((5, 3, 8, 8)).astype(np.float32)
        xp = os.path.join(self.tmp, "x.npy")
        np.save(xp, x)
        p = convert(self.onnx, "-o", self.out, "--check", xp, "--min-agreement", "100", "--max-difference", "1e-4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("check: 5 inputs", p.stdout)
        self.assertIn("top-1 agreement 100.00 %", p.stdout)
        self.assertIn("check: reference OpenCV DNN 4.", p.stdout)  # independent of our importer
        # A model OpenCV cannot read: the converter's interpreter, and why.
        conv_model(self.onnx, kernel_shape=False)
        p = convert(self.onnx, "-o", self.out, "--check", xp, "--min-agreement", "100", "--max-difference", "1e-4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("reference the converter's float interpreter (OpenCV DNN cannot read the model: ", p.stdout)
        self.assertIn("kernel_size", p.stdout)
        self.assertIn("top-1 agreement 100.00 %", p.stdout)
        np.save(xp, x[:, :2])
        self.assertRefused(convert(self.onnx, "-o", self.out, "--check", xp), "shape", "[1,3,8,8]")

    def test_unsupported_ops_are_all_named_and_nothing_is_written(self):
        conv_model(self.onnx, op="Tanh")
        with open(self.out, "wb") as f:
            f.write(b"an older model the user keeps")
        p = convert(self.onnx, "-o", self.out)
        self.assertRefused(p, "cannot be converted", "Tanh", "not supported")
        with open(self.out, "rb") as f:
            self.assertEqual(f.read(), b"an older model the user keeps")
        self.assertFalse(os.path.exists(self.out + ".tmp"))

    def test_damaged_and_missing_files(self):
        with open(self.onnx, "rb") as f:
            data = f.read()
        for cut in (0, 10, len(data) // 2, len(data) - 3):
            with open(self.onnx, "wb") as f:
                f.write(data[:cut])
            p = convert(self.onnx, "-o", self.out)
            self.assertEqual(p.returncode, 1, "cut at %d: %s" % (cut, p.stderr))
            self.assertTrue(p.stderr.startswith("bnn-convert: "), p.stderr)
        self.assertRefused(convert(os.path.join(self.tmp, "none.onnx"), "-o", self.out), "cannot open")
        self.assertFalse(os.path.exists(self.out))

    def test_opset_and_options(self):
        conv_model(self.onnx, opset=8)
        self.assertRefused(convert(self.onnx, "-o", self.out), "opset 8", "9 to 17")
        conv_model(self.onnx)
        self.assertRefused(convert(self.onnx, "-o", self.out, "--task", "segmenter"), "--task")
        self.assertRefused(convert(self.onnx, "-o", self.out, "--input-shape", "1x3xQ"), "--input-shape")
        self.assertRefused(convert(self.onnx, "-o", self.out, "--input-shape", "1x4x8x8"), "contradicts")
        self.assertRefused(convert(self.onnx, "-o", self.out, "--mean", "0.5"), "--mean and --std")
        self.assertRefused(convert(self.onnx, "-o", self.out, "--int8"), "--calibration")
        self.assertRefused(convert(self.onnx, "-o", self.out, "--bogus"), "unknown option")
        for bad in ("1.5", "-2", "nan", "x"):
            self.assertRefused(convert(self.onnx, "-o", self.out, "--task", "embedder", "--match-threshold", bad),
                               "--match-threshold needs a number in [-1, 1]")
        self.assertRefused(convert(self.onnx, "-o", self.out, "--match-threshold", "0.7"), "for embedders")
        self.assertEqual(convert(self.onnx).returncode, 2)  # no -o: usage
        p = convert(self.onnx, "-o", self.out, "--input-shape", "2x3x8x8")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unwritable_output(self):
        p = convert(self.onnx, "-o", os.path.join(self.tmp, "no", "such", "dir", "m.bnn"))
        self.assertRefused(p, "cannot write")


if __name__ == "__main__":
    CONVERT, LIB, RUN = sys.argv[1], sys.argv[2], sys.argv[3]
    unittest.main(argv=sys.argv[:1], verbosity=2)
