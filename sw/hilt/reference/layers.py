"""Float forward and backward of each IR op (numpy, float32, vectorised over the batch)."""

from __future__ import annotations

import numpy as np

from ..ir import Layer
from . import windows as win


def lrn_extent(size: int) -> tuple[int, int]:
    """Channels before and after c in an LRN window (ONNX: floor((size-1)/2), ceil((size-1)/2))."""
    return (size - 1) // 2, size // 2


def lrn_denominator(x: np.ndarray, a: dict) -> np.ndarray:
    before, after = lrn_extent(a["size"])
    return a["bias"] + (a["alpha"] / a["size"]) * win.channel_window_sum(x * x, before, after)


def forward(layer: Layer, x: np.ndarray) -> np.ndarray:
    op, a, p = layer.op, layer.attrs, layer.params
    if op == "conv":
        return win.conv(x, p["weight"], a) + p["bias"][None, :, None, None]
    if op == "dense":
        return x @ p["weight"].T + p["bias"]
    if op == "relu":
        return np.maximum(x, 0)
    if op == "maxpool":
        return win.maxpool(x, a, -np.inf)
    if op == "avgpool":
        return (win.window_sum(x, a) / win.pool_counts(x.shape, a)).astype(x.dtype)
    if op == "lrn":
        return (x * lrn_denominator(x, a) ** -a["beta"]).astype(x.dtype)
    if op == "flatten":
        return x.reshape(len(x), -1)
    if op == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(f"layer {layer.name}: no reference for op {op}")


def backward(layer: Layer, x: np.ndarray, y: np.ndarray, dy: np.ndarray, need_dx: bool = True):
    """(dx, {param: grad}) for one layer given its input x, output y and output gradient dy."""
    op, a, p = layer.op, layer.attrs, layer.params
    if op == "conv":
        dx, dw = win.conv_backward(x, p["weight"], dy, a, need_dx)
        return dx, {"weight": dw, "bias": dy.sum(axis=(0, 2, 3))}
    if op == "dense":
        return (dy @ p["weight"] if need_dx else None), {"weight": dy.T @ x, "bias": dy.sum(axis=0)}
    if op == "relu":
        return dy * (y > 0), {}
    if op == "maxpool":
        return win.maxpool_backward(x, dy, a, -np.inf), {}
    if op == "avgpool":
        return win.spread_windows(dy / win.pool_counts(x.shape, a), a, x.shape).astype(x.dtype), {}
    if op == "lrn":
        before, after = lrn_extent(a["size"])
        d = lrn_denominator(x, a)
        t = dy * x * d ** (-a["beta"] - 1)
        # x_c' appears in the window of every c with c' - after <= c <= c' + before
        back = win.channel_window_sum(t, after, before)
        return (dy * d ** -a["beta"] - (2 * a["alpha"] * a["beta"] / a["size"]) * x * back).astype(x.dtype), {}
    if op == "flatten":
        return dy.reshape(x.shape), {}
    if op == "softmax":
        return y * (dy - (dy * y).sum(axis=1, keepdims=True)), {}
    raise ValueError(f"layer {layer.name}: no reference backward for op {op}")
