"""Shared fixtures: small deterministic data and models, built once per test session."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def lenet5_onnx():
    from hilt import zoo

    return zoo.build("lenet5", seed=0)


@pytest.fixture(scope="session")
def lenet5_net(lenet5_onnx):
    from hilt.frontend import import_onnx

    return import_onnx(lenet5_onnx)


@pytest.fixture(scope="session")
def mnist_splits():
    from hilt import data

    return data.load_splits("mnist5k")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def trained_lenet5(lenet5_net, mnist_splits):
    """LeNet-5 after two quick epochs on the 4,000 training images (95% held-out): enough for chip
    experiments to mean something (on 2,000 images the first epoch stays at chance and two reach 34%)."""
    from hilt.train import SGDConfig, train

    train_ds, _ = mnist_splits
    return train(lenet5_net, train_ds.x, train_ds.y, SGDConfig(epochs=2), progress=False).network


@pytest.fixture(scope="session")
def trained_q(trained_lenet5, mnist_splits):
    from hilt.quant import quantize

    return quantize(trained_lenet5, mnist_splits[0].x[:500], labels=mnist_splits[0].y[:500])


def strided_net(rng, name: str, classes: int):
    """conv (stride 2, asymmetric padding) -> relu -> grouped conv (strides 2, 3) -> maxpool -> flatten ->
    dense: every corner of the error propagation, small enough for C simulation; weights drawn from rng."""
    from hilt.ir import Layer, Network

    w = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)  # noqa: E731
    layers = [Layer("c1", "conv", (2, 11, 10), (4, 5, 5), {"kernel": (3, 3), "stride": (2, 2), "pads": (1, 0, 0, 1),
                                                          "groups": 1}, {"weight": w(4, 2, 3, 3), "bias": w(4)}),
              Layer("r1", "relu", (4, 5, 5), (4, 5, 5)),
              Layer("c2", "conv", (4, 5, 5), (6, 2, 2), {"kernel": (3, 2), "stride": (2, 3), "pads": (1, 1, 0, 0),
                                                         "groups": 2}, {"weight": w(6, 2, 3, 2), "bias": w(6)}),
              Layer("p1", "maxpool", (6, 2, 2), (6, 1, 1), {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0),
                                                            "ceil_mode": False}),
              Layer("f", "flatten", (6, 1, 1), (6,)),
              Layer("d", "dense", (6,), (classes,), {}, {"weight": w(classes, 6), "bias": w(classes)})]
    net = Network(name, "x", (2, 11, 10), layers)
    net.validate()
    return net
