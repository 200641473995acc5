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
