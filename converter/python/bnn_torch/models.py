"""Four small binary networks for 1 x 28 x 28 inputs and 10 classes, after
their papers, sized to train in a few minutes on one CPU thread.

  xnornet    Rastegari et al. 2016, XNOR-Net: BN -> sign -> XNOR-scaled binary
             conv -> ReLU -> MaxPool blocks; float first conv and last Linear.
  bireal     Liu et al. 2018, Bi-Real Net: ApproxSign (paper-code residue form)
             -> HardBinaryConv (paper-code scaled weights) -> BN -> + shortcut
             around every binary conv; downsampling shortcut AvgPool -> 1x1 float
             conv -> BN; float stem and Linear.
  binarynet  Courbariaux/Hubara et al. 2016, BinaryNet: +-1 weights without
             scale in every layer (the first conv takes the real image), hard-tanh
             STE, conv -> MaxPool -> BN -> sign; the last layer is a BinaryLinear
             on binarised input followed by BatchNorm1d, which gives the logits.
  reactnet   Liu et al. 2020, ReActNet: RSign -> scaled binary 3x3 conv -> BN ->
             + shortcut (AvgPool when stride 2) -> RPReLU, then RSign -> binary
             1x1 -> BN -> + shortcut -> RPReLU (channel doubling by two 1x1
             convs concatenated); float stem (conv, BN, MaxPool) and Linear.

All padding is zero padding.
"""

import torch
import torch.nn as nn

from .layers import (BinaryActivation, BinaryConv2d, BinaryLinear, BiRealBinaryConv2d,
                     RPReLU, RSign)

__all__ = ["ARCHS", "build", "XnorNet", "BiRealNet", "BinaryNet", "ReActNet",
           "latent_clip_"]


# --------------------------------------------------------------------- XNOR-Net
class XnorBlock(nn.Module):
    """BN -> sign -> BinaryConv2d(scale='xnor') -> ReLU -> (MaxPool)."""

    def __init__(self, cin, cout, pool):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        # sign inside the layer (binarize_input=True); XNOR-Net's BinActive
        # cancels the gradient where |x| >= 1, the clipped STE.
        self.conv = BinaryConv2d(cin, cout, 3, padding=1, scale="xnor",
                                 weight_estimator="ste", binarize_input=True,
                                 input_estimator="clipped")
        self.relu = nn.ReLU(inplace=False)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x):
        return self.pool(self.relu(self.conv(self.bn(x))))


class XnorNet(nn.Module):
    def __init__(self, num_classes=10, width=(32, 64, 64)):
        super().__init__()
        c0, c1, c2 = width
        self.stem = nn.Sequential(nn.Conv2d(1, c0, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c0), nn.ReLU(), nn.MaxPool2d(2))   # 14
        self.block1 = XnorBlock(c0, c1, pool=True)                                # 7
        self.block2 = XnorBlock(c1, c2, pool=True)                                # 3
        self.fc = nn.Linear(c2 * 3 * 3, num_classes)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


