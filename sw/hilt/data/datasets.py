"""The Dataset type, splitting, fitting images to a model's input shape, and ``load_splits``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import HiltError

BUNDLED = "mnist5k"


@dataclass
class Dataset:
    x: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y: np.ndarray  # (N,) int64
    name: str = ""

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx) -> "Dataset":
        return Dataset(self.x[idx], self.y[idx], self.name)


def split_stratified(ds: Dataset, n_test: int, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Hold out ``n_test`` images with the class proportions of the whole set (deterministic)."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(ds.y, return_counts=True)
    quota = np.floor(counts * n_test / len(ds)).astype(int)
    for i in np.argsort(-(counts * n_test / len(ds) - quota))[: n_test - quota.sum()]:
        quota[i] += 1  # largest remainders take the leftover places
    test = np.concatenate([rng.permutation(np.flatnonzero(ds.y == c))[:q] for c, q in zip(classes, quota)])
    mask = np.zeros(len(ds), bool)
    mask[test] = True
    return ds.subset(np.flatnonzero(~mask)), ds.subset(np.sort(test))


def load_splits(spec: str = BUNDLED, shape: tuple[int, ...] | None = None) -> tuple[Dataset, Dataset]:
    """(train, held-out) for 'mnist5k' (4,000 / 1,000, stratified, seed 0) or a data set at a path.

    A path may be a directory or one file of MNIST idx files, CIFAR-10 batches (python or binary) or
    SVHN ``*_32x32.mat`` files; the set's own train/test split is used. An image folder (one subfolder
    per class, JPEG/PNG; ``hilt.data.imagefolder``) is decoded straight to ``shape`` (C, H, W).
    """
    from . import imagefolder, readers

    if spec == BUNDLED:
        return split_stratified(readers.read_mnist5k(), 1000, seed=0)
    path = Path(spec)
    if not path.exists():
        raise HiltError(f"{spec}: no such data set; use 'mnist5k' or a path to MNIST idx, CIFAR-10 or SVHN files")
    if imagefolder.is_image_folder(path):
        return imagefolder.read_image_folder(path, tuple(shape) if shape else (3, 224, 224))
    for reader in (readers.read_mnist_idx, readers.read_cifar10, readers.read_svhn):
        splits = reader(path)
        if splits is not None:
            return splits
    raise HiltError(f"{spec}: no MNIST idx (train-images-idx3-ubyte...), CIFAR-10 (data_batch_1...), SVHN "
                    f"(train_32x32.mat) files or image folder (<class>/<image>.jpg) found there")


def _resize(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Centre pad/crop for small differences (MNIST 28 <-> 32), bilinear zoom otherwise."""
    n, c, h0, w0 = x.shape
    if abs(h - h0) <= 4 and abs(w - w0) <= 4:
        out = np.zeros((n, c, h, w), np.float32)
        sy, sx = max(0, (h0 - h) // 2), max(0, (w0 - w) // 2)
        dy, dx = max(0, (h - h0) // 2), max(0, (w - w0) // 2)
        ch, cw = min(h, h0), min(w, w0)
        out[:, :, dy:dy + ch, dx:dx + cw] = x[:, :, sy:sy + ch, sx:sx + cw]
        return out
    from scipy.ndimage import zoom

    return zoom(x, (1, 1, h / h0, w / w0), order=1).astype(np.float32)


def fit_to(ds: Dataset, shape: tuple[int, ...]) -> Dataset:
    """Adapt images to a model's per-sample input shape (C, H, W): channels, then size."""
    c, h, w = shape
    x = ds.x
    if x.shape[1] != c:
        if x.shape[1] == 1:
            x = np.repeat(x, c, axis=1)
        elif c == 1:
            x = x.mean(axis=1, keepdims=True, dtype=np.float32)
        else:
            raise HiltError(f"data {ds.name} has {x.shape[1]} channels, the model wants {c}")
    if x.shape[2:] != (h, w):
        x = _resize(x, h, w)
    return Dataset(np.ascontiguousarray(x, dtype=np.float32), ds.y, ds.name)
