"""The layer-sequential engine's overlay (no DMA; the engine's AXI4 masters read one DDR buffer) through its
driver, on the simulated board whose accelerator is the engine's virtual chip."""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest

from hilt import golden
from hilt.accel import AcceleratorHang


@pytest.fixture(scope="module", params=["pynq-z2", "zcu104"])
def engine_dir(request, small_q, tmp_path_factory):
    from hilt.board.design import write_overlay
    from hilt.dse.sequential import EngineConfig

    return write_overlay(small_q, tmp_path_factory.mktemp("eng") / request.param, board=request.param,
                         freq_mhz=200.0, f_safe_mhz=200.0, engine=EngineConfig(vec=4, lane=8, wports=2))


@pytest.fixture
def engine_board(engine_dir):
    from hilt.board import open_board
    from hilt.faults import Chip

    return open_board(engine_dir, simulated=True, chip=Chip(seed=3, f_safe_mhz=200.0))


def test_engine_overlay_opens_as_an_engine_board_without_a_dma(engine_board, engine_dir):
    from hilt.board.engine import EngineBoard

    assert isinstance(engine_board, EngineBoard) and engine_board.dma is None
    ip = engine_board.overlay.ip_dict
    assert "axi_dma" not in ip and {"hilt_accel", "clk_wiz", "axi_gpio_reset"} <= set(ip)
    assert {"CTRL", "act_in_1", "act_in_2", "params_1", "wts1_1", "descs_1", "count"} <= set(
        dir(engine_board.ip.register_map))
    ports = engine_board.overlay.parser.md.blocks["hilt_accel"].ports
    assert {"m_axi_gmem0", "m_axi_gmem1", "m_axi_gmem2", "m_axi_gmem3"} <= set(ports)  # wiring: tests/board/test_hwh.py
    assert ports["ap_clk"].destinations()["clk_out1"].parent().name == "clk_wiz"


def test_engine_inference_is_bit_exact_with_golden(engine_board, small_q, images):
    q = copy.deepcopy(small_q)
    for ql in q.layers:  # other weights than the overlay's own: they travel packed through DDR
        if "weight" in ql.arrays:
            ql.arrays["weight"] = np.clip(-ql.arrays["weight"] + 1, ql.w_fmt.qmin, ql.w_fmt.qmax)
    engine_board.load(q)
    x = images[:6]
    got = engine_board.forward(x, taps=True)
    want = golden.run(q, golden.quantize_input(q, x))
    assert len(got.taps) == len(want)
    for a, b in zip(got.taps, want):
        assert a.shape == b.shape and np.array_equal(a, b)
    assert not np.array_equal(golden.forward(small_q, x), want[-1])
    assert engine_board.device.accel.calls == len(x)  # one engine run per image


def test_overclocked_engine_board_equals_the_engine_emulator(engine_board, small_q, images):
    from hilt.engine.accel import EngineEmulator

    engine_board.load(small_q)
    engine_board.set_clock(320.0)
    emu = EngineEmulator(copy.deepcopy(engine_board.device.chip), config=engine_board.config)
    emu.load(small_q)
    emu.set_clock(320.0)
    x = images[:6]
    got, want = engine_board.forward(x, taps=True), emu.forward(x, taps=True)
    assert all(np.array_equal(a, b) for a, b in zip(got.taps, want.taps))
    assert not np.array_equal(got.logits, golden.forward(small_q, x))  # the engine's slow lanes do corrupt


def test_engine_hang_is_detected_recovered_then_a_correct_run(engine_board, small_q, images):
    engine_board.load(small_q)
    crash = engine_board.device.chip.f_crash_mhz
    engine_board.set_clock(crash + 50)
    start = time.monotonic()
    with pytest.raises(AcceleratorHang):
        engine_board.forward(images[:2])
    elapsed = time.monotonic() - start
    limit = engine_board.hang_log[0]["deadline_s"]
    assert limit <= elapsed < limit + 1.0
    assert engine_board.clock_mhz == pytest.approx(engine_board.f_safe_mhz)
    assert np.array_equal(engine_board.forward(images[:4]).logits, golden.forward(small_q, images[:4]))


def test_engine_has_no_backward(engine_board):
    from hilt.errors import HiltError

    with pytest.raises(HiltError, match="forward passes only"):
        engine_board.backward([], np.zeros((1, 10), int))


def test_finetune_through_the_engine_simboard_equals_emu(tmp_path):
    """``hilt finetune --engine sequential --backend simboard``: the engine's driver on the simulated board gives
    the engine emulator's results for the same chip."""
    import json

    from hilt.cli import main

    out = {}
    for backend in ("emu", "simboard"):
        path = tmp_path / f"{backend}.json"
        assert main(["finetune", "lenet5", "--engine", "sequential", "--backend", backend, "--freq", "330",
                     "--samples", "24", "--calib", "100", "--train-samples", "32", "--epochs", "1", "--quiet",
                     "--chip-seed", "2", "--json", str(path)]) == 0
        out[backend] = json.loads(path.read_text())
    for key in ("before_accuracy", "after_accuracy", "other_chip_before_accuracy", "other_chip_after_accuracy"):
        assert out["simboard"][key] == out["emu"][key], key
    assert [h["loss"] for h in out["simboard"]["history"]] == [h["loss"] for h in out["emu"]["history"]]
