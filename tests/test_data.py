"""Data: the bundled MNIST-5k split, and each reader on small files written here in its real format."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from hilt.data import Dataset, fit_to, load_splits, split_stratified
from hilt.errors import HiltError


def test_mnist5k_is_4000_train_1000_held_out_stratified(mnist_splits):
    train_ds, test_ds = mnist_splits
    assert len(train_ds) == 4000 and len(test_ds) == 1000
    assert train_ds.x.shape[1:] == (1, 28, 28) and train_ds.x.dtype == np.float32
    assert 0.0 <= train_ds.x.min() and train_ds.x.max() <= 1.0
    counts = np.bincount(test_ds.y, minlength=10)
    total = np.bincount(np.concatenate([train_ds.y, test_ds.y]), minlength=10)
    assert np.all(np.abs(counts - total / 5) <= 1)
    again = load_splits("mnist5k")[1]
    assert np.array_equal(again.y, test_ds.y) and np.array_equal(again.x, test_ds.x)


def _idx(arr: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def test_mnist_idx_reader_plain_and_gzipped(tmp_path, rng):
    imgs = {k: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for k, n in (("train", 6), ("t10k", 4))}
    labels = {k: rng.integers(0, 10, len(v), dtype=np.uint8) for k, v in imgs.items()}
    for k in imgs:
        (tmp_path / f"{k}-images-idx3-ubyte").write_bytes(_idx(imgs[k]))
        (tmp_path / f"{k}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels[k])))
    train_ds, test_ds = load_splits(str(tmp_path))
    assert train_ds.x.shape == (6, 1, 28, 28) and np.array_equal(test_ds.y, labels["t10k"])
    assert np.allclose(train_ds.x[:, 0] * 255, imgs["train"])


def test_broken_idx_file_is_named(tmp_path):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\x01\x02")
    with pytest.raises(HiltError, match="idx"):
        load_splits(str(tmp_path))


def _cifar_arrays(rng, n):
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def test_cifar10_python_batches(tmp_path, rng):
    batches = {}
    for name, n in [("data_batch_1", 5), ("data_batch_2", 3), ("test_batch", 4)]:
        data, labels = _cifar_arrays(rng, n)
        batches[name] = (data, labels)
        with open(tmp_path / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels}, f)
    train_ds, test_ds = load_splits(str(tmp_path))
    assert train_ds.x.shape == (8, 3, 32, 32) and test_ds.y.tolist() == batches["test_batch"][1]
    assert np.allclose(test_ds.x[1, 2, 0, :4] * 255, batches["test_batch"][0][1, 2048:2052])


def test_cifar10_python_batch_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    for name in ("data_batch_1", "test_batch"):
        with open(tmp_path / name, "wb") as f:
            pickle.dump({b"data": Evil(), b"labels": [0]}, f)
    with pytest.raises(HiltError, match="not a CIFAR-10 python batch"):
        load_splits(str(tmp_path))


def test_cifar10_binary_batches(tmp_path, rng):
    expected = {}
    for name, n in [("data_batch_1.bin", 3), ("test_batch.bin", 2)]:
        data, labels = _cifar_arrays(rng, n)
        expected[name] = labels
        (tmp_path / name).write_bytes(np.concatenate([np.array(labels, np.uint8)[:, None], data], axis=1).tobytes())
    train_ds, test_ds = load_splits(str(tmp_path))
    assert len(train_ds) == 3 and test_ds.y.tolist() == expected["test_batch.bin"]


def test_svhn_mat_files(tmp_path, rng):
    from scipy.io import savemat

    for name, n in [("train_32x32.mat", 5), ("test_32x32.mat", 3)]:
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = np.array([[10], [1], [2], [10], [9]][:n], np.uint8)
        savemat(tmp_path / name, {"X": x, "y": y})
    train_ds, test_ds = load_splits(str(tmp_path))
    assert train_ds.x.shape == (5, 3, 32, 32) and train_ds.y.tolist() == [0, 1, 2, 0, 9]


def test_unknown_folder_and_missing_path(tmp_path):
    with pytest.raises(HiltError, match="no MNIST idx"):
        load_splits(str(tmp_path))
    with pytest.raises(HiltError, match="no such data set"):
        load_splits(str(tmp_path / "missing"))


def test_fit_to_pads_crops_converts_channels_and_zooms(rng):
    ds = Dataset(rng.random((2, 1, 28, 28), dtype=np.float32), np.array([0, 1]))
    padded = fit_to(ds, (3, 32, 32))
    assert padded.x.shape == (2, 3, 32, 32) and np.array_equal(padded.x[:, 1, 2:30, 2:30], ds.x[:, 0])
    back = fit_to(Dataset(padded.x, ds.y), (1, 28, 28))
    assert np.allclose(back.x, ds.x, atol=1e-6)
    assert fit_to(ds, (3, 227, 227)).x.shape == (2, 3, 227, 227)


def test_split_stratified_is_deterministic_and_disjoint(rng):
    ds = Dataset(np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1), np.repeat(np.arange(4), 25))
    a_train, a_test = split_stratified(ds, 20, seed=3)
    b_train, b_test = split_stratified(ds, 20, seed=3)
    assert np.array_equal(a_test.x, b_test.x) and len(a_train) == 80
    assert not set(a_train.x.ravel()) & set(a_test.x.ravel())
    assert np.bincount(a_test.y).tolist() == [5, 5, 5, 5]
