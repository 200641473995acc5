"""The float reference: forward and backward of a network in numpy (float32).

It is checked against onnxruntime (forward) and PyTorch autograd (backward) on the same ONNX model;
host training runs on it.
"""

from __future__ import annotations

import numpy as np

from ..ir import Network
from . import layers


def run(net: Network, x: np.ndarray) -> list[np.ndarray]:
    """All activations: [input, output of layer 1, ..., output of the last layer]."""
    acts = [np.asarray(x, dtype=np.float32)]
    for layer in net.layers:
        acts.append(layers.forward(layer, acts[-1]).astype(np.float32, copy=False))
    return acts


def forward(net: Network, x: np.ndarray) -> np.ndarray:
    """The network's output (what the ONNX graph outputs: softmax probabilities if it ends in one)."""
    return run(net, x)[-1]


def backward(net: Network, acts: list[np.ndarray], dout: np.ndarray, input_grad: bool = False):
    """(d input, {layer name: {'weight', 'bias'}}) for the gradient ``dout`` of the last activation.

    The input gradient is None unless ``input_grad``: training never needs it, and skipping the first
    layer's error propagation saves work."""
    grads = {}
    d = np.asarray(dout, np.float32)
    for i in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[i]
        d, g = layers.backward(layer, acts[i], acts[i + 1], d, need_dx=i > 0 or input_grad)
        if g:
            grads[layer.name] = {k: v.astype(np.float32, copy=False) for k, v in g.items()}
        if d is not None:
            d = d.astype(np.float32, copy=False)
    return d, grads


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy over the batch and its gradient with respect to the logits."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(labels)
    loss = -logp[np.arange(n), labels].mean()
    d = np.exp(logp)
    d[np.arange(n), labels] -= 1.0
    return float(loss), (d / n).astype(np.float32)


__all__ = ["run", "forward", "backward", "softmax_cross_entropy", "layers"]
