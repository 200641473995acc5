"""hilt: hardware-in-the-loop training for FPGA CNN accelerators.

Public API::

    import hilt
    model = hilt.load("lenet5.onnx")      # ONNX -> IR, with a float reference
    logits = model.forward(x)              # x: NCHW float32
    grads = model.gradients(x, labels)     # keyed by ONNX initializer name; grads.loss
"""

__version__ = "0.1.0"


def load(path):
    """Import an ONNX file and return a :class:`hilt.model.Model`."""
    from .model import Model

    return Model.load(path)


__all__ = ["load", "__version__"]
