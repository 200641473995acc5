"""Small helpers shared by the sub-commands: argument types, JSON output, formatting."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import HiltError
from ..fileio import write_text


def shape_str(shape) -> str:
    return "x".join(str(s) for s in shape)


def table(rows: list[list[str]], header: list[str], right: set[int] = frozenset()) -> str:
    """A plain-text table with aligned columns; indices in ``right`` are right-aligned."""
    cells = [header] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise HiltError(f"{path}: no such file; give a .npy array saved with numpy.save") from None
    except (ValueError, OSError) as err:
        raise HiltError(f"{path}: not a readable .npy array ({err})") from None


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="mnist5k", metavar="SPEC",
                        help="data set: 'mnist5k' (bundled, 4,000 train / 1,000 held-out) or a path to "
                             "MNIST idx files, CIFAR-10 batches or SVHN .mat files (default: mnist5k)")
