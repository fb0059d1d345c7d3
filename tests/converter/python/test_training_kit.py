"""Tests of the PyTorch training kit (converter/python/bnn_torch) and of the
trained Fashion-MNIST models in models/fmnist/.

    /usr/bin/python3 -m pytest -q tests/converter/python
"""

import collections
import os
import sys

import numpy as np
import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "converter", "python"))

from bnn_torch import export_onnx, fmnist, layers  # noqa: E402
from bnn_torch.models import ARCHS, build  # noqa: E402

torch.set_num_threads(1)

MODELS = os.path.join(REPO, "models", "fmnist")

# Test accuracy on the first 2000 Fashion-MNIST test images.  Measured with
# the committed state dicts: xnornet 0.9025, bireal 0.8850, binarynet 0.8825,
# reactnet 0.8775; the bounds leave about two points.
MIN_ACCURACY = {
    "xnornet": 0.88,
    "bireal": 0.86,
    "binarynet": 0.86,
    "reactnet": 0.85,
}

# Points on both sides of and exactly at the estimators' breakpoints.
X = torch.tensor([-3.0, -1.5, -1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 3.0],
                 dtype=torch.float64)
SIGN = torch.where(X < 0, -1.0, 1.0).to(torch.float64)


def grad_of(fn, x=X):
    x = x.clone().requires_grad_(True)
    y = fn(x)
    y.backward(torch.ones_like(y))
    return y.detach(), x.grad


# ----------------------------------------------------------------- estimators
@pytest.mark.parametrize("estimator", ["ste", "clipped", "htanh", "approx", "bireal"])
def test_forward_is_sign_with_zero_to_plus_one(estimator):
    act = layers.BinaryActivation(estimator)
    for dtype in (torch.float32, torch.float64):
        y = act(X.to(dtype))
        assert y.dtype == dtype
        assert torch.equal(y, SIGN.to(dtype))
    # training mode with autograd (the bireal fast path) gives the same values
    act.train()
    y, _ = grad_of(act)
    assert torch.equal(y, SIGN)


def test_sign_plus_zero():
    assert layers.sign_plus(torch.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    assert layers.sign_plus(torch.tensor([-0.0])).tolist() == [1.0]  # -0 is not < 0


def test_ste_gradient_is_identity():
    _, g = grad_of(layers.SignSTE.apply)
    assert torch.equal(g, torch.ones_like(X))


@pytest.mark.parametrize("name", ["clipped", "htanh"])
def test_clipped_gradient(name):
    _, g = grad_of(lambda x: layers.binarize(x, name))
    assert torch.equal(g, (X.abs() <= 1).to(X.dtype))


def approx_grad(x):
    return torch.clamp(2 - 2 * x.abs(), min=0)


def test_approx_gradient():
    _, g = grad_of(layers.SignApprox.apply)
    assert torch.allclose(g, approx_grad(X))


@pytest.mark.parametrize("torch_sign", [False, True])
@pytest.mark.parametrize("fast_train", [False, True])
def test_bireal_residue_form(torch_sign, fast_train):
    m = layers.BiRealApproxSign(torch_sign=torch_sign, fast_train=fast_train).train()
    y, g = grad_of(m)
    expect = SIGN.clone()
    if torch_sign:
        expect[X == 0] = 0  # torch.sign, as the public code, gives 0 for 0
    assert torch.equal(y, expect)
    assert torch.allclose(g, approx_grad(X))


def test_gradients_reach_latent_weights():
    conv = layers.BinaryConv2d(4, 3, 3, padding=1, weight_estimator="clipped")
    with torch.no_grad():
        conv.weight[0].fill_(2.0)   # |w| > 1: the clipped STE passes no gradient
    conv(torch.randn(2, 4, 5, 5)).sum().backward()
    assert torch.all(conv.weight.grad[0] == 0)
    assert torch.any(conv.weight.grad[1:] != 0)


# ---------------------------------------------------------------- XNOR scale
def test_xnor_scale_conv():
    torch.manual_seed(1)
    conv = layers.BinaryConv2d(5, 7, 3, scale="xnor")
    w = conv.weight.detach()
    wb = conv.binary_weight().detach()
    alpha = w.abs().mean(dim=(1, 2, 3))
    for o in range(7):
        assert torch.allclose(wb[o].abs(), alpha[o].expand_as(wb[o]))
        assert torch.equal(torch.sign(wb[o]), layers.sign_plus(w[o]))
    # the layer computes conv(sign(x), alpha * sign(W))
    x = torch.randn(2, 5, 6, 6)
    ref = torch.nn.functional.conv2d(layers.sign_plus(x), layers.sign_plus(w) * alpha.view(-1, 1, 1, 1))
    assert torch.allclose(conv(x), ref, atol=1e-5)


def test_xnor_scale_linear_and_unscaled():
    torch.manual_seed(2)
    fc = layers.BinaryLinear(9, 4, scale="xnor")
    alpha = fc.weight.detach().abs().mean(dim=1, keepdim=True)
    assert torch.allclose(fc.binary_weight().detach(), layers.sign_plus(fc.weight.detach()) * alpha)
    plain = layers.BinaryLinear(9, 4)
    assert set(plain.binary_weight().detach().unique().tolist()) <= {-1.0, 1.0}


def test_bireal_weights():
    torch.manual_seed(3)
    conv = layers.BiRealBinaryConv2d(4, 6)
    w = conv.weight.detach()
    alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(conv.binary_weight().detach(), alpha * layers.sign_plus(w))
    conv.binary_weight().sum().backward()   # gradient of clamp(W, -1, 1)
    assert torch.equal(conv.weight.grad, (w.abs() <= 1).to(w.dtype))


def test_reactnet_modules():
    x = torch.randn(2, 3, 4, 4)
    lb = layers.LearnableBias(3)
    with torch.no_grad():
        lb.bias.copy_(torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1))
    assert torch.allclose(lb(x), x + lb.bias)
    rs = layers.RSign(3)
    rs.move.bias.data.copy_(lb.bias.data)
    assert torch.equal(rs(x), layers.sign_plus(x + lb.bias))
    rp = layers.RPReLU(3)
    y = rp(x)
    z = x + rp.move_in.bias
    ref = torch.where(z >= 0, z, rp.prelu.weight.view(1, 3, 1, 1) * z) + rp.move_out.bias
    assert torch.allclose(y, ref)


