"""softmax: only as the last layer; the loss works on the logits before it, so no integer form."""

from __future__ import annotations

from .base import Op


class Softmax(Op):
    name = "softmax"
    keeps_format = True
    last_only = True

    def forward(self, layer, x):
        import numpy as np

        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, layer, x, y, dy, need_dx=True):
        return y * (dy - (dy * y).sum(axis=1, keepdims=True)), {}


OP = Softmax()
