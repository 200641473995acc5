"""Parameter provenance for layers the importer rewrote (see :mod:`hilt.ir.sources`).

Each class maps gradients of the canonical (weight, bias) back to the ONNX initializers by the chain
rule, so ``Model.gradients`` answers in the names the user's exporter chose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import ParamSources


@dataclass
class GemmSources(ParamSources):
    """Gemm: weight = alpha * (B if transB else B.T), bias = beta * C broadcast to (out,)."""

    b: str
    c: str | None
    alpha: float = 1.0
    beta: float = 1.0
    trans_b: bool = True
    c_shape: tuple[int, ...] = ()

    def pullback(self, grads):
        dw = self.alpha * grads["weight"]
        out = {self.b: dw if self.trans_b else dw.T}
        if self.c is not None:
            dc = self.beta * grads["bias"]
            if int(np.prod(self.c_shape)) == 1:
                dc = dc.sum()
            out[self.c] = np.asarray(dc, np.float32).reshape(self.c_shape)
        return out

    def names(self):
        return [n for n in (self.b, self.c) if n is not None]


@dataclass
class BatchNormSources(ParamSources):
    """A conv/dense followed by BatchNormalization (inference form), folded into one layer.

    With s = gamma / sqrt(var + eps): weight = W * s (per output), bias = (b - mean) * s + beta.
    Gradients reach W, b, gamma and beta; the running mean and variance are statistics, not
    parameters (as in PyTorch's eval mode), so they get none.
    """

    inner: ParamSources
    gamma: str
    beta: str
    scale: np.ndarray  # s
    inv_std: np.ndarray  # 1 / sqrt(var + eps)
    weight: np.ndarray  # W before folding
    bias_minus_mean: np.ndarray  # b - mean

    def pullback(self, grads):
        dwf, dbf = grads["weight"], grads["bias"]
        axes = tuple(range(1, dwf.ndim))
        s = self.scale.reshape((-1,) + (1,) * (dwf.ndim - 1))
        out = self.inner.pullback({"weight": dwf * s, "bias": dbf * self.scale})
        ds = (dwf * self.weight).sum(axis=axes) + dbf * self.bias_minus_mean
        out[self.gamma] = (ds * self.inv_std).astype(np.float32)
        out[self.beta] = dbf.astype(np.float32)
        return out

    def names(self):
        return self.inner.names() + [self.gamma, self.beta]
