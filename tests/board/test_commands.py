"""``--backend simboard`` in the commands: the same virtual chip as ``--backend emu``, through the driver."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hilt.cli import main


def test_infer_simboard_equals_emu_at_an_overclock(tmp_path, images):
    np.save(tmp_path / "x.npy", images)
    outs = {}
    for backend in ("emu", "simboard"):
        outs[backend] = tmp_path / f"{backend}.npy"
        assert main(["infer", "lenet5", "--input", str(tmp_path / "x.npy"), "--output", str(outs[backend]),
                     "--backend", backend, "--freq", "300", "--int", "--chip-seed", "4"]) == 0
    emu, sim = np.load(outs["emu"]), np.load(outs["simboard"])
    assert emu.dtype.kind == "i" and np.array_equal(emu, sim)


def test_sweep_simboard_equals_emu_and_marks_hung_rows(tmp_path, capsys):
    results = {}
    for backend in ("emu", "simboard"):
        path = tmp_path / f"{backend}.json"
        assert main(["sweep", "lenet5", "--samples", "60", "--calib", "100", "--freq", "200,330,360",
                     "--backend", backend, "--json", str(path), "--quiet", "--chip-seed", "2"]) == 0
        results[backend] = json.loads(path.read_text())
    emu, sim = results["emu"]["points"], results["simboard"]["points"]
    assert [p["accuracy"] for p in emu] == [p["accuracy"] for p in sim]
    assert [p["hung"] for p in sim] == [False, False, True]  # 360 MHz is past this chip's 350 MHz crash clock
    hangs = results["simboard"]["board"]["hangs"]
    assert len(hangs) == 1 and hangs[0]["clock_mhz"] == pytest.approx(360.0) and hangs[0]["recovered_at_mhz"] == 200.0
    assert "hang" in capsys.readouterr().out


def test_board_backend_without_overlay_is_one_clear_error(tmp_path, images, capsys):
    np.save(tmp_path / "x.npy", images)
    assert main(["infer", "lenet5", "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
                 "--backend", "board"]) == 2
    assert "needs --overlay" in capsys.readouterr().err


def test_eval_simboard_at_f_safe_equals_golden(tmp_path):
    path = tmp_path / "eval.json"
    assert main(["eval", "lenet5", "--backend", "golden,simboard", "--calib", "100", "--json", str(path)]) == 0
    acc = json.loads(path.read_text())["accuracy"]
    assert acc["simboard"] == acc["golden_int8"]
