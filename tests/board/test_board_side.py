"""What runs on the board imports with numpy and pynq only, and on the PYNQ images' Python 3.10."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the driver, the golden model, the host training loop and what they load
BOARD_SIDE = ["hilt.board.driver", "hilt.board.overlay", "hilt.board.clocking", "hilt.board.engine",
              "hilt.accel.order", "hilt.engine.program", "hilt.dse.sequential", "hilt.golden", "hilt.train.hil",
              "hilt.quant", "hilt.accel"]
BLOCKED = ("onnx", "onnxruntime", "scipy", "matplotlib", "torch", "jinja2", "yaml")  # tqdm comes with pynq


def test_board_side_imports_and_loads_a_qmodel_without_onnx_scipy_matplotlib(small_q, tmp_path):
    path = tmp_path / "q.npz"
    small_q.save(path)
    code = textwrap.dedent(f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ImportError("blocked on the board: " + name)
        sys.meta_path.insert(0, Block())
        import numpy as np
        for m in {BOARD_SIDE!r}:
            __import__(m)
        from hilt import golden
        from hilt.quant import QModel
        q = QModel.load({str(path)!r})
        x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
        np.save({str(tmp_path / "logits.npy")!r}, golden.forward(q, x))
        print(sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    import numpy as np

    from hilt import golden

    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    assert np.array_equal(np.load(tmp_path / "logits.npy"), golden.forward(small_q, x))


def test_package_needs_nothing_newer_than_python_3_10():
    vermin = Path(sys.executable).with_name("vermin")
    if not vermin.exists():
        pytest.fail("vermin is missing from this environment: `make board-env` installs it")
    out = subprocess.run([str(vermin), "-t=3.10-", "--no-tips", "--violations", "--eval-annotations",
                          str(ROOT / "sw" / "hilt")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_host_training_loop_over_the_driver_equals_the_emulator(board, small_q, images):
    """hil.finetune (backward, update, re-quantize on the host) through the driver and pynq, overclocked: the same
    weights and losses as through the emulator for the same chip, to the bit."""
    import numpy as np

    from hilt.accel import Emulator
    from hilt.train.hil import HILConfig, finetune

    labels = np.arange(len(images)) % 10
    config = HILConfig(epochs=1, lr=0.02, batch_size=20)
    emu = Emulator(copy.deepcopy(board.device.chip))
    for accel in (board, emu):
        accel.set_clock(300.0)
    got = finetune(small_q, board, images, labels, config, progress=False)
    want = finetune(small_q, emu, images, labels, config, progress=False)
    assert len(got.history) == 1 and got.history[0]["loss"] == want.history[0]["loss"]
    for a, b in zip(got.network.weighted_layers(), want.network.weighted_layers()):
        assert all(np.array_equal(a.params[k], b.params[k]) for k in ("weight", "bias"))
    for a, b in zip(got.qmodel.layers, want.qmodel.layers):
        assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
    trained = got.network.weighted_layers()[0].params["weight"]
    assert not np.array_equal(trained, small_q.network.weighted_layers()[0].params["weight"])  # it did train
    assert board.counters.forward_calls >= 2


@pytest.mark.skipif(not os.environ.get("HILT_BOARD_PYTHON"),
                    reason="the PYNQ-image run (make board-test-py310) names its Python in HILT_BOARD_PYTHON")
def test_runs_on_the_pynq_images_python_and_numpy():
    """What `make board-test-py310` claims: this is the PYNQ v3.0/v3.1 images' Python 3.10 with numpy 1.21."""
    import numpy as np

    assert "%d.%d" % sys.version_info[:2] == os.environ["HILT_BOARD_PYTHON"] == "3.10"
    assert np.__version__.startswith("1.21.")


def test_board_env_runs_numpy_1():
    import numpy as np

    assert int(np.__version__.split(".")[0]) == 1  # what PYNQ images ship, and what pynq.allocate needs
