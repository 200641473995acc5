"""Design-space exploration: board files, hand-computed cycle counts, resources, search vs greedy, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hilt import zoo
from hilt.cli import main
from hilt.dse import Coefficients, Space, board_names, load_board, parse_utilization, performance, search, stages
from hilt.dse.boards import parse_board
from hilt.dse.resources import memory_cost
from hilt.errors import HiltError
from hilt.ir import Layer, Network
from hilt.ir.folding import LayerFolding, load_folding


def tiny() -> Network:
    """conv 3x3 (2->4) on 2x6x6, relu, maxpool 2, flatten, dense 16->3."""
    rng = np.random.default_rng(0)
    layers = [Layer("c", "conv", (2, 6, 6), (4, 4, 4), {"kernel": (3, 3), "stride": (1, 1), "pads": (0, 0, 0, 0),
                                                          "groups": 1},
                    {"weight": rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "bias": np.zeros(4, np.float32)}),
              Layer("r", "relu", (4, 4, 4), (4, 4, 4)),
              Layer("p", "maxpool", (4, 4, 4), (4, 2, 2), {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0)}),
              Layer("f", "flatten", (4, 2, 2), (16,)),
              Layer("d", "dense", (16,), (3,), {}, {"weight": rng.standard_normal((3, 16)).astype(np.float32),
                                                     "bias": np.zeros(3, np.float32)})]
    net = Network("tiny", "x", (2, 6, 6), layers)
    net.validate()
    return net


def test_every_board_file_loads_with_data_sheet_resources():
    assert {"pynq-z1", "pynq-z2", "zc706", "zynq7100", "ultra96v2", "zcu104", "kv260"} <= set(board_names())
    expected = {"pynq-z2": (220, 280), "zc706": (900, 1090), "zynq7100": (2020, 1510), "zcu104": (1728, 624),
                "ultra96v2": (360, 432), "kv260": (1248, 288)}
    for name, (dsp, bram) in expected.items():
        b = load_board(name)
        assert (b.resources["dsp"], b.resources["bram18"]) == (dsp, bram)
    assert load_board("ZCU104").ps == "zynqmp" and load_board("pynq-z2").macs_per_dsp == 1


@pytest.mark.parametrize("data, fragment", [
    ({"name": "x"}, "resources"),
    ({"name": "x", "part": "p", "ps": "zynq9", "resources": {"dsp": 1, "bram18": 1, "uram": 0, "lut": 1, "ff": 1}},
     "ps"),
    ({"name": "x", "part": "p", "ps": "zynq7", "resources": {"dsp": "many", "bram18": 1, "uram": 0, "lut": 1, "ff": 1}},
     "dsp"),
])
def test_bad_board_files_are_named(data, fragment):
    with pytest.raises(HiltError, match=fragment):
        parse_board(data, "bad.yaml", "bad")


def test_unknown_board_and_impossible_clock():
    with pytest.raises(HiltError, match="known: "):
        load_board("arty")
    with pytest.raises(HiltError, match="10-250 MHz"):
        load_board("pynq-z2").check_clock(300)


def test_cycle_counts_by_hand():
    net = tiny()
    units = {("c", "fwd"): LayerFolding(2, 3), ("d", "fwd"): LayerFolding(1, 4)}
    st = {(s.layer, s.unit): s.cycles for s in stages(net, units, "infer")}
    # conv: 4x4 outputs x (4/2) x (18/3) = 192 >= 36 input pixels; relu fused; pool 4x4 = 16; dense (3/1)(16/4) = 12
    assert st == {("c", "fwd"): 192, ("p", "maxpool"): 16, ("d", "fwd"): 12}
    assert performance(net, units, 100.0, "infer").ii_cycles == 192
    assert performance(net, units, 100.0).samples_per_s == pytest.approx(100e6 / 192)
    train = {(s.layer, s.unit): s.cycles for s in stages(net, {**units, ("d", "err"): LayerFolding(4, 1),
                                                               ("c", "grad"): LayerFolding(4, 18)}, "train")}
    # first layer: no error unit; dense error: rows 16 / 4, cols 3 / 1 = 12; conv grad: 16 x 1 x 1 = 16
    assert ("c", "err") not in train and train[("d", "err")] == 12 and train[("c", "grad")] == 16
    assert train[("d", "grad")] == 3 * 16  # default folding 1 x 1


def test_conv_error_unit_cycles_and_window_floor():
    net = tiny()
    c = net.layer("c")
    from hilt.dse.perf import unit_cycles

    # error of a conv: input map 6x6 x (C=2 / pe 1) x (O*9 = 36 / simd 36) = 72
    assert unit_cycles(c, LayerFolding(1, 36), "err") == 72
    # forward fully parallel is limited by reading 36 input pixels
    assert unit_cycles(c, LayerFolding(4, 18), "fwd") == 36


def test_latency_adds_fills_to_the_slowest_stage():
    net = tiny()
    units = {("c", "fwd"): LayerFolding(1, 1), ("d", "fwd"): LayerFolding(1, 1)}
    p = performance(net, units, 100.0)
    conv_fill = 2 * 6 + 3 + 4 * 18 + 4  # two rows + three pixels, one fold, depth
    pool_fill = 1 * 4 + 4
    dense_fill = 3 * 16 + 4
    assert p.latency_cycles == conv_fill + pool_fill + dense_fill + p.ii_cycles


def test_memory_shapes():
    assert memory_cost(512, 36, "bram") == {"bram18": 1}
    assert memory_cost(1000, 8, "bram") == {"bram18": 1}  # 2K x 9
    assert memory_cost(5000, 8, "bram") == {"bram18": 3}
    assert memory_cost(4096, 72, "uram") == {"uram": 1}
    assert memory_cost(64, 8, "lutram") == {"lut": 8}


def test_utilization_report_parsing_and_refit():
    report = """
