"""Where a layer's effective parameters came from in the ONNX file.

The IR stores each conv/dense layer in one canonical form (conv weight OIHW, dense weight (out, in),
bias always present). The ONNX file may have stored them differently: a Gemm with transB=0 or
alpha != 1, a MatMul + Add pair, a conv followed by a BatchNormalization that the importer folded.
A ``ParamSources`` object remembers that mapping so gradients computed on the canonical parameters
can be pulled back onto the ONNX initializers by the chain rule (``pullback``), keyed by the
initializer names users see in Netron or PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class ParamSources:
    """Maps gradients of a layer's canonical params ('weight', 'bias') to ONNX initializers."""

    def pullback(self, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def names(self) -> list[str]:
        """ONNX initializer names this layer's parameters depend on."""
        raise NotImplementedError


@dataclass
class DirectSources(ParamSources):
    """Canonical params are the initializers themselves (bias may be absent in the file)."""

    weight: str | None
    bias: str | None = None

    def pullback(self, grads):
        out = {}
        if self.weight is not None:
            out[self.weight] = grads["weight"]
        if self.bias is not None:
            out[self.bias] = grads["bias"]
        return out

    def names(self):
        return [n for n in (self.weight, self.bias) if n is not None]


def param_names(layer) -> tuple[str, str]:
    """The initializer names a conv/dense layer's weight and bias are exported under: the imported ones where
    they were the parameters themselves, else ``<layer>.weight`` / ``<layer>.bias`` (canonical form)."""
    src = layer.sources
    if isinstance(src, DirectSources) and src.weight and src.bias:
        return src.weight, src.bias
    return f"{layer.name}.weight", f"{layer.name}.bias"
