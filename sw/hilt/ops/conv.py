"""conv: ONNX Conv (groups, stride, asymmetric padding); weight (O, C/G, kh, kw), bias (O,)."""

from __future__ import annotations

from .base import Linear, window_fields, window_out_shape


class Conv(Linear):
    name = "conv"
    windowed = True

    def out_shape(self, layer):
        return window_out_shape(layer, layer.params["weight"].shape[0])

    def macs(self, layer):
        o, i_g, kh, kw = layer.params["weight"].shape
        return int(o * i_g * kh * kw * layer.out_shape[1] * layer.out_shape[2])

    def forward(self, layer, x):
        from ..reference import windows as win

        return win.conv(x, layer.params["weight"], layer.attrs) + layer.params["bias"][None, :, None, None]

    def backward(self, layer, x, y, dy, need_dx=True):
        from ..reference import windows as win

        dx, dw = win.conv_backward(x, layer.params["weight"], dy, layer.attrs, need_dx)
        return dx, {"weight": dw, "bias": dy.sum(axis=(0, 2, 3))}

    def hls_fields(self, q, ql, layer):
        return {**window_fields(layer), **super().hls_fields(q, ql, layer)}

    def hls_error_unit(self, layer, n, e, e_in, z, err, shift, err_bits, acc_bits):
        """(config structs, calls) of the error unit: zero insertion and padding of the error map (_z),
        then the forward conv kernel with rotated, transposed weights (_e), folded as the plan's err unit."""
        o, cg, kh, kw = layer.params["weight"].shape
        g = int(layer.attrs.get("groups", 1))
        c_in, h, w = layer.in_shape
        _, ho, wo = layer.out_shape
        (sh, sw), (pt, pl, _, _) = layer.attrs["stride"], layer.attrs["pads"]
        hz, wz = h + kh - 1, w + kw - 1
        structs = [{"name": f"{n}_z", "fields": [("C", o), ("HO", ho), ("WO", wo), ("SH", sh), ("SW", sw),
                                                 ("ZT", kh - 1 - pt), ("ZL", kw - 1 - pl), ("HZ", hz), ("WZ", wz)]},
                   {"name": f"{n}_e", "fields": [
                       ("C", o), ("H", hz), ("W", wz), ("KH", kh), ("KW", kw), ("SH", 1), ("SW", 1), ("PT", 0), ("PL", 0),
                       ("HP", hz), ("WP", wz), ("HO", h), ("WO", w), ("O", c_in), ("G", g), ("K", (o // g) * kh * kw),
                       ("PE", err.pe), ("SIMD", err.simd), ("BITS", err_bits), ("ACC_BITS", acc_bits),
                       ("SHIFT", shift), ("PACK", 1)]}]  # 16-bit errors: one multiply per DSP
        return structs, [f"hilt::dilate_pad<{n}_z_p>({e}, {z})", f"hilt::conv<{n}_e_p, wgt_t>({z}, {e_in}, {n}_wr, zeros)"]


OP = Conv()
