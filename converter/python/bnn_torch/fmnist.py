"""Fashion-MNIST from Debian's fashion-mnist package (idx files, gzip)."""

import gzip
import os

import numpy as np

__all__ = ["ROOT", "MEAN", "STD", "LABELS", "load", "load_raw", "normalize",
           "write_heldout"]

ROOT = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860
STD = 0.3530
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
          "Sneaker", "Bag", "Ankle boot"]

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    if len(data) != header + count:
        raise ValueError(f"{path}: {len(data) - header} data bytes, dims {dims} need {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_raw(split="train", root=ROOT):
    """(uint8 images N x 28 x 28, uint8 labels N) of 'train' or 'test'."""
    images, labels = _FILES[split]
    x = _read_idx(os.path.join(root, images))
    y = _read_idx(os.path.join(root, labels))
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{split}: {x.shape[0]} images but {y.shape[0]} labels")
    return x, y


def normalize(images_u8):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28, (x/255 - MEAN) / STD."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :].astype(np.float32)


def load(split="train", root=ROOT, limit=None):
    """(float32 N x 1 x 28 x 28 normalised images, int64 labels N)."""
    x, y = load_raw(split, root)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return normalize(x), y.astype(np.int64)


def write_heldout(path, count=64, start=0, split="test", root=ROOT, labels_path=None):
    """Write `count` test images from `start` as float32 NCHW .npy (the input
    for `bnn-convert --check` and `bnn-run --input`); optionally the int64
    labels to labels_path.  Returns path."""
    x, y = load(split, root)
    if not 0 <= start < start + count <= x.shape[0]:
        raise ValueError(f"images {start}..{start + count} outside 0..{x.shape[0]}")
    np.save(path, np.ascontiguousarray(x[start:start + count]))
    if labels_path is not None:
        np.save(labels_path, y[start:start + count])
    return path
