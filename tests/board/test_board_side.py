"""What runs on the board imports with numpy and pynq only, and on the PYNQ images' Python 3.10."""

from __future__ import annotations

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


def test_board_env_runs_numpy_1():
    import numpy as np

    assert int(np.__version__.split(".")[0]) == 1  # what PYNQ images ship, and what pynq.allocate needs
