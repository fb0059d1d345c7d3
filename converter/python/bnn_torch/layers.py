"""Binary layers and sign estimators for training networks that bnn-convert reads.

Every estimator's forward is sign with sign(0) = +1, which is the runtime's bit
contract (a 0 bit is +1, a 1 bit is -1; docs/format.md).  torch.sign and the
ONNX Sign operator return 0 for 0; the converter maps ONNX Sign onto the
runtime's sign, so the one place the two can disagree is an input that is
exactly 0.

Each autograd Function exports to ONNX as the single operator Sign.  The
gradient is what the estimator's name says:

  ste      identity (the plain straight-through estimator)
  clipped  1 where |x| <= 1, else 0 (hard-tanh STE, BinaryNet)
  approx   2 - 2|x| where |x| < 1, else 0 (Bi-Real Net's ApproxSign)

`BiRealApproxSign` is the Bi-Real paper's ApproxSign written the way its public
code writes it, `sign.detach() - poly.detach() + poly`, so the exported graph
carries the straight-through residue (Sign, Sub, Add and the polynomial's
Less/Cast/Mul/Add/Sub) that the converter has to strip.
"""

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "sign_plus", "SignSTE", "SignClippedSTE", "SignApprox", "ESTIMATORS",
    "binarize", "BiRealApproxSign", "BinaryActivation", "BinaryConv2d",
    "BinaryLinear", "BiRealBinaryConv2d", "LearnableBias", "RSign", "RPReLU",
]


def sign_plus(x):
    """sign with sign(0) = +1, in the dtype of x (no gradient of its own)."""
    one = torch.ones_like(x)
    return torch.where(x < 0, -one, one)


class _SignBase(torch.autograd.Function):
    @staticmethod
    def symbolic(g, x):
        with warnings.catch_warnings():   # torch 1.13 warns that g.op moves (to GraphContext)
            warnings.simplefilter("ignore", FutureWarning)
            return g.op("Sign", x)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return sign_plus(x)


class SignSTE(_SignBase):
    """sign forward, identity gradient."""

    @staticmethod
    def backward(ctx, grad):
        return grad


class SignClippedSTE(_SignBase):
    """sign forward, gradient 1 where |x| <= 1 (hard-tanh STE)."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


class SignApprox(_SignBase):
    """sign forward, Bi-Real ApproxSign gradient 2 - 2|x| on |x| < 1."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.clamp(2.0 - 2.0 * x.abs(), min=0.0)


ESTIMATORS = {
    "ste": SignSTE,
    "clipped": SignClippedSTE,
    "htanh": SignClippedSTE,
    "approx": SignApprox,
}


def binarize(x, estimator="ste"):
    """sign(x) (0 -> +1) with the named estimator's gradient; exports as Sign."""
    try:
        fn = ESTIMATORS[estimator]
    except KeyError:
        raise ValueError(f"unknown estimator {estimator!r}; "
                         f"one of {sorted(ESTIMATORS)}") from None
    return fn.apply(x)


class BiRealApproxSign(nn.Module):
    """Bi-Real Net's ApproxSign as the paper's public code writes it.

    out = sign(x).detach() - poly(x).detach() + poly(x): the value is sign(x),
    the gradient is poly'(x) = 2 - 2|x| on |x| < 1.  The ONNX graph keeps the
    polynomial and the Sub/Add residue.

    torch_sign=False (default) takes sign from the kit (0 -> +1, exported as
    Sign); torch_sign=True uses torch.sign literally as the public code does
    (0 -> 0).  Both export the same graph.

    fast_train=True computes the same values and gradients with SignApprox
    (one op instead of ~20 elementwise ones) while the module is training and
    autograd is on; evaluation, tracing and ONNX export always take the
    residue form above.
    """

    def __init__(self, torch_sign=False, fast_train=True):
        super().__init__()
        self.torch_sign = torch_sign
        self.fast_train = fast_train

    def forward(self, x):
        if (self.fast_train and self.training and torch.is_grad_enabled()
                and not self.torch_sign and not torch.jit.is_tracing()):
            return SignApprox.apply(x)
        if self.torch_sign:
            out_forward = torch.sign(x)
        else:
            out_forward = SignSTE.apply(x)
        mask1 = x < -1
        mask2 = x < 0
        mask3 = x < 1
        out1 = (-1) * mask1.type(torch.float32) + (x * x + 2 * x) * (1 - mask1.type(torch.float32))
        out2 = out1 * mask2.type(torch.float32) + (-x * x + 2 * x) * (1 - mask2.type(torch.float32))
        out3 = out2 * mask3.type(torch.float32) + 1 * (1 - mask3.type(torch.float32))
        out = out_forward.detach() - out3.detach() + out3
        return out

    def extra_repr(self):
        return f"torch_sign={self.torch_sign}, fast_train={self.fast_train}"


class BinaryActivation(nn.Module):
    """sign activation with a chosen estimator ('ste', 'clipped'/'htanh',
    'approx', or 'bireal' for the paper-form residue module)."""

    def __init__(self, estimator="clipped"):
        super().__init__()
        self.estimator = estimator
        self.residue = BiRealApproxSign() if estimator == "bireal" else None
        if self.residue is None and estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {estimator!r}")

    def forward(self, x):
        if self.residue is not None:
            return self.residue(x)
        return binarize(x, self.estimator)

    def extra_repr(self):
        return f"estimator={self.estimator!r}"


