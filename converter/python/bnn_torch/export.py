"""ONNX export for bnn-convert."""

import torch

__all__ = ["export_onnx"]


def export_onnx(model, path, input_shape=(1, 1, 28, 28), opset=13,
                constant_folding=True, dynamic_batch=False):
    """Export `model` (put in eval mode) to ONNX at `path`; returns `path`.

    The graph input is named "input" (NCHW float32 of `input_shape`), the
    output "logits".  bnn-convert accepts both constant_folding settings:
    folded, binary weights arrive as constant initializers (alpha * sign(W));
    unfolded, as Sign/Abs/ReduceMean/Mul... subgraphs over the float
    initializer.  dynamic_batch=True makes dimension 0 of both symbolic.
    """
    model.eval()
    dummy = torch.zeros(*input_shape, dtype=torch.float32)
    dynamic_axes = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(model, dummy, str(path), input_names=["input"],
                          output_names=["logits"], opset_version=opset,
                          do_constant_folding=constant_folding,
                          dynamic_axes=dynamic_axes)
    return path
