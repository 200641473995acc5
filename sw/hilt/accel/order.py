"""The order a model's tensors take on the accelerator's streams, defined once.

The interface (:mod:`hilt.accel.interface`) fixes the sections and their packing; this module puts a
model's arrays into those sections and back. Feature maps travel pixel-major, channel-minor (HWC). A
flatten's output travels in its input map's HWC order (the hardware never reorders a map; the model
flattens C-major), so a dense layer fed by a flatten (through ReLUs) takes its weight columns in HWC order
too. The HLS project writer, the RTL twin, the C-sim runner, the PYNQ driver and the simulated board all
read these functions. numpy only: this runs on the board.
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


# ---- activations (taps, errors) --------------------------------------------------------------------

def tap_layout(op: str, in_shape, out_shape) -> tuple[tuple, bool]:
    """How a layer's output is streamed: (the shape it is streamed as, whether the model holds it flattened)."""
    if op == "flatten" and len(in_shape) == 3:
        return tuple(in_shape), True
    return tuple(out_shape), False


def tap_layouts(net, count: int | None = None) -> list[tuple[tuple, bool]]:
    """Per activation index (the input, then the first ``count`` layers' outputs): :func:`tap_layout`."""
    layers = net.layers if count is None else net.layers[:count]
    return [(tuple(net.input_shape), False)] + [tap_layout(l.op, l.in_shape, l.out_shape) for l in layers]


def tap_to_stream(a: np.ndarray, shape, flat: bool) -> np.ndarray:
    """(N, ...) values in the model's layout -> (N, size) in stream order."""
    a = np.asarray(a)
    return to_hwc(a.reshape((len(a),) + tuple(shape)) if flat else a)


def tap_from_stream(b: np.ndarray, shape, flat: bool) -> np.ndarray:
    """The inverse of :func:`tap_to_stream`."""
    b = np.asarray(b)
    out = from_hwc(b, shape)
    return out.reshape(len(b), -1) if flat else out


# ---- weights -----------------------------------------------------------------------------------------

def weighted_pairs(q):
    """Per conv/dense layer: (QLayer, Layer, the (C, H, W) a dense layer's input was flattened from, or None),
    in the weight stream's order."""
    flat_from = None
    out = []
    for ql, layer in q.pairs():
        if layer.op == "flatten":
            flat_from = tuple(layer.in_shape) if len(layer.in_shape) == 3 else None
        if layer.weighted:
            out.append((ql, layer, flat_from if layer.op == "dense" else None))
            flat_from = None
        elif layer.op not in ("flatten", "relu"):
            flat_from = None
    return out


def hwc_columns(weight: np.ndarray, in_shape) -> np.ndarray:
    """Dense weight columns from ONNX's flatten order (c, h, w) to the stream's order (h, w, c)."""
    c, h, w = in_shape
    return np.asarray(weight).reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def chw_columns(rows: np.ndarray, in_shape) -> np.ndarray:
    """The inverse of :func:`hwc_columns`."""
    c, h, w = in_shape
    return np.asarray(rows).reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(rows.shape[0], -1)


def weight_rows(weight: np.ndarray, flat_from) -> np.ndarray:
    """A conv/dense weight (or its gradient) as the stream's O x K matrix."""
    w = np.asarray(weight).reshape(weight.shape[0], -1)
    return hwc_columns(w, flat_from) if flat_from is not None else w


def weight_from_rows(rows: np.ndarray, shape, flat_from) -> np.ndarray:
    """The inverse of :func:`weight_rows`: the stream's O x K matrix back to the layer's weight shape."""
    w = np.asarray(rows).reshape(shape[0], -1)
    return (chw_columns(w, flat_from) if flat_from is not None else w).reshape(shape)


def weight_arrays(q) -> list[np.ndarray]:
    """MODE_LOAD_WEIGHTS's values: per conv/dense layer its O x K weights (flat), then its O biases."""
    parts = []
    for ql, layer, src in weighted_pairs(q):
        parts += [weight_rows(ql.arrays["weight"], src).reshape(-1).astype(np.int64),
                  np.asarray(ql.arrays["bias"]).astype(np.int64)]
    return parts
