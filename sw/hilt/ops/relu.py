"""relu: max(x, 0); after a conv/dense it is fused into that unit's requantizer (backward: a mask)."""

from __future__ import annotations

import numpy as np

from .base import Op


class Relu(Op):
    name = "relu"
    keeps_format = True
    error_keeps_format = True
    int_backward = True
    hls_backward = True
    fuses = True

    def forward(self, layer, x):
        return np.maximum(x, 0)

    def backward(self, layer, x, y, dy, need_dx=True):
        return dy * (y > 0), {}

    def int_forward(self, q, ql, layer, x):
        return np.maximum(x, 0)

    def int_error(self, layer, x, y, e):
        return e * (y > 0)

    def hls_error_step(self, cname, i, e_out, e_in):
        return f"hilt::relu_bwd<{cname}_p>({e_out}, ty{i + 1}, {e_in})", ("y", i + 1)

    def stash_bits(self, layer, bits):
        return int(np.prod(layer.in_shape))  # the mask


OP = Relu()
