"""A detector whose answer is known, for the app tests: a strided convolution
that scores each 8 x 8 cell of a 64 x 64 RGB image by how red it is.

[1,3,64,64] -> Conv 8x8 stride 8 -> [1, 7, 8, 8]: tx ty tw th obj cls0 cls1,
obj = 20 * mean(red) - 10 (input scaled to [0, 1]); class 0 always wins, so
a pure red cell gives one box of ANCHOR's size centred on it. With landmarks,
2 x len(LANDMARKS) more channels hold constant offsets: point k is the cell
centre plus LANDMARKS[k] x ANCHOR ("yolo-landmarks" decoding).
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE = 64     # model input
STRIDE = 8
ANCHOR = (16, 24)
LANDMARKS = [(0.25, -0.25), (-0.5, 0.125)]


def red_detector(path, landmarks=False):
    """Writes the ONNX model to `path` (with the LANDMARKS points when asked)."""
    fields = 7 + (2 * len(LANDMARKS) if landmarks else 0)
    w = np.zeros((fields, 3, 8, 8), np.float32)
    w[4, 0] = 20.0 / 64
    b = np.array([0, 0, 0, 0, -10, 10, -10] + ([v for p in LANDMARKS for v in p] if landmarks else []), np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[STRIDE, STRIDE])], "red",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
