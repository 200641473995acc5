"""``hilt.load(path) -> Model``: an imported ONNX model with its float reference.

Gradients are reported per ONNX initializer name (what Netron and PyTorch's ``state_dict`` show),
pulled back through every rewrite the importer made (BatchNorm folding, Gemm alpha/beta/transB,
MatMul+Add), so they compare one-to-one with PyTorch autograd on the original model.
"""

from __future__ import annotations

import numpy as np

from .ir import Network


class Gradients(dict):
    """{initializer name: gradient} with the batch's mean softmax cross-entropy as ``.loss``."""

    loss: float = float("nan")


class Model:
    def __init__(self, network: Network):
        self.network = network

    @classmethod
    def load(cls, path) -> "Model":
        from .frontend import import_onnx

        return cls(import_onnx(path))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.network.input_shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The ONNX graph's output for an NCHW float32 batch (logits, or probabilities after a final Softmax)."""
        from .reference import forward

        return forward(self.network, np.asarray(x, np.float32))

    def gradients(self, x: np.ndarray, labels: np.ndarray) -> Gradients:
        """Gradients of the mean softmax cross-entropy of the logits (before any final Softmax)."""
        from .train import loss_and_grads

        loss, grads, _ = loss_and_grads(self.network, np.asarray(x, np.float32), np.asarray(labels))
        out = Gradients()
        for layer in self.network.weighted_layers():
            for name, g in layer.sources.pullback(grads[layer.name]).items():
                out[name] = out[name] + g if name in out else np.asarray(g, np.float32)
        out.loss = loss
        return out

    def save(self, path) -> None:
        """Write the (possibly trained) network as ONNX."""
        from .frontend import export_onnx

        export_onnx(self.network, path)
