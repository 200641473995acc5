"""flatten: (C, H, W) -> (C*H*W,) in C-major order (ONNX Flatten, torch view); the HWC stream already is
the flattened vector, so the dense layer after it gets its weight columns reordered instead."""

from __future__ import annotations

import numpy as np

from .base import Op


class Flatten(Op):
    name = "flatten"
    keeps_format = True
    error_keeps_format = True
    int_backward = True
    hls_backward = True

    def out_shape(self, layer):
        return (int(np.prod(layer.in_shape)),)

    def forward(self, layer, x):
        return x.reshape(len(x), -1)

    def backward(self, layer, x, y, dy, need_dx=True):
        return dy.reshape(x.shape), {}

    def int_forward(self, q, ql, layer, x):
        return x.reshape(len(x), -1)

    def int_error(self, layer, x, y, e):
        return e.reshape(x.shape)

    def hls_error_step(self, cname, i, e_out, e_in):
        return f"hilt::flatten<{cname}_p>({e_out}, {e_in})", None


OP = Flatten()
