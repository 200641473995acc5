"""maxpool: kernel, stride, pads, ceil_mode; padding never wins a max; backward to the first maximum."""

from __future__ import annotations

import math

import numpy as np

from .base import Op, window_fields, window_out_shape


class MaxPool(Op):
    name = "maxpool"
    keeps_format = True
    error_keeps_format = True
    windowed = True
    fixed_stage = True
    int_backward = True
    hls_backward = True
    hls_buffers_tap = True  # its backward kernel reads the whole input map before any error arrives

    def out_shape(self, layer):
        return window_out_shape(layer, layer.in_shape[0])

    def forward(self, layer, x):
        from ..reference import windows as win

        return win.maxpool(x, layer.attrs, -np.inf)

    def backward(self, layer, x, y, dy, need_dx=True):
        from ..reference import windows as win

        return win.maxpool_backward(x, dy, layer.attrs, -np.inf), {}

    def int_forward(self, q, ql, layer, x):
        from ..golden.forward import INT_FILL
        from ..reference import windows as win

        return win.maxpool(x, layer.attrs, INT_FILL)

    def int_error(self, layer, x, y, e):
        from ..golden.forward import INT_FILL
        from ..reference import windows as win

        return win.maxpool_backward(x, e, layer.attrs, INT_FILL)

    def hls_fields(self, q, ql, layer):
        return window_fields(layer)

    def hls_error_step(self, cname, i, e_out, e_in):
        return f"hilt::maxpool_bwd<{cname}_p>({e_out}, tx{i}, {e_in})", ("x", i)

    def stash_bits(self, layer, bits):
        kh, kw = layer.attrs["kernel"]
        return int(np.prod(layer.out_shape)) * max(1, math.ceil(math.log2(kh * kw)))  # the argmax


OP = MaxPool()