# --------------------------------------------------------------------- export
def op_counts(path):
    import onnx
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    return collections.Counter(n.op_type for n in model.graph.node), model


@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("opset", [9, 13])
@pytest.mark.parametrize("constant_folding", [True, False])
def test_export_contains_sign(tmp_path, arch, opset, constant_folding):
    torch.manual_seed(0)
    model = build(arch)
    path = export_onnx(model, tmp_path / f"{arch}.onnx", opset=opset,
                       constant_folding=constant_folding)
    ops, proto = op_counts(path)
    assert ops["Sign"] > 0
    assert not any(op.startswith("PythonOp") or op == "ATen" for op in ops), ops
    assert proto.opset_import[0].version == opset
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    if arch == "bireal":   # the straight-through residue is in the graph
        assert ops["Sub"] > 0 and ops["Less"] > 0 and ops["Clip"] > 0


def test_export_dynamic_batch(tmp_path):
    path = export_onnx(build("binarynet"), tmp_path / "b.onnx", dynamic_batch=True)
    _, proto = op_counts(path)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_bireal_residue_exports_like_public_code(tmp_path):
    a = export_onnx(torch.nn.Sequential(layers.BiRealApproxSign()), tmp_path / "a.onnx",
                    input_shape=(1, 2, 3, 3))
    b = export_onnx(torch.nn.Sequential(layers.BiRealApproxSign(torch_sign=True)),
                    tmp_path / "b.onnx", input_shape=(1, 2, 3, 3))
    assert op_counts(a)[0] == op_counts(b)[0]


# -------------------------------------------------------------------- dataset
def test_fmnist_and_heldout(tmp_path):
    x, y = fmnist.load("test", limit=100)
    assert x.shape == (100, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert abs(float(x.min()) - (0 - fmnist.MEAN) / fmnist.STD) < 1e-5
    path = fmnist.write_heldout(tmp_path / "h.npy", count=16, start=10,
                                labels_path=tmp_path / "l.npy")
    h = np.load(path)
    assert h.shape == (16, 1, 28, 28) and h.dtype == np.float32
    assert np.array_equal(h, x[10:26])
    assert np.array_equal(np.load(tmp_path / "l.npy"), y[10:26])


# ------------------------------------------------------------- trained models
@pytest.fixture(scope="module")
def test_images():
    x, y = fmnist.load("test", limit=2000)
    return torch.from_numpy(x), torch.from_numpy(y)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_trained_model_accuracy(arch, test_images):
    path = os.path.join(MODELS, f"{arch}.pt")
    state = torch.load(path, map_location="cpu")
    model = build(arch)
    model.load_state_dict(state)   # strict: every key, every shape
    model.eval()
    x, y = test_images
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).double().mean().item()
    assert acc >= MIN_ACCURACY[arch], f"{arch}: {acc:.4f}"
    assert os.path.getsize(path) < 400 * 1024
