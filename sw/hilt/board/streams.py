"""What travels on the accelerator's streams, in the interface's orders, from and to the model's arrays.

The interface (``hilt.accel.interface``) fixes the stream's sections and their packing; this module puts a
model's tensors in those sections: feature maps go pixel-major, channel-minor (HWC), and a dense layer fed
by a flatten takes its weight columns in HWC order too (ONNX flattens CHW). The driver packs with these
functions and the simulated board's accelerator unpacks with their inverses, so both read one definition.
numpy only: this runs on the board.
"""

from __future__ import annotations

import numpy as np


def to_hwc(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, H*W*C); vectors (N, K) pass unchanged."""
    a = np.asarray(a)
    if a.ndim == 4:
        return a.transpose(0, 2, 3, 1).reshape(a.shape[0], -1)
    return a.reshape(a.shape[0], -1)


def from_hwc(flat: np.ndarray, shape) -> np.ndarray:
    """(N, H*W*C) -> (N, *shape) for a per-sample shape (C, H, W) or (K,)."""
    flat = np.asarray(flat)
    if len(shape) == 3:
        c, h, w = shape
        return flat.reshape(-1, h, w, c).transpose(0, 3, 1, 2)
    return flat.reshape((-1,) + tuple(shape))


def flattened_from(net) -> dict[str, tuple]:
    """Per dense layer fed (through ReLUs) by a flatten of a (C, H, W) map: that map's shape."""
    out, source = {}, None
    for layer in net.layers:
        if layer.op == "flatten" and len(layer.in_shape) == 3:
            source = tuple(layer.in_shape)
        elif layer.op == "dense":
            if source is not None:
                out[layer.name] = source
            source = None
        elif layer.op != "relu":
            source = None
    return out


def weight_rows(weight: np.ndarray, flat_from: tuple | None) -> np.ndarray:
    """A conv/dense weight as the stream's O x K matrix (dense columns CHW -> HWC after a flatten)."""
    w = np.asarray(weight).reshape(weight.shape[0], -1)
    if flat_from is not None:
        c, h, ww = flat_from
        w = w.reshape(-1, c, h, ww).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
    return w


def weight_from_rows(rows: np.ndarray, shape, flat_from: tuple | None) -> np.ndarray:
    """The inverse of :func:`weight_rows`: the stream's O x K matrix back to the layer's weight shape."""
    w = np.asarray(rows).reshape(shape[0], -1)
    if flat_from is not None:
        c, h, ww = flat_from
        w = w.reshape(-1, h, ww, c).transpose(0, 3, 1, 2).reshape(w.shape[0], -1)
    return w.reshape(shape)


def weight_arrays(q) -> list[np.ndarray]:
    """MODE_LOAD_WEIGHTS's arrays, in the order of the manifest's weight blocks: each weighted layer's
    O x K weights, then its biases."""
    flat = flattened_from(q.network)
    arrays = []
    for ql, layer in zip(q.compute_layers(), q.network.layers):
        if layer.weighted:
            arrays += [weight_rows(ql.arrays["weight"], flat.get(layer.name)), ql.arrays["bias"]]
    return arrays


def signature(q) -> list:
    """What a design compiles in besides its weights (formats and shifts): a model with another signature
    needs another bitstream."""
    return [[ql.name, ql.op, ql.shift, ql.lut_shift, list(ql.in_fmt.to_json()), list(ql.out_fmt.to_json()),
             list(ql.w_fmt.to_json()) if ql.w_fmt else None] for ql in q.compute_layers()]