# ------------------------------------------------------------------ Bi-Real Net
class BiRealBlock(nn.Module):
    """ApproxSign (residue form) -> HardBinaryConv 3x3 -> BN -> + shortcut."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.binary_activation = BinaryActivation("bireal")
        self.binary_conv = BiRealBinaryConv2d(cin, cout, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=stride),
                nn.Conv2d(cin, cout, 1, bias=False),
                nn.BatchNorm2d(cout))

    def forward(self, x):
        residual = x
        out = self.binary_activation(x)
        out = self.binary_conv(out)
        out = self.bn1(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        return out + residual


class BiRealNet(nn.Module):
    def __init__(self, num_classes=10, width=(32, 64)):
        super().__init__()
        c0, c1 = width
        self.conv1 = nn.Conv2d(1, c0, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c0)
        self.maxpool = nn.MaxPool2d(2)                                            # 14
        self.layers = nn.Sequential(BiRealBlock(c0, c0), BiRealBlock(c0, c0),
                                    BiRealBlock(c0, c1, stride=2),                # 7
                                    BiRealBlock(c1, c1))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c1, num_classes)

    def forward(self, x):
        x = self.maxpool(self.bn1(self.conv1(x)))
        x = self.avgpool(self.layers(x))
        return self.fc(torch.flatten(x, 1))


# -------------------------------------------------------------------- BinaryNet
class BinaryNet(nn.Module):
    def __init__(self, num_classes=10, width=(32, 64, 64)):
        super().__init__()
        c0, c1, c2 = width

        def bconv(cin, cout):
            return BinaryConv2d(cin, cout, 3, padding=1, scale=None,
                                weight_estimator="clipped", binarize_input=False)

        self.features = nn.Sequential(
            bconv(1, c0), nn.MaxPool2d(2), nn.BatchNorm2d(c0),                 # real input, 14
            BinaryActivation("htanh"),
            bconv(c0, c1), nn.MaxPool2d(2), nn.BatchNorm2d(c1),                # 7
            BinaryActivation("htanh"),
            bconv(c1, c2), nn.MaxPool2d(2), nn.BatchNorm2d(c2))                # 3
        self.fc = BinaryLinear(c2 * 3 * 3, num_classes, scale=None,
                               weight_estimator="clipped", binarize_input=True,
                               input_estimator="htanh")
        self.bn = nn.BatchNorm1d(num_classes)
        self.latent_clip = 1.0   # BinaryNet clips the real weights to [-1, 1]

    def forward(self, x):
        x = torch.flatten(self.features(x), 1)
        return self.bn(self.fc(x))


# --------------------------------------------------------------------- ReActNet
class ReActBlock(nn.Module):
    """ReActNet's block (the MobileNet-based one with full binary convs)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        assert cout in (cin, 2 * cin)
        self.stride = stride
        self.rsign1 = RSign(cin)
        self.binary_3x3 = BinaryConv2d(cin, cin, 3, stride=stride, padding=1, scale="xnor",
                                       weight_estimator="clipped", binarize_input=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.pooling = nn.AvgPool2d(2, 2) if stride == 2 else None
        self.rprelu1 = RPReLU(cin)

        self.rsign2 = RSign(cin)
        n = 1 if cout == cin else 2
        self.binary_pw = nn.ModuleList(
            BinaryConv2d(cin, cin if n == 2 else cout, 1, scale="xnor",
                         weight_estimator="clipped", binarize_input=False)
            for _ in range(n))
        self.bn2 = nn.ModuleList(nn.BatchNorm2d(cin if n == 2 else cout) for _ in range(n))
        self.rprelu2 = RPReLU(cout)

    def forward(self, x):
        out1 = self.bn1(self.binary_3x3(self.rsign1(x)))
        if self.pooling is not None:
            x = self.pooling(x)
        out1 = self.rprelu1(x + out1)

        s = self.rsign2(out1)
        outs = [bn(conv(s)) + out1 for conv, bn in zip(self.binary_pw, self.bn2)]
        out2 = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        return self.rprelu2(out2)


class ReActNet(nn.Module):
    def __init__(self, num_classes=10, width=(32, 64)):
        super().__init__()
        c0, c1 = width
        self.stem = nn.Sequential(nn.Conv2d(1, c0, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c0), nn.MaxPool2d(2))            # 14
        self.blocks = nn.Sequential(ReActBlock(c0, c0),                           # 14
                                    ReActBlock(c0, c1, stride=2),                 # 7
                                    ReActBlock(c1, c1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c1, num_classes)

    def forward(self, x):
        x = self.pool(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


ARCHS = {
    "xnornet": XnorNet,
    "bireal": BiRealNet,
    "binarynet": BinaryNet,
    "reactnet": ReActNet,
}


def build(arch, num_classes=10):
    """A fresh model of the named architecture (one of ARCHS)."""
    try:
        cls = ARCHS[arch]
    except KeyError:
        raise ValueError(f"unknown arch {arch!r}; one of {sorted(ARCHS)}") from None
    return cls(num_classes=num_classes)


@torch.no_grad()
def latent_clip_(model):
    """Clamp the real (latent) weights of binary layers to +-model.latent_clip,
    if the model sets one (BinaryNet does); call after each optimiser step."""
    limit = getattr(model, "latent_clip", None)
    if limit is None:
        return
    for m in model.modules():
        if isinstance(m, (BinaryConv2d, BinaryLinear)):
            m.weight.clamp_(-limit, limit)