def _xnor_scale(w):
    """XNOR-Net alpha: mean |W| per output channel, keepdim for broadcasting."""
    return torch.mean(torch.abs(w), dim=tuple(range(1, w.dim())), keepdim=True)


class _BinaryMixin:
    def _init_binary(self, scale, weight_estimator, binarize_input, input_estimator):
        if scale not in (None, "xnor"):
            raise ValueError(f"scale must be None or 'xnor', not {scale!r}")
        if weight_estimator not in ESTIMATORS:
            raise ValueError(f"unknown weight estimator {weight_estimator!r}")
        self.scale = scale
        self.weight_estimator = weight_estimator
        self.binarize_input = binarize_input
        self.input_act = BinaryActivation(input_estimator) if binarize_input else None

    def binary_weight(self):
        """sign(W) (0 -> +1), times alpha = mean|W| per output channel if scale='xnor'.

        Computed on every forward so the export shows Sign (and Abs,
        ReduceMean, Mul) on the weight initializer; constant folding turns it
        into one constant."""
        wb = binarize(self.weight, self.weight_estimator)
        if self.scale == "xnor":
            wb = wb * _xnor_scale(self.weight)
        return wb

    def _binary_input(self, x):
        return self.input_act(x) if self.input_act is not None else x

    def _binary_repr(self):
        return (f", scale={self.scale!r}, weight_estimator={self.weight_estimator!r}, "
                f"binarize_input={self.binarize_input}")


class BinaryConv2d(_BinaryMixin, nn.Conv2d):
    """nn.Conv2d with sign(W) weights (optionally XNOR-scaled) and, if
    binarize_input, sign on its input.  Zero padding only."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=False, scale=None, weight_estimator="ste",
                 binarize_input=True, input_estimator="clipped"):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups, bias=bias,
                         padding_mode="zeros")
        self._init_binary(scale, weight_estimator, binarize_input, input_estimator)

    def forward(self, x):
        return F.conv2d(self._binary_input(x), self.binary_weight(), self.bias,
                        self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        return super().extra_repr() + self._binary_repr()


class BinaryLinear(_BinaryMixin, nn.Linear):
    """nn.Linear with sign(W) weights (optionally XNOR-scaled per output) and,
    if binarize_input, sign on its input."""

    def __init__(self, in_features, out_features, bias=False, scale=None,
                 weight_estimator="ste", binarize_input=True, input_estimator="clipped"):
        super().__init__(in_features, out_features, bias=bias)
        self._init_binary(scale, weight_estimator, binarize_input, input_estimator)

    def forward(self, x):
        return F.linear(self._binary_input(x), self.binary_weight(), self.bias)

    def extra_repr(self):
        return super().extra_repr() + self._binary_repr()


class BiRealBinaryConv2d(nn.Conv2d):
    """Bi-Real Net's HardBinaryConv weights, as in the paper's code:

        scaling = mean|W| per output channel (detached)
        binary_no_grad = scaling * sign(W)
        clipped = clamp(W, -1, 1)
        w = binary_no_grad.detach() - clipped.detach() + clipped

    The input is used as given (binarise it with BinaryActivation before).
    With constant folding off, the weight path is a subgraph that reads only
    the initializer (Abs, ReduceMean, Sign, Mul, Clip, Sub, Add).
    torch_sign as in BiRealApproxSign.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=1,
                 bias=False, torch_sign=False):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, bias=bias, padding_mode="zeros")
        self.torch_sign = torch_sign

    def binary_weight(self):
        real_weights = self.weight
        scaling_factor = torch.mean(torch.mean(torch.mean(
            abs(real_weights), dim=3, keepdim=True), dim=2, keepdim=True), dim=1, keepdim=True)
        scaling_factor = scaling_factor.detach()
        sign = torch.sign(real_weights) if self.torch_sign else SignSTE.apply(real_weights)
        binary_weights_no_grad = scaling_factor * sign
        cliped_weights = torch.clamp(real_weights, -1.0, 1.0)
        return binary_weights_no_grad.detach() - cliped_weights.detach() + cliped_weights

    def forward(self, x):
        return F.conv2d(x, self.binary_weight(), self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class LearnableBias(nn.Module):
    """x + b with one learnable b per channel of an NCHW tensor (ReActNet's 'move')."""

    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x):
        return x + self.bias  # broadcast over N, H, W: one ONNX Add


class RSign(nn.Module):
    """ReActNet's RSign: sign(x + b) with a learnable threshold per channel."""

    def __init__(self, channels, estimator="approx"):
        super().__init__()
        self.move = LearnableBias(channels)
        self.act = BinaryActivation(estimator)

    def forward(self, x):
        return self.act(self.move(x))


class RPReLU(nn.Module):
    """ReActNet's RPReLU: LearnableBias -> PReLU (per channel) -> LearnableBias."""

    def __init__(self, channels):
        super().__init__()
        self.move_in = LearnableBias(channels)
        self.prelu = nn.PReLU(channels, init=0.25)
        self.move_out = LearnableBias(channels)

    def forward(self, x):
        return self.move_out(self.prelu(self.move_in(x)))
