"""The golden fixed-point model: the bit-exact integer arithmetic every implementation must match.

    q = quantize(net, calibration_images)        # hilt.quant
    taps = golden.run(q, golden.quantize_input(q, x))   # int activations of every layer
    logits = golden.forward(q, x)                 # int logits (the host applies softmax)
    bp = golden.backward(q, taps, err)            # int errors and 32-bit weight gradients

The rules are in docs/numerics.md; HLS C-sim, RTL simulation and the emulator compare with == here.
``run_int64`` is the plain definition (int64, one ``layer_forward`` per layer); ``run`` and ``forward``
compute the same integers on floats that hold them exactly (``fast``), and are tested against it.
"""

from __future__ import annotations

import numpy as np

from ..quant import QModel
from . import fast
from .backward import BackwardResult, backward, conv_error, error_format, rotated_weights
from .forward import layer_forward, run_int64


def quantize_input(q: QModel, x: np.ndarray) -> np.ndarray:
    return q.input_fmt.to_int(x)


def run(q: QModel, x_int: np.ndarray) -> list[np.ndarray]:
    """Integer activations [input, layer 1, ..., logits] (a final softmax is left to the host): the
    integers of ``run_int64``, computed by the fast path."""
    return fast.run(q, x_int)


def forward(q: QModel, x: np.ndarray) -> np.ndarray:
    """Integer logits (int64) for a float NCHW batch: the last activation of ``run``."""
    return fast.forward(q, x)


def act_formats(q: QModel) -> list:
    layers = q.compute_layers()
    return [layers[0].in_fmt] + [l.out_fmt for l in layers]


def dequantize(q: QModel, ints: np.ndarray, index: int = -1) -> np.ndarray:
    """Float values of the integer activation at ``index`` (default: the logits)."""
    return act_formats(q)[index].to_float(ints)


def predict(q: QModel, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Top-1 class of each image."""
    return np.concatenate([forward(q, x[i:i + batch_size]).argmax(axis=1) for i in range(0, len(x), batch_size)])


def error_at_logits(q: QModel, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The host's part of the backward pass: softmax of the integer logits minus one-hot, quantized to
    the logits' error format (per sample; the 1/N of the mean loss belongs to the learning rate)."""
    z = dequantize(q, logits).astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    return q.err_out_fmt.to_int(p)


def grads_to_float(q: QModel, bp: BackwardResult) -> dict[str, dict[str, np.ndarray]]:
    """Weight gradients as floats (of the summed, not mean, loss)."""
    out = {}
    for name, g in bp.grads.items():
        ql = q.layer(name)
        out[name] = {"weight": ql.grad_fmt.to_float(g["weight"]), "bias": ql.bias_grad_fmt.to_float(g["bias"])}
    return out


__all__ = ["quantize_input", "run", "run_int64", "forward", "dequantize", "predict", "backward", "BackwardResult",
           "error_at_logits", "grads_to_float", "conv_error", "rotated_weights", "error_format", "act_formats"]
