#!/usr/bin/python3
"""Train one of bnn_torch's binary networks on Fashion-MNIST.

    /usr/bin/python3 converter/python/train_fmnist.py --arch bireal --epochs 4 \
        --out models/fmnist/bireal.pt [--onnx models/fmnist/bireal.onnx]

Adam, cosine learning-rate decay per step to 0, batch 128, cross-entropy; one
CPU thread unless --threads says otherwise.  Prints the training loss and the
test accuracy after every epoch and saves the state dict (torch.save) to --out.
"""

import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bnn_torch import fmnist  # noqa: E402
from bnn_torch.export import export_onnx  # noqa: E402
from bnn_torch.models import ARCHS, build, latent_clip_  # noqa: E402


@torch.no_grad()
def evaluate(model, x, y, batch_size=1000):
    """Top-1 accuracy of model (put in eval mode) on tensors x, y."""
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        correct += (model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / x.shape[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", required=True, choices=sorted(ARCHS))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--out", required=True, help="state dict path (.pt)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=None,
                    help="use only the first N training images (smoke tests)")
    ap.add_argument("--onnx", default=None, help="also export ONNX (opset 13, folded) here")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    xtr, ytr = (torch.from_numpy(a) for a in fmnist.load("train", limit=args.train_limit))
    xte, yte = (torch.from_numpy(a) for a in fmnist.load("test"))

    model = build(args.arch)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"{args.arch}: {nparams} parameters, {xtr.shape[0]} training images, "
          f"{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}", flush=True)

    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(xtr.shape[0] / args.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(args.seed)

    start = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        total, seen = 0.0, 0
        for i in range(0, xtr.shape[0], args.batch_size):
            idx = perm[i:i + args.batch_size]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            latent_clip_(model)
            sched.step()
            total += loss.item() * idx.shape[0]
            seen += idx.shape[0]
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch}/{args.epochs}: train loss {total / seen:.4f}, "
              f"test accuracy {100 * acc:.2f}%, {time.time() - start:.0f} s", flush=True)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(model.state_dict(), args.out)
    print(f"saved {args.out} ({os.path.getsize(args.out)} bytes); "
          f"test accuracy {100 * acc:.2f}%, trained in {time.time() - start:.0f} s")
    if args.onnx:
        export_onnx(model, args.onnx)
        print(f"exported {args.onnx}")


if __name__ == "__main__":
    main()
