"""The PYNQ driver over the simulated board, with the real pynq package (Overlay, allocate, DMA, MMIO, Clocks)."""

from __future__ import annotations

import copy
import json
import time

import numpy as np
import pytest

from hilt import golden
from hilt.accel import AcceleratorHang
from hilt.board import clocking
from hilt.errors import HiltError


def test_overlay_load_finds_the_contracts_ips_through_pynqs_parser(board, overlay_dir):
    import pynq
    from pynq.lib.dma import DMA

    manifest = json.loads((overlay_dir / "manifest.json").read_text())
    ip_dict = board.overlay.ip_dict
    for role, ip in manifest["ips"].items():
        assert ip_dict[ip["name"]]["phys_addr"] == ip["base"]
        assert ip_dict[ip["name"]]["addr_range"] == ip["range"]
    assert isinstance(board.dma, DMA) and board.dma.sendchannel is not None and board.dma.recvchannel is not None
    assert isinstance(board.ip, pynq.DefaultIP)
    regs = dir(board.ip.register_map)  # DefaultIP's register map from the .hwh, as on a Vitis HLS IP
    assert {"CTRL", "mode", "samples", "status"} <= set(regs)
    assert board.clock_log[0]["requested_mhz"] == 200.0 and board.clock_log[0]["set_mhz"] == pytest.approx(200.0)
    assert board.device.accel.emu.clock_mhz == pytest.approx(200.0)


def test_weight_load_then_inference_is_bit_exact_with_golden(board, small_q, images):
    q = copy.deepcopy(small_q)
    for ql in q.layers:  # other weights than the bitstream's own, same formats
        if "weight" in ql.arrays:
            ql.arrays["weight"] = np.clip(-ql.arrays["weight"] + 1, ql.w_fmt.qmin, ql.w_fmt.qmax)
    board.load(q)
    result = board.forward(images, taps=True)
    expected = golden.run(q, golden.quantize_input(q, images))
    assert len(result.taps) == len(expected)
    for got, want in zip(result.taps, expected):
        assert got.shape == want.shape and np.array_equal(got, want)
    assert np.array_equal(result.logits, expected[-1])
    assert np.array_equal(board.forward(images).logits, expected[-1])
    assert not np.array_equal(golden.forward(small_q, images), expected[-1])  # the load changed the weights


def test_a_model_with_other_formats_is_refused(board, small_q):
    q = copy.deepcopy(small_q)
    q.compute_layers()[0].shift += 1
    with pytest.raises(HiltError, match="other formats"):
        board.load(q)


REQUESTS = [7.0, 57.3, 100.0, 123.4, 175.0, 200.0, 250.0, 266.7, 300.0, 333.3, 400.0, 450.0, 600.0, 777.0, 900.0]


def test_clock_table_requested_vs_set_on_both_families(board):
    limits = clocking.LIMITS[board.family]
    table = []
    for mhz in REQUESTS:
        got = board.set_clock(mhz)
        table.append((mhz, got))
        assert got == pytest.approx(board.device.wizard.mhz)  # what the wizard model decoded and locked to
        assert board.device.accel.emu.clock_mhz == pytest.approx(got)  # and what the chip runs at
        entry = board.clock_log[-1]
        s = clocking.ClockSetting(100.0, entry["divclk_divide"], clocking.Fraction(entry["clkfbout_mult"]),
                                  clocking.Fraction(entry["clkout0_divide"]))
        assert clocking.valid(s, limits)
        if mhz <= limits.out_max:
            assert abs(got - mhz) <= 0.001 * mhz  # within 0.1 % wherever the family reaches
        else:
            assert got == pytest.approx(limits.out_max)  # clamped to the family's fastest output
    assert dict(table)[250.0] == 250.0 and dict(table)[300.0] == 300.0


def test_clock_below_the_mmcm_range_is_refused(board):
    with pytest.raises(ValueError, match="no .* MMCM setting"):
        board.set_clock(1.0)


def test_download_does_not_undo_the_chosen_clock(board):
    board.set_clock(250.0)
    board.download()
    assert board.clock_mhz == 250.0 and board.device.wizard.mhz == pytest.approx(250.0)


def test_forced_hang_is_detected_within_its_deadline_recovered_then_a_correct_run(board, small_q, images):
    board.load(small_q)
    crash = board.device.chip.f_crash_mhz
    board.set_clock(crash + 50)
    expected = board.deadline_s(len(images))  # from the design's cycles at this clock
    start = time.monotonic()
    with pytest.raises(AcceleratorHang, match="recovered"):
        board.forward(images)
    elapsed = time.monotonic() - start
    limit = board.hang_log[0]["deadline_s"]
    assert expected <= limit < expected + 0.01  # plus one beat per cycle for the streams
    assert limit <= elapsed < limit + 1.0
    assert board.counters.hangs == 1 and board.hang_log[0]["clock_mhz"] == pytest.approx(crash + 50)
    assert board.clock_mhz == pytest.approx(board.f_safe_mhz) and not board.device.accel.hung
    assert np.array_equal(board.forward(images).logits, golden.forward(small_q, images))


