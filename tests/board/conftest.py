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
