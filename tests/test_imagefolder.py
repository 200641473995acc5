"""The image-folder reader on a small folder of JPEG and PNG files the test writes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hilt.data import load_splits
from hilt.data.imagefolder import load_image, read_image_folder
from hilt.errors import HiltError


def _write(path, rgb, size=(40, 30), fmt="PNG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path, fmt)


def _folder(root):
    for cls, rgb in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        for i in range(5):
            _write(root / cls / f"{i}.png", rgb)
        _write(root / cls / "x.jpg", rgb, fmt="JPEG")
    return root


def test_classes_labels_and_split(tmp_path):
    train, test = read_image_folder(_folder(tmp_path / "set"), (3, 16, 16))
    assert train.x.shape[1:] == (3, 16, 16) and train.x.dtype == np.float32
    assert len(train) + len(test) == 12 and len(test) == 2
    assert sorted(set(test.y)) == [0, 1]  # stratified: one of each class held out
    red = train.x[train.y == 0]  # "cat" sorts first: label 0, red images
    assert np.allclose(red[:, 0], 1.0, atol=0.02) and np.allclose(red[:, 2], 0.0, atol=0.02)


def test_resize_then_centre_crop(tmp_path):
    im = np.zeros((20, 40, 3), np.uint8)
    im[:, 10:30] = 255  # a white centre band 20 wide in a 40-wide image
    Image.fromarray(im).save(tmp_path / "a.png")
    a = load_image(tmp_path / "a.png", (3, 10, 10))  # shorter side 20 -> 10: 20x10, centre crop 10x10
    assert a.shape == (3, 10, 10)
    assert a[:, :, 3:7].min() > 0.9  # the crop is the white centre
    g = load_image(tmp_path / "a.png", (1, 10, 10))
    assert g.shape == (1, 10, 10)


def test_train_val_folders_and_normalisation(tmp_path):
    root = tmp_path / "tv"
    _folder(root / "train")
    _write(root / "val" / "dog" / "v.png", (0, 0, 255))
    train, val = read_image_folder(root, (3, 8, 8), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert len(train) == 12 and len(val) == 1 and val.y[0] == 1
    assert np.allclose(val.x[0, 2], 1.0, atol=0.02) and np.allclose(val.x[0, 0], -1.0, atol=0.02)


def test_data_argument_path_and_errors(tmp_path):
    train, _ = load_splits(str(_folder(tmp_path / "cli")), shape=(3, 12, 12))
    assert train.x.shape[1:] == (3, 12, 12)
    bad = tmp_path / "bad" / "c"
    bad.mkdir(parents=True)
    (bad / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(HiltError, match="broken.jpg"):
        read_image_folder(tmp_path / "bad", (3, 8, 8))
    with pytest.raises(HiltError, match="not an image folder"):
        read_image_folder(tmp_path / "nothing", (3, 8, 8))
    root = tmp_path / "tv2"
    _folder(root / "train")
    _write(root / "val" / "bird" / "b.png", (0, 255, 0))
    with pytest.raises(HiltError, match="bird"):
        read_image_folder(root, (3, 8, 8))