+----------------------------+-------+-------+-----------+-------+
|          Site Type         |  Used | Fixed | Available | Util% |
+----------------------------+-------+-------+-----------+-------+
| Slice LUTs                 | 12345 |     0 |     53200 | 23.20 |
| Slice Registers            | 20000 |     0 |    106400 | 18.80 |
| Block RAM Tile             |  10.5 |     0 |       140 |  7.50 |
| DSPs                       |    40 |     0 |       220 | 18.18 |
"""
    assert parse_utilization(report) == {"lut": 12345, "ff": 20000, "dsp": 40, "bram18": 21}
    truth = Coefficients(lut_per_lane=30, lut_per_unit=500, lut_per_fixed_stage=200, ff_per_lane=50,
                         ff_per_unit=700, ff_per_fixed_stage=300)
    designs = [{"lanes": l, "units": u, "fixed_stages": s} for l, u, s in [(10, 2, 1), (50, 3, 2), (200, 5, 2),
                                                                           (400, 9, 3), (80, 4, 0)]]
    shell = 4200
    measured = [{"lut": truth.lut_per_lane * d["lanes"] + truth.lut_per_unit * d["units"] +
                 truth.lut_per_fixed_stage * d["fixed_stages"] + shell,
                 "ff": truth.ff_per_lane * d["lanes"] + truth.ff_per_unit * d["units"] +
                 truth.ff_per_fixed_stage * d["fixed_stages"] + 6000} for d in designs]
    fitted = Coefficients().refit(designs, measured)
    assert fitted.lut_per_lane == pytest.approx(30) and fitted.ff_per_unit == pytest.approx(700)


@pytest.mark.parametrize("model", ["lenet5", "svhn", "cifar10"])
@pytest.mark.parametrize("board", ["pynq-z2", "zcu104", "zynq7100"])
def test_search_never_worse_than_greedy_and_front_is_non_dominated(model, board):
    space = Space(zoo.network(model), load_board(board), 200.0, "infer")
    if not space.smallest().fits(space.board, 0.8):  # e.g. the SVHN net's 4096x128 fc1 on a Zynq-7020
        with pytest.raises(HiltError, match="does not fit"):
            search(space, 0.8)
        assert model != "lenet5"
        return
    r = search(space, 0.8)
    g = r.greedy
    assert r.chosen.fits(space.board, 0.8)
    if g is not None:  # None: the greedy start (all 1 x 1) does not fit, but the search found a design
        assert g.fits(space.board, 0.8) and r.chosen.samples_per_s >= g.samples_per_s
    for a in r.front:
        assert not any(b.samples_per_s > a.samples_per_s and all(b.resources[k] <= a.resources[k]
                                                                  for k in ("dsp", "bram18", "uram", "lut"))
                       for b in r.front)


def test_search_beats_greedy_somewhere_for_each_model():
    """On some board the front holds a design that dominates the greedy one: at least its throughput
    with no more DSP, BRAM18, URAM and LUT, and strictly better in one of them."""
    from hilt.dse.search import dominates

    for model in ("lenet5", "svhn", "cifar10"):
        better = False
        for board in ("pynq-z2", "zcu104", "zynq7100"):
            space = Space(zoo.network(model), load_board(board), 200.0, "infer")
            if not space.smallest().fits(space.board, 0.8):
                continue
            r = search(space, 0.8)
            g = r.greedy
            if g is None:
                better = True  # the search fits a design where the greedy baseline fits none
                continue
            better |= any(dominates(d, g) for d in r.front)
        assert better, model


def test_lenet5_training_on_zcu104_reaches_the_targets():
    space = Space(zoo.network("lenet5"), load_board("zcu104"), 200.0, "train")
    c = search(space, 0.8).chosen
    assert c.samples_per_s >= 100_000
    assert c.dsp_efficiency(space.board) >= 0.6
    assert 0 < c.board_efficiency(space.board) <= c.dsp_efficiency(space.board) <= 1


def test_target_fps_picks_the_cheapest_design_reaching_it():
    space = Space(zoo.network("lenet5"), load_board("zcu104"), 200.0, "infer")
    fastest = search(space, 0.8).chosen
    r = search(space, 0.8, target_fps=20_000)
    assert r.chosen.samples_per_s >= 20_000 and r.chosen.resources["dsp"] < fastest.resources["dsp"]
    with pytest.raises(HiltError, match="target-fps"):
        search(space, 0.8, target_fps=1e9)


def test_cli_json_is_accepted_as_a_folding_file(tmp_path, capsys):
    out = tmp_path / "dse.json"
    assert main(["dse", "lenet5", "--board", "zcu104", "--freq", "200", "--mode", "train", "--json", str(out),
                 "--plot", str(tmp_path / "dse.png")]) == 0
    report = json.loads(out.read_text())
    assert {"board", "freq_mhz", "mode", "pareto", "chosen"} <= set(report)
    assert {"samples_per_s", "latency_us", "dsp", "bram18", "lut", "dsp_efficiency", "board_efficiency",
            "folding"} <= set(report["chosen"])
    assert {"samples_per_s", "dsp", "bram18", "lut"} <= set(report["pareto"][0])
    folding = load_folding(out, zoo.network("lenet5"))
    assert set(folding) == {"conv1", "conv2", "fc1", "fc2", "fc3"}
    assert (tmp_path / "dse.png").read_bytes()[:4] == b"\x89PNG"
    assert "physical limit" in capsys.readouterr().out


def test_alexnet_on_pynq_z2_does_not_fit_and_says_why(capsys):
    assert main(["dse", "alexnet", "--board", "pynq-z2", "--freq", "200"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not fit" in err[0] and "layer-sequential" in err[0] and "fc6" in err[0]
