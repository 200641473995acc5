"""The engine through the command line and the Accelerator interface: compile, dse, training backends."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hilt import golden, zoo
from hilt.cli import main
from hilt.dse.boards import load_board
from hilt.dse.sequential import EngineConfig, performance, physical_limits, resources, search
from hilt.engine import load_compact
from hilt.engine.accel import EngineCSim, EngineEmulator
from hilt.faults import Chip, FaultConfig
from hilt.quant import quantize

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _lenet_q(n=16):
    net = zoo.network("lenet5")
    x = np.random.default_rng(0).uniform(0, 1, (n, 1, 28, 28)).astype(np.float32)
    return quantize(net, x), x


def test_compile_sequential_writes_compact_project(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "compile", "lenet5", "--engine", "sequential", "--calib", "32", "-o", tmp_path / "p")
    assert code == 0 and "layer-sequential engine" in out
    program = json.loads((tmp_path / "p" / "program.json").read_text())
    assert program["engine"] == "sequential" and program["count"] == 7  # conv+relu x2, pool x2, dense+relu x2, dense
    header, arrays = load_compact(tmp_path / "p" / "model.npz")  # the one quantized-model file, compact
    assert header["format"] == "hilt.qmodel" and not header["floats"] and header["layers"][0]["op"] == "conv"
    with np.load(tmp_path / "p" / "model.npz") as z:
        assert z["0/weight"].dtype == np.int8 and np.array_equal(z["0/weight"], arrays[0]["weight"])
    assert (tmp_path / "p" / "ddr.bin").stat().st_size == program["activations"][0]


def test_compile_auto_keeps_the_streaming_pipeline_when_it_fits(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "compile", "lenet5", "--calib", "32", "-o", tmp_path / "p")
    assert code == 0 and (tmp_path / "p" / "manifest.json").exists()
    assert not (tmp_path / "p" / "program.json").exists()


def test_compile_sequential_refuses_16_bits_and_folding(capsys, tmp_path):
    code, _, err = run_cli(capsys, "compile", "lenet5", "--engine", "sequential", "--bits", "16", "-o", tmp_path / "p")
    assert code == 2 and "int8" in err and not (tmp_path / "p").exists()


def test_dse_sequential_alexnet_table(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "dse", "alexnet", "--board", "zcu104", "--freq", "300", "--engine", "sequential",
                           "--json", tmp_path / "d.json")
    assert code == 0 and "PipeCNN" in out and "board limits" in out
    report = json.loads((tmp_path / "d.json").read_text())
    rows = {r["step"]: r for r in report["steps"]}
    assert rows["fc6+relu6"]["bound"] == "memory" and rows["conv2+relu2"]["bound"] == "compute"
    assert sum(r["macs"] for r in report["steps"]) == zoo.network("alexnet").macs
    board = load_board("zcu104")
    assert report["resources"]["dsp"] <= 0.8 * board.resources["dsp"]
    assert report["ms"] > report["limits"]["compute_ms"] and report["ms"] > report["limits"]["dense_weights_ms"]


def test_roofline_follows_the_loops():
    """More lanes never slow a compute-bound layer; a memory-bound layer's time is its bytes over bandwidth."""
    net, board = zoo.network("alexnet"), load_board("zcu104")
    small = performance(net, board, 300, EngineConfig(vec=8, lane=16, tile_bytes=131072, wbuf_vecs=1024))
    big = performance(net, board, 300, EngineConfig(vec=8, lane=64, tile_bytes=131072, wbuf_vecs=1024))
    conv = lambda p: sum(r["cycles"] for r in p["steps"] if r["op"] == "conv" and r["bound"] == "compute")  # noqa: E731
    assert conv(big) < conv(small)
    fc6 = next(r for r in big["steps"] if r["step"].startswith("fc6"))
    assert fc6["memory_cycles"] >= fc6["weight_bytes"] / (board.dma_width_bits / 8) - 1
    assert resources(EngineConfig(vec=8, lane=64), board)["dsp"] == 8 * 64 // 2 + 1
    lim = physical_limits(net, board, 300)
    assert lim["dense_weight_bytes"] > 55 * 2**20
    best = search(net, load_board("zc706"), 200)
    assert best["resources"]["dsp"] <= 0.8 * 900


def test_engine_emulator_is_golden_at_f_safe_and_shares_lanes():
    q, x = _lenet_q()
    emu = EngineEmulator(Chip(seed=1), FaultConfig(), EngineConfig(lane=4))
    emu.load(q)
    assert np.array_equal(emu.forward(x).logits, golden.forward(q, x))
    layer = q.network.layers[0]
    f = emu.lane_factors(q.layers[0], layer, 6)
    assert np.array_equal(f[:2], f[4:6]) and len(set(f[:4])) == 4  # channel o on lane o mod 4
    emu.set_clock(320)
    wrong = emu.forward(x).logits
    assert not np.array_equal(wrong, golden.forward(q, x))


@needs_gxx
def test_engine_csim_accelerator_taps_and_reload():
    q, x = _lenet_q()
    acc = EngineCSim(EngineConfig(vec=4, lane=8))
    acc.load(q)
    res = acc.forward(x[:3], taps=True)
    ref = golden.run(q, golden.quantize_input(q, x[:3]))
    assert all(np.array_equal(a, b) for a, b in zip(res.taps, ref))
    q2 = q.requantize_weights({n: {k: -v for k, v in p.items()} for n, p in q.network.get_params().items()})
    acc.load(q2)
    assert np.array_equal(acc.forward(x[:3]).logits, golden.forward(q2, x[:3]))


def test_finetune_cli_through_the_engine(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "finetune", "lenet5", "--engine", "sequential", "--freq", "260", "--epochs", "1",
                           "--train-samples", "64", "--samples", "64", "--calib", "64", "--quiet",
                           "--json", tmp_path / "ft.json")
    assert code == 0 and "fine-tuning at 260 MHz" in out
    assert "after_accuracy" in json.loads((tmp_path / "ft.json").read_text())


@pytest.mark.heavy
def test_compile_alexnet_chooses_the_engine(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "compile", "alexnet", "--board", "zcu104", "--freq", "300", "-o", tmp_path / "a")
    assert code == 0 and "generating the layer-sequential engine" in out
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "a").iterdir() if p.is_file()}
    assert sizes["model.npz"] < 64e6 and sizes["ddr.bin"] < 64e6  # int8: about the 61 M parameters
