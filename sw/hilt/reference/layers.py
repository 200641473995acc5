"""Float forward and backward of each IR op (numpy, float32, vectorised over the batch).

The op modules (hilt.ops) hold each op's formulas; the vectorised window kernels are in ``windows``.
"""

from __future__ import annotations

import numpy as np

from ..ir import Layer
from ..ops import op_of
from ..ops.lrn import lrn_denominator, lrn_extent

__all__ = ["forward", "backward", "lrn_extent", "lrn_denominator"]


def forward(layer: Layer, x: np.ndarray) -> np.ndarray:
    return op_of(layer).forward(layer, x)


def backward(layer: Layer, x: np.ndarray, y: np.ndarray, dy: np.ndarray, need_dx: bool = True):
    """(dx, {param: grad}) for one layer given its input x, output y and output gradient dy."""
    return op_of(layer).backward(layer, x, y, dy, need_dx)
