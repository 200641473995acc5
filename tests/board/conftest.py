"""The board tests run in .venv-board (numpy 1.x and a pinned pynq: `make board-env`); the main environment
(numpy 2, no pynq) leaves this folder to that run (`make test` runs both). A part of them runs again on the
PYNQ images' Python 3.10 and numpy 1.21 (`make board-test-py310`), where onnx is not installed: the model
then comes from the file ``HILT_BOARD_QMODEL`` names, written by ``fixture_model.py`` in the main environment."""

from __future__ import annotations

import os

import numpy as np
import pytest

pynq = pytest.importorskip("pynq", reason="board tests run in .venv-board (make board-env)")


@pytest.fixture(scope="session")
def small_q():
    """LeNet-5 with seeded weights, quantized on seeded images (fixture_model.small_model)."""
    path = os.environ.get("HILT_BOARD_QMODEL")
    if path:
        from hilt.quant import QModel

        return QModel.load(path)
    try:
        import onnx  # noqa: F401
    except ImportError:
        pytest.fail("no onnx here: set HILT_BOARD_QMODEL to a file from tests/board/fixture_model.py "
                    "(`make board-test-py310` does)")
    from fixture_model import small_model

    return small_model()


@pytest.fixture(scope="session")
def images():
    return np.random.default_rng(7).random((40, 1, 28, 28), dtype=np.float32)


@pytest.fixture(scope="session", params=["pynq-z2", "zcu104"])
def overlay_dir(request, small_q, tmp_path_factory):
    """An overlay folder as the contract lays it out, one per family (Zynq-7000, Zynq UltraScale+)."""
    from hilt.board.design import write_overlay

    return write_overlay(small_q, tmp_path_factory.mktemp("ov") / request.param, board=request.param,
                         freq_mhz=200.0, f_safe_mhz=200.0)


@pytest.fixture
def board(overlay_dir):
    from hilt.board import open_board
    from hilt.faults import Chip

    return open_board(overlay_dir, simulated=True, chip=Chip(seed=3, f_safe_mhz=200.0))


@pytest.fixture(scope="session")
def trained_onnx(tmp_path_factory):
    """LeNet-5 trained for one epoch on 2,000 MNIST-5k images: for experiments whose
    result needs a model that classifies (faults: an untrained model is at chance with or without them)."""
    from hilt import data, zoo
    from hilt.frontend import export_onnx, import_onnx
    from hilt.train import SGDConfig, train

    train_ds, _ = data.load_splits("mnist5k")
    pick = np.random.default_rng(0).permutation(len(train_ds.x))[:2000]  # the split is sorted by class
    net = train(import_onnx(zoo.build("lenet5", seed=0)), train_ds.x[pick], train_ds.y[pick],
                SGDConfig(epochs=1), progress=False).network
    path = tmp_path_factory.mktemp("trained") / "lenet5.onnx"
    export_onnx(net, path)
    return path
