"""avgpool: kernel, stride, pads, ceil_mode, count_include_pad; window sum times round(2^16 / count)."""

from __future__ import annotations

from .base import Op, window_fields, window_out_shape


class AvgPool(Op):
    name = "avgpool"
    keeps_format = True
    error_keeps_format = True
    windowed = True
    fixed_stage = True
    int_backward = True  # the golden model spreads the error; the HLS BP pipeline has no kernel for it yet

    def out_shape(self, layer):
        return window_out_shape(layer, layer.in_shape[0])

    def forward(self, layer, x):
        from ..reference import windows as win

        return (win.window_sum(x, layer.attrs) / win.pool_counts(x.shape, layer.attrs)).astype(x.dtype)

    def backward(self, layer, x, y, dy, need_dx=True):
        from ..reference import windows as win

        a = layer.attrs
        return win.spread_windows(dy / win.pool_counts(x.shape, a), a, x.shape).astype(x.dtype), {}

    def int_forward(self, q, ql, layer, x):
        from ..golden.forward import AVG_RECIP_BITS, avg_recip
        from ..quant import requantize
        from ..reference import windows as win

        total = win.window_sum(x, layer.attrs)
        return requantize(total * avg_recip(win.pool_counts(x.shape, layer.attrs)), AVG_RECIP_BITS, q.bits)

    def int_error(self, layer, x, y, e):
        from ..golden.forward import AVG_RECIP_BITS, avg_recip
        from ..quant import ERR_BITS, saturate, shift_round
        from ..reference import windows as win

        share = shift_round(e * avg_recip(win.pool_counts(x.shape, layer.attrs)), AVG_RECIP_BITS)
        return saturate(win.spread_windows(share, layer.attrs, x.shape), ERR_BITS)

    def hls_fields(self, q, ql, layer):
        return {**window_fields(layer), "INCLUDE_PAD": int(bool(layer.attrs.get("count_include_pad"))), "BITS": q.bits}


OP = AvgPool()
