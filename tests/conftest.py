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
