"""The board tests' model, built where onnx is installed: ``python tests/board/fixture_model.py OUT.npz``
writes it for an environment without onnx (the PYNQ images' Python 3.10 run, `make board-test-py310`)."""

from __future__ import annotations

import sys

import numpy as np


def small_model():
    """LeNet-5 with its seeded initial weights, quantized on seeded images: board tests need the arithmetic,
    not accuracy (no training here: it would dominate the run)."""
    from hilt import zoo
    from hilt.frontend import import_onnx
    from hilt.quant import quantize

    net = import_onnx(zoo.build("lenet5", seed=0))
    x = np.random.default_rng(0).random((64, 1, 28, 28), dtype=np.float32)
    return quantize(net, x)


if __name__ == "__main__":
    small_model().save(sys.argv[1])  # with its float weights, as `hilt quantize` writes it
