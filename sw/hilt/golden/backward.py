"""Integer backward: what the FPGA BP pipeline computes (docs/numerics.md, "Backward").

Errors are 16-bit words with their own format per tensor. Through conv the error propagates by the
forward conv kernel itself, run on the zero-inserted, padded error with rotated (180 degrees) and
transposed weights; through dense by the transposed weight matrix; ReLU masks by the forward output;
max-pool routes to the first maximum in window order. Weight gradients accumulate in 48 bits and
leave as 32-bit words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir import Layer
from ..ops import op_of
from ..quant import ERR_BITS, GRAD_ACC_BITS, GRAD_BITS, Format, QModel, requantize, wrap
from ..reference import windows as win
from .forward import exact_dtype


@dataclass
class BackwardResult:
    errors: list  # error (int) at each activation index; errors[0] is None (the input needs none)
    grads: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # 32-bit-range ints


def rotated_weights(weight: np.ndarray, groups: int) -> np.ndarray:
    """(O, C/G, kh, kw) -> (C, O/G, kh, kw): per group, swap in/out channels and rotate 180 degrees."""
    o, cg, kh, kw = weight.shape
    w = weight.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return np.ascontiguousarray(w).reshape(groups * cg, o // groups, kh, kw)


def _pad_or_crop(z: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    z = z[:, :, max(0, -top): z.shape[2] - max(0, -bottom), max(0, -left): z.shape[3] - max(0, -right)]
    return np.pad(z, ((0, 0), (0, 0), (max(0, top), max(0, bottom)), (max(0, left), max(0, right))))


def conv_error(err: np.ndarray, weight: np.ndarray, attrs: dict, in_shape, max_err: int, max_w: int) -> np.ndarray:
    """Exact integer input error of a conv: the forward kernel (stride 1) on the zero-inserted error."""
    (kh, kw), (sh, sw), (pt, pl, _, _) = attrs["kernel"], attrs["stride"], attrs["pads"]
    groups = int(attrs.get("groups", 1))
    n, o, ho, wo = err.shape
    h, w = in_shape[-2:]
    z = np.zeros((n, o, (ho - 1) * sh + 1, (wo - 1) * sw + 1), err.dtype)
    z[:, :, ::sh, ::sw] = err
    z = _pad_or_crop(z, kh - 1 - pt, h + pt - (ho - 1) * sh - 1, kw - 1 - pl, w + pl - (wo - 1) * sw - 1)
    dt = exact_dtype((o // groups) * kh * kw, max_err, max_w)
    unit = {"kernel": (kh, kw), "stride": (1, 1), "pads": (0, 0, 0, 0), "groups": groups}
    return win.conv(z.astype(dt), rotated_weights(weight, groups).astype(dt), unit).astype(np.int64)


def _weight_grads(layer: Layer, x: np.ndarray, e: np.ndarray, x_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact integer sums of error x activation (weights) and of the error (bias), before any shift."""
    terms = e.shape[0] * (int(np.prod(e.shape[2:])) if e.ndim == 4 else 1)
    dt = exact_dtype(terms, 1 << (ERR_BITS - 1), x_max)
    if op_of(layer).windowed:
        _, dw = win.conv_backward(x.astype(dt), layer.params["weight"], e.astype(dt), layer.attrs, need_dx=False)
        return dw.astype(np.int64), e.sum(axis=(0, 2, 3))
    return (e.astype(dt).T @ x.astype(dt)).astype(np.int64), e.sum(axis=0)


def error_format(q: QModel, index: int) -> Format:
    """Format of the error at activation ``index`` (the last one is the logits' error)."""
    layers = q.compute_layers()
    return q.err_out_fmt if index >= len(layers) else layers[index].err_in_fmt


def backward(q: QModel, taps: list[np.ndarray], err: np.ndarray) -> BackwardResult:
    """Integer errors and weight gradients for an integer error ``err`` at the logits (err_out_fmt)."""
    layers = q.compute_layers()
    errors = [None] * (len(layers) + 1)
    errors[-1] = e = np.asarray(err, np.int64)
    result = BackwardResult(errors)
    for i in range(len(layers) - 1, -1, -1):
        ql, layer = layers[i], layers[i].layer
        x, y = taps[i], taps[i + 1]
        fe_out, fe_in = error_format(q, i + 1), error_format(q, i)
        if layer.weighted:
            dw, db = _weight_grads(layer, x, e, -ql.in_fmt.qmin)
            result.grads[layer.name] = {
                "weight": requantize(wrap(dw, GRAD_ACC_BITS), fe_out.frac + ql.in_fmt.frac - ql.grad_fmt.frac, GRAD_BITS),
                "bias": requantize(wrap(db, GRAD_ACC_BITS), fe_out.frac - ql.bias_grad_fmt.frac, GRAD_BITS)}
            if i == 0:
                break
            w = ql.arrays["weight"]
            max_w = int(np.abs(w).max(initial=0))
            if op_of(layer).windowed:
                acc = conv_error(e, w, layer.attrs, x.shape, 1 << (ERR_BITS - 1), max_w)
            else:
                acc = (e.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
            e = requantize(wrap(acc, GRAD_ACC_BITS), fe_out.frac + ql.w_fmt.frac - fe_in.frac, ERR_BITS)
        else:
            e = op_of(layer).int_error(layer, x, y, e)
        errors[i] = e
    return result
