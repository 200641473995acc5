"""Image folders (one subfolder per class, JPEG/PNG), as torchvision's ImageFolder lays them out.

``ROOT/<class>/<image>``: classes are the subfolder names in sorted order (label = index). If ROOT
has ``train/`` and ``val/`` (or ``test/``) subfolders of that form, those are the two splits;
otherwise a stratified fifth is held out. Every image is decoded by Pillow, converted to RGB (or L for
one-channel models), its shorter side resized to ``resize`` (default: the crop size, i.e. no
margin) with bilinear filtering, centre-cropped to the model's input, and scaled to [0, 1];
``mean``/``std`` normalise per channel afterwards, as torchvision's Normalize does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import HiltError
from .datasets import Dataset, split_stratified

EXTENSIONS = (".jpg", ".jpeg", ".png")
HELD_OUT = 0.2


def _classes(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and any(_images(p)))


def _images(folder: Path):
    return (p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in EXTENSIONS)


def is_image_folder(root: Path) -> bool:
    root = Path(root)
    if not root.is_dir():
        return False
    if (root / "train").is_dir():
        return bool(_classes(root / "train"))
    return bool(_classes(root))


def load_image(path: Path, shape: tuple[int, int, int], resize: int | None = None) -> np.ndarray:
    """One image as (C, H, W) float32 in [0, 1]: shorter side to ``resize``, centre crop to (H, W)."""
    from PIL import Image, UnidentifiedImageError

    c, h, w = shape
    try:
        with Image.open(path) as im:
            im = im.convert("L" if c == 1 else "RGB")
            side = resize or max(h, w)
            scale = side / min(im.size)
            size = (max(w, round(im.size[0] * scale)), max(h, round(im.size[1] * scale)))
            im = im.resize(size, Image.BILINEAR)
            left, top = (size[0] - w) // 2, (size[1] - h) // 2
            a = np.asarray(im.crop((left, top, left + w, top + h)), np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as err:
        raise HiltError(f"{path}: not a readable JPEG/PNG image ({err})") from None
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    if a.shape[0] != c:
        raise HiltError(f"{path}: gives {a.shape[0]} channels, the model wants {c}")
    return a


def read_folder(root: Path, shape, classes: list[str] | None = None, resize: int | None = None,
                mean=None, std=None) -> Dataset:
    root = Path(root)
    folders = _classes(root)
    names = classes or [f.name for f in folders]
    files, labels = [], []
    for f in folders:
        if f.name not in names:
            raise HiltError(f"{f}: class '{f.name}' is not among the training classes ({', '.join(names)})")
        for p in _images(f):
            files.append(p)
            labels.append(names.index(f.name))
    if not files:
        raise HiltError(f"{root}: no JPEG/PNG images in class subfolders")
    x = np.stack([load_image(p, tuple(shape), resize) for p in files])
    if mean is not None or std is not None:
        m = np.asarray(mean if mean is not None else 0.0, np.float32).reshape(-1, 1, 1)
        s = np.asarray(std if std is not None else 1.0, np.float32).reshape(-1, 1, 1)
        if np.any(s <= 0):
            raise HiltError(f"std {std}: every channel's std must be positive")
        x = (x - m) / s
    return Dataset(x.astype(np.float32), np.asarray(labels, np.int64), root.name)


def read_image_folder(root, shape=(3, 224, 224), resize: int | None = None, mean=None, std=None,
                      seed: int = 0) -> tuple[Dataset, Dataset]:
    """(train, held-out) from an image folder, fitted to the per-sample ``shape`` (C, H, W)."""
    root = Path(root)
    if not is_image_folder(root):
        raise HiltError(f"{root}: not an image folder (ROOT/<class>/<image>.jpg|png, or ROOT/train/... and ROOT/val/...)")
    if (root / "train").is_dir():
        train = read_folder(root / "train", shape, None, resize, mean, std)
        names = [f.name for f in _classes(root / "train")]
        for held in ("val", "test"):
            if (root / held).is_dir():
                return train, read_folder(root / held, shape, names, resize, mean, std)
        return split_stratified(train, max(1, int(len(train) * HELD_OUT)), seed)
    ds = read_folder(root, shape, None, resize, mean, std)
    return split_stratified(ds, max(1, int(len(ds) * HELD_OUT)), seed)
