"""lrn: ONNX/Caffe across-channel local response normalisation (size, alpha, beta, bias); integer form
through the quantized model's lookup table."""

from __future__ import annotations

import numpy as np

from .base import Op


def lrn_extent(size: int) -> tuple[int, int]:
    """Channels before and after c in an LRN window (ONNX: floor((size-1)/2), ceil((size-1)/2))."""
    return (size - 1) // 2, size // 2


def lrn_denominator(x: np.ndarray, a: dict) -> np.ndarray:
    from ..reference import windows as win

    before, after = lrn_extent(a["size"])
    return a["bias"] + (a["alpha"] / a["size"]) * win.channel_window_sum(x * x, before, after)


class Lrn(Op):
    name = "lrn"
    fixed_stage = True
    stage_resources = {"bram18": 1, "dsp": 1}  # the 1,024-entry table and the multiplier

    def forward(self, layer, x):
        return (x * lrn_denominator(x, layer.attrs) ** -layer.attrs["beta"]).astype(x.dtype)

    def backward(self, layer, x, y, dy, need_dx=True):
        from ..reference import windows as win

        a = layer.attrs
        before, after = lrn_extent(a["size"])
        d = lrn_denominator(x, a)
        t = dy * x * d ** (-a["beta"] - 1)
        # x_c' appears in the window of every c with c' - after <= c <= c' + before
        back = win.channel_window_sum(t, after, before)
        return (dy * d ** -a["beta"] - (2 * a["alpha"] * a["beta"] / a["size"]) * x * back).astype(x.dtype), {}

    def calibrate(self, ql, layer, in_max):
        from ..quant.calibrate import lrn_table

        lrn_table(ql, layer.attrs, in_max)

    def int_forward(self, q, ql, layer, x):
        from ..quant import requantize
        from ..quant.calibrate import LUT_SIZE
        from ..reference import windows as win

        before, after = lrn_extent(layer.attrs["size"])
        s = win.channel_window_sum(x * x, before, after)
        idx = np.minimum(s >> ql.lut_shift, LUT_SIZE - 1)
        return requantize(x * ql.arrays["lut"][idx], ql.shift, q.bits)

    def hls_fields(self, q, ql, layer):
        from ..quant.calibrate import LUT_SIZE

        before, after = lrn_extent(layer.attrs["size"])
        c, h, w = layer.in_shape
        return {"C": c, "H": h, "W": w, "BEFORE": before, "AFTER": after, "LUT_SHIFT": ql.lut_shift,
                "LUT_SIZE": LUT_SIZE, "SHIFT": ql.shift, "BITS": q.bits}

    def hls_lut(self, ql):
        return [int(v) for v in ql.arrays["lut"]]

    def hls_call(self, cname, inp, outp):
        return f"hilt::lrn<{cname}_p>({inp}, {outp}, {cname}_lut)"

    def stash_bits(self, layer, bits):
        return int(np.prod(layer.in_shape)) * bits


OP = Lrn()