def test_dma_error_is_reported_at_once_not_hung_on(board, small_q, images):
    from hilt.board.driver import DMAError

    board.load(small_q)
    for kind, text in (("slave", "slave error"), ("decode", "decode error")):
        board.device.dma.inject = kind
        start = time.monotonic()
        with pytest.raises(DMAError, match=text):
            board.forward(images)
        assert time.monotonic() - start < board.deadline_s(len(images))
        assert board.counters.hangs == 0
        board.device.accel.reset()  # the call the error cut short; the driver reset the DMA already
        assert np.array_equal(board.forward(images).logits, golden.forward(small_q, images))


def test_overclocked_simboard_equals_the_emulator_for_the_same_chip(board, small_q, images):
    from hilt.accel import Emulator

    board.load(small_q)
    board.set_clock(300.0)
    emu = Emulator(copy.deepcopy(board.device.chip))
    emu.load(small_q)
    emu.set_clock(300.0)
    got = board.forward(images, taps=True)
    want = emu.forward(images, taps=True)
    assert all(np.array_equal(a, b) for a, b in zip(got.taps, want.taps))
    assert not np.array_equal(got.logits, golden.forward(small_q, images))  # the overclock does corrupt


def test_ps_clock_fallback_without_a_wizard(small_q, images, tmp_path):
    from hilt.board import open_board
    from hilt.board.design import write_overlay
    from hilt.faults import Chip

    folder = write_overlay(small_q, tmp_path / "nowiz", board="pynq-z2", freq_mhz=100.0, wizard=False)
    b = open_board(folder, simulated=True, chip=Chip(seed=1, f_safe_mhz=200.0))
    assert b.wizard is None and b.status()["clock_source"] == "PS FCLK0"
    # a 1 GHz IO PLL over two 6-bit dividers: 300 MHz is out of reach, 333.3 is the nearest
    assert b.set_clock(300.0) == pytest.approx(1000 / 3, rel=1e-4)
    assert b.device.accel.emu.clock_mhz == pytest.approx(1000 / 3, rel=1e-4)
    b.set_clock(125.0)
    b.download()  # pynq's download writes the .hwh's divisors back; the driver re-applies the choice
    assert b.device.fclk0_mhz() == pytest.approx(125.0)
    b.load(small_q)
    assert np.array_equal(b.forward(images).logits, golden.forward(small_q, images))


def test_reachable_ps_clock_steps_are_coarse():
    steps = clocking.ps_clock_steps(1000.0, 200.0, 400.0)
    assert 250.0 in steps and 333.3333333333333 in steps and not any(260 < f < 330 for f in steps)


def test_bad_overlay_folder_is_one_clear_error(tmp_path):
    from hilt.board.overlay import open_overlay

    with pytest.raises(HiltError, match="no manifest.json"):
        open_overlay(tmp_path)
    (tmp_path / "manifest.json").write_text('{"name": "x"}')
    with pytest.raises(HiltError, match="missing"):
        open_overlay(tmp_path)


def test_pynq_finds_the_simulated_board_by_itself(tmp_path):
    """A pynq.Device subclass with _probe_ is registered with pynq's DeviceMeta: with HILT_SIMBOARD=1 pynq's
    own device discovery returns it, and plain pynq code (allocate, Overlay) runs on it."""
    import os
    import subprocess
    import sys

    code = ("import pynq, hilt.board.sim as sim; d = pynq.Device.active_device; b = pynq.allocate((16,), 'u1'); "
            "print(type(d).__name__, b.physical_address >= sim.DDR_BASE)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "HILT_SIMBOARD": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["SimBoard", "True"]


def test_pl_clock_frequency_pynq_4_leaves_empty_on_zynq7_comes_from_the_hwh(small_q, tmp_path):
    """pynq 4.0 reads a Zynq-7000 PL clock's frequency under the UltraScale+ parameter name, finds none, and its
    download divides by None: the driver fills it from the .hwh's PCW_ACT_FPGA<i>_PERIPHERAL_FREQMHZ."""
    from types import SimpleNamespace

    from hilt.board import pynqcompat
    from hilt.board.design import write_overlay
    from hilt.board.overlay import open_overlay

    folder = open_overlay(write_overlay(small_q, tmp_path / "z7", board="pynq-z2", freq_mhz=100.0))
    assert pynqcompat.zynq7_pl_clock_mhz(folder.hwh) == {0: 100.0, 1: 10.0, 2: 10.0, 3: 10.0}
    pynq4 = SimpleNamespace(clock_dict={0: {"enable": 1, "frequency": None}, 1: {"enable": 0, "frequency": None}})
    assert pynqcompat.fill_pl_clock_frequencies(pynq4, folder.hwh) == [0]
    assert pynq4.clock_dict == {0: {"enable": 1, "frequency": 100.0}, 1: {"enable": 0, "frequency": None}}
    pynq3 = SimpleNamespace(clock_dict={0: {"enable": 1, "divisor0": 5, "divisor1": 2}})  # no frequency entry
    assert pynqcompat.fill_pl_clock_frequencies(pynq3, folder.hwh) == []
    zu = open_overlay(write_overlay(small_q, tmp_path / "zu", board="zcu104", freq_mhz=100.0))
    with pytest.raises(HiltError, match="no frequency recorded for PL clock"):
        pynqcompat.fill_pl_clock_frequencies(SimpleNamespace(clock_dict={0: {"enable": 1, "frequency": None}}), zu.hwh)
