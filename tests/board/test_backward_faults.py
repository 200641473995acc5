"""MODE_BACKWARD through the driver, weight-memory faults through the driver, and ``hilt faults --backend
simboard`` against ``--backend emu``."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from hilt import golden
from hilt.errors import HiltError


@pytest.fixture(scope="module")
def labels(images):
    return np.random.default_rng(3).integers(0, 10, len(images))


def test_backward_through_the_driver_is_bit_exact_with_golden(board, small_q, images, labels):
    """Taps and the logits' error in, every error and every weight/bias gradient out, equal (==) to the golden
    model's backward; the dense layer after the flatten takes its gradient columns back from HWC order."""
    assert board.folder.backward
    board.load(small_q)
    fwd = board.forward(images[:8], taps=True)
    err = golden.error_at_logits(small_q, fwd.logits, labels[:8])
    got = board.backward(fwd.taps, err)
    want = golden.backward(small_q, fwd.taps, err)
    assert [e is None for e in got.errors] == [e is None for e in want.errors]
    for i, (a, b) in enumerate(zip(got.errors, want.errors)):
        if b is not None:
            assert a.shape == b.shape and np.array_equal(a, b), i
    assert set(got.grads) == set(want.grads) == {l.name for l in small_q.network.weighted_layers()}
    for name, g in want.grads.items():
        for key in ("weight", "bias"):
            assert got.grads[name][key].shape == g[key].shape and np.array_equal(got.grads[name][key], g[key])
    assert any(np.abs(g["weight"]).max() > 0 for g in want.grads.values())  # not a vacuous all-zero case


def test_backward_on_a_design_without_it_answers_unsupported(small_q, images, tmp_path):
    from hilt.board import open_board
    from hilt.board.design import write_overlay
    from hilt.board.driver import UnsupportedMode
    from hilt.faults import Chip

    folder = write_overlay(small_q, tmp_path / "fwd", board="pynq-z2", freq_mhz=200.0, backward=False)
    b = open_board(folder, simulated=True, chip=Chip(seed=3, f_safe_mhz=200.0))
    b.load(small_q)
    fwd = b.forward(images[:4], taps=True)
    with pytest.raises(UnsupportedMode, match="without the backward pipeline"):
        b.backward(fwd.taps, golden.error_at_logits(small_q, fwd.logits, np.zeros(4, int)))
    assert b.device.accel.status == 1  # the accelerator itself answered UNSUPPORTED_MODE
    assert np.array_equal(b.forward(images).logits, golden.forward(small_q, images))  # and it goes on


def test_finetune_with_on_board_backward_equals_the_emulators(board, small_q, images, labels):
    """``backward="accelerator"``: the BP pipeline's integer gradients drive the update; the simulated board and
    the emulator (same chip) train to the same weights, and differently from the host's float backward."""
    from hilt.accel import Emulator
    from hilt.train.hil import HILConfig, finetune

    config = HILConfig(epochs=1, batch_size=16, lr=0.05, backward="accelerator")
    board.load(small_q)
    on_board = finetune(small_q, board, images, labels, config, progress=False)
    emu = Emulator(copy.deepcopy(board.device.chip))
    on_emu = finetune(small_q, emu, images, labels, config, progress=False)
    host = finetune(small_q, emu, images, labels, HILConfig(epochs=1, batch_size=16, lr=0.05), progress=False)
    for a, b, h in zip(on_board.qmodel.layers, on_emu.qmodel.layers, host.qmodel.layers):
        if "weight" in a.arrays:
            assert np.array_equal(a.arrays["weight"], b.arrays["weight"])
    params = [l.params["weight"] for l in on_board.network.weighted_layers()]
    host_params = [l.params["weight"] for l in host.network.weighted_layers()]
    assert not all(np.array_equal(p, h) for p, h in zip(params, host_params))


def test_injected_and_simulated_weight_faults_equal_the_emulators(overlay_dir, small_q, images):
    """Stuck-at bits: written into the weights by the driver (what works on silicon), or held by the simulated
    die's memory; both equal the emulator with the same chip and faults."""
    from hilt.accel import Emulator
    from hilt.board import open_board
    from hilt.faults import Chip, FaultConfig

    chip, faults = Chip(seed=5, f_safe_mhz=200.0), FaultConfig(stuck_at_rate=0.04)
    emu = Emulator(copy.deepcopy(chip), faults)
    emu.load(small_q)
    want = emu.forward(images).logits
    assert not np.array_equal(want, golden.forward(small_q, images))
    injected = open_board(overlay_dir, simulated=True, chip=copy.deepcopy(chip), inject=(chip, faults))
    injected.load(small_q)
    assert np.array_equal(injected.forward(images).logits, want)
    die = open_board(overlay_dir, simulated=True, chip=copy.deepcopy(chip), faults=faults)
    die.load(small_q)
    assert np.array_equal(die.forward(images).logits, want)


def test_faults_simboard_equals_emu(tmp_path, trained_onnx):
    from hilt.cli import main

    results = {}
    for backend in ("emu", "simboard"):
        path = tmp_path / f"{backend}.json"
        assert main(["faults", str(trained_onnx), "--calib", "100", "--stuck-at", "0.03",
                     "--mitigate", "none,faq,clip,faq+retrain", "--train-samples", "64", "--epochs", "1",
                     "--chip-seed", "2", "--backend", backend, "--json", str(path), "--quiet"]) == 0
        results[backend] = json.loads(path.read_text())
    emu, sim = results["emu"], results["simboard"]
    assert sim["backend"] == "simboard"
    assert sim["fault_free_accuracy"] == emu["fault_free_accuracy"]
    assert [(r["mitigation"], r["accuracy"]) for r in sim["results"]] == \
        [(r["mitigation"], r["accuracy"]) for r in emu["results"]]
    accs = {r["mitigation"]: r["accuracy"] for r in emu["results"]}
    assert accs["none"] < emu["fault_free_accuracy"]  # the faults do reach the forward passes


def test_faults_on_a_real_board_refuse_clipping_up_front(tmp_path, capsys):
    from hilt.cli import main

    assert main(["faults", "lenet5", "--backend", "board", "--overlay", str(tmp_path), "--mitigate", "none,clip"]) == 2
    assert "clipping changes the weight formats" in capsys.readouterr().err


def test_flatten_tap_travels_in_hwc_order(board, small_q, images):
    """The flatten's output is streamed in its input map's HWC order (as the HLS design and the C-sim runner
    read it): on the DMA buffer it equals the previous map's HWC stream, in the driver's taps it is C-major."""
    from hilt.accel import order

    net = small_q.network
    i = next(k for k, l in enumerate(net.layers) if l.op == "flatten") + 1  # activation index of its output
    board.load(small_q)
    taps = board.forward(images[:2], taps=True).taps
    assert np.array_equal(taps[i], taps[i - 1].reshape(2, -1))  # model layout: C-major flatten
    shape, flat = order.tap_layouts(net)[i]
    assert flat and np.array_equal(order.tap_to_stream(taps[i], shape, flat), order.to_hwc(taps[i - 1]))
