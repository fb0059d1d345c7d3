"""bnn_torch: a PyTorch training kit for binary networks that bnn-convert reads.

layers  straight-through sign estimators (exported as ONNX Sign, sign(0) = +1)
        and binary layers (BinaryConv2d, BinaryLinear, BiRealBinaryConv2d,
        BinaryActivation, BiRealApproxSign, LearnableBias, RSign, RPReLU)
models  build(arch) for 'xnornet', 'bireal', 'binarynet', 'reactnet'
export  export_onnx(model, path, ...)
fmnist  Fashion-MNIST loading and held-out batches for bnn-convert --check

See docs/training-kit.md.
"""

from .export import export_onnx  # noqa: F401
from .layers import *  # noqa: F401,F403
from .models import ARCHS, build  # noqa: F401
