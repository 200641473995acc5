"""dense: ONNX Gemm / MatMul + Add; weight (out, in), bias (out,)."""

from __future__ import annotations

from .base import Linear


class Dense(Linear):
    name = "dense"
    hls_buffers_tap = True  # its gradient unit reads the whole input vector before any error arrives

    def out_shape(self, layer):
        return (layer.params["weight"].shape[0],)

    def macs(self, layer):
        return int(layer.params["weight"].size)

    def forward(self, layer, x):
        return x @ layer.params["weight"].T + layer.params["bias"]

    def backward(self, layer, x, y, dy, need_dx=True):
        w = layer.params["weight"]
        return (dy @ w if need_dx else None), {"weight": dy.T @ x, "bias": dy.sum(axis=0)}

    def hls_error_unit(self, layer, n, e, e_in, z, err, shift, err_bits, acc_bits):
        """(config structs, calls) of the error unit: the transposed product on the forward weights (_t, no
        copy: the tied unit reads the forward banks), folded as the plan's (tied) err unit."""
        rows, cols = layer.params["weight"].shape
        structs = [{"name": f"{n}_t", "fields": [("O", cols), ("G", 1), ("K", rows), ("PE", err.pe),
                                                 ("SIMD", err.simd), ("BITS", err_bits), ("ACC_BITS", acc_bits),
                                                 ("SHIFT", shift)]}]
        return structs, [f"hilt::dense_tied<{n}_t_p, wgt_t>({e}, {e_in}, {n}_w)"]


OP = Dense()
