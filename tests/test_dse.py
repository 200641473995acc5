"""Design-space exploration: board files, hand-computed cycle counts and resources, search vs greedy
and vs brute force, the report, the command line."""

from __future__ import annotations

import functools
import itertools
import json

import numpy as np
import pytest

from hilt import zoo
from hilt.cli import main
from hilt.dse import (Coefficients, Space, board_names, design_features, load_board, parse_utilization, performance,
                      physical_limit, search, stages)
from hilt.dse.boards import parse_board
from hilt.dse.perf import Dma, UnitFolding, batch_schedule, ppc_choices, stash_depths, unit_cycles, unit_fill
from hilt.dse.resources import memory_cost, stash_bits, unit_resources, window_cost
from hilt.dse.search import OBJECTIVES, dominates
from hilt.errors import HiltError
from hilt.ir import Layer, Network
from hilt.ir.folding import LayerFolding, load_folding

MODELS = ("lenet5", "svhn", "cifar10")
BOARDS = ("pynq-z2", "zcu104", "zynq7100")
NOT_FITTING = {("svhn", "pynq-z2"), ("cifar10", "pynq-z2")}


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


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, err, *fragments):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("hilt: error:"), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@functools.lru_cache(maxsize=None)
def explored(model: str, board: str, mode: str):
    """(space, result) of a zoo model on a board at 200 MHz, or (space, None) when it does not fit."""
    space = Space(zoo.network(model), load_board(board), 200.0, mode)
    try:
        return space, search(space, 0.8)
    except HiltError as err:
        assert "does not fit" in str(err)
        return space, None


# ---- boards ------------------------------------------------------------------------------------

def test_every_board_file_loads_with_data_sheet_resources():
    assert {"pynq-z1", "pynq-z2", "zc706", "zynq7100", "ultra96v2", "zcu104", "kv260"} <= set(board_names())
    expected = {  # dsp, bram18, uram, lut, ff (DS190 / DS891 / DS987)
        "pynq-z1": (220, 280, 0, 53200, 106400), "pynq-z2": (220, 280, 0, 53200, 106400),
        "zc706": (900, 1090, 0, 218600, 437200), "zynq7100": (2020, 1510, 0, 277400, 554800),
        "ultra96v2": (360, 432, 0, 70560, 141120), "zcu104": (1728, 624, 96, 230400, 460800),
        "kv260": (1248, 288, 64, 117120, 234240)}
    for name, figures in expected.items():
        b = load_board(name)
        assert tuple(b.resources[r] for r in ("dsp", "bram18", "uram", "lut", "ff")) == figures, name
        assert b.macs_per_dsp == (2 if b.ps == "zynqmp" else 1)
        assert b.clock_min_mhz < 200 < b.clock_max_mhz
    assert load_board("ZCU104").part.startswith("xczu7ev") and load_board("Zynq7100").part.startswith("xc7z100")
    assert load_board("pynq-z2").bytes_per_cycle(200) == 8  # a 64-bit HP port, DDR3 (10.5 B/cycle) not the limit
    assert load_board("pynq-z2").bytes_per_cycle(250) == 8


GOOD = {"name": "x", "part": "p", "ps": "zynq7", "resources": {"dsp": 1, "bram18": 1, "uram": 0, "lut": 1, "ff": 1},
        "pl_clock": {"min_mhz": 10, "max_mhz": 250}, "ddr_bandwidth_gbps": 4.0, "dma_width_bits": 64}


@pytest.mark.parametrize("change, fragment", [
    ({"resources": None}, "'resources'"),
    ({"ps": "zynq9"}, "'ps'"),
    ({"resources": {"dsp": "many", "bram18": 1, "uram": 0, "lut": 1, "ff": 1}}, "'dsp'"),
    ({"resources": {"dsp": 1, "bram18": 1, "uram": 0, "lut": 1}}, "'ff'"),
    ({"resources": {"dsp": 1, "bram18": -1, "uram": 0, "lut": 1, "ff": 1}}, "bram18"),
    ({"pl_clock": {"min_mhz": 300, "max_mhz": 250}}, "min_mhz < max_mhz"),
    ({"pl_clock": {"min_mhz": True, "max_mhz": 250}}, "'min_mhz'"),
    ({"dma_width_bits": 60}, "dma_width_bits"),
    ({"ddr_bandwith_gbps": 4.0}, "unknown field 'ddr_bandwith_gbps'"),
])
def test_bad_board_files_are_named(change, fragment):
    data = {**GOOD, **change}
    data = {k: v for k, v in data.items() if v is not None}
    parse_board(GOOD, "good.yaml", "good")
    with pytest.raises(HiltError, match=fragment):
        parse_board(data, "bad.yaml", "bad")


def test_unknown_board_impossible_clock_and_broken_yaml_on_the_command_line(capsys, tmp_path):
    code, _, err = cli(capsys, "dse", "lenet5", "--board", "arty", "--freq", "200")
    assert_one_error_line(code, err, "arty", "known: ", "zcu104")
    code, _, err = cli(capsys, "dse", "lenet5", "--board", "pynq-z2", "--freq", "300")
    assert_one_error_line(code, err, "--freq 300", "10-250 MHz")
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: [unclosed\n")
    code, _, err = cli(capsys, "dse", "lenet5", "--board", bad, "--freq", "200")
    assert_one_error_line(code, err, "mine.yaml", "YAML")
    bad.write_text(json.dumps({**GOOD, "ps": "zynq9"}))
    code, _, err = cli(capsys, "dse", "lenet5", "--board", bad, "--freq", "200")
    assert_one_error_line(code, err, "mine.yaml", "'ps'")
    code, _, err = cli(capsys, "dse", "lenet5", "--board", "zcu104", "--freq", "200", "--cap", "1.5")
    assert_one_error_line(code, err, "--cap")


# ---- performance model -------------------------------------------------------------------------

def test_inference_cycle_counts_by_hand():
    net = tiny()
    units = {("c", "fwd"): LayerFolding(2, 3), ("d", "fwd"): LayerFolding(1, 4)}
    st = {(s.layer, s.unit): s.cycles for s in stages(net, units, "infer")}
    # conv: 4x4 outputs x (4/2) x (18/3) = 192 >= 36 input pixels; relu fused; pool 4x4 = 16; dense (3/1)(16/4) = 12
    assert st == {("c", "fwd"): 192, ("p", "maxpool"): 16, ("d", "fwd"): 12}
    assert performance(net, units, 100.0, "infer").ii_cycles == 192
    assert performance(net, units, 100.0).samples_per_s == pytest.approx(100e6 / 192)
    assert performance(net, units, 100.0, floor_cycles=500).ii_cycles == 500  # a DMA floor wins


def test_conv_error_unit_cycles_and_window_floor():
    c = tiny().layer("c")
    # error of a conv: input map 6x6 x (C=2 / pe 1) x (O*9 = 36 / simd 36) = 36, but 6x6 x 2 rows = 72
    assert unit_cycles(c, LayerFolding(1, 36), "err") == 72
    assert unit_cycles(c, LayerFolding(2, 36), "err") == 36
    # forward fully parallel is limited by reading 36 input pixels
    assert unit_cycles(c, LayerFolding(4, 18), "fwd") == 36
    # the gradient unit's window generator reads the 36 stashed input pixels, one per cycle, for 16 windows
    assert unit_cycles(c, LayerFolding(4, 18), "grad") == 36
    assert unit_cycles(c, LayerFolding(1, 18), "grad") == 64  # 16 output pixels, four folds each


def test_a_first_window_generator_taking_several_pixels_per_cycle():
    net = zoo.network("lenet5")
    conv1, conv2 = net.layer("conv1"), net.layer("conv2")
    # conv1 reads 28 x 28 pixels for 24 x 24 windows: the window floor binds; fed by the DMA it may widen
    assert ppc_choices(conv1, "fwd", True) == [1, 2, 4] and ppc_choices(conv1, "grad", True) == [1, 2, 4]
    assert ppc_choices(conv2, "fwd", False) == [1]  # fed by a one-pixel stream
    assert ppc_choices(zoo.network("svhn").layer("conv1"), "fwd", True) == [1]  # padded: as many in as out
    assert unit_cycles(conv1, UnitFolding(6, 25, 1)) == 784
    assert unit_cycles(conv1, UnitFolding(6, 25, 2)) == 576  # 392 cycles of input, 576 windows
    assert unit_cycles(conv1, UnitFolding(3, 25, 4), "grad") == 2 * 576
    # fill: four rows of 28 pixels and 5 more, at two a cycle: 56 + 3, then one fold and the adder tree
    assert unit_fill(conv1, UnitFolding(6, 25, 2), "fwd") == 56 + 3 + 1 + 4 + 5
    # line buffer 4 x 28 int8 = 896 bits in two LUTRAM banks of 448 (7 LUTs each); a 2:1 mux per window
    # bit (25 x 8) and one more window column of 5 pixels in flip-flops
    assert window_cost(conv1, "fwd", 2, 8) == {"dsp": 0, "bram18": 0, "uram": 0, "lut": 14 + 200, "ff": 40}
    assert window_cost(conv1, "fwd", 1, 8)["lut"] == 14


def test_training_stages_in_pipeline_order_by_hand():
    net = tiny()
    st = stages(net, {}, "train")  # everything 1 x 1
    assert [(s.layer, s.unit, s.cycles, s.fill, s.on_path) for s in st] == [
        ("c", "fwd", 1152, 2 * 6 + 3 + 72 + 4, True),  # 16 pixels x 4 x 18; two rows + 3 pixels, one fold, depth
        ("p", "maxpool", 16, 4 + 4, True),
        ("d", "fwd", 48, 48 + 4, True),
        ("d", "loss", 6, 3 + 4, True),  # softmax over 3 logits: two passes
        ("d", "err", 48, 48 + 4, True),  # tied: the transposed 16 x 3 matrix, folding (simd, pe) = (1, 1)
        ("p", "maxpool_bwd", 16, 8, True),
        ("c", "grad", 1152, 91, True),  # first layer: no error unit; its gradient ends the path
        ("d", "grad", 48, 52, False)]
    p = performance(net, {}, 100.0, "train", batch=4, bytes_per_cycle=8.0)
    assert p.ii_cycles == 1152 and p.latency_cycles == 91 + 8 + 52 + 7 + 52 + 8 + 91 + 1152
    assert p.period_cycles == 4966  # the boundary schedule, by hand in the next test
    assert p.boundary_cycles == 4966 - 4 * 1152
    assert p.samples_per_s == pytest.approx(4 * 100e6 / 4966)
    assert p.pipeline_samples_per_s == pytest.approx(100e6 / 1152)


def test_batch_boundary_schedule_by_hand():
    """tiny, every unit 1 x 1, II 1152, batch 4: the last sample enters at 3456. Path offsets: c.fwd 0,
    d.fwd 99, d.err 158 (d.grad beside it), c.grad 218; a stage is done with a sample II after its fill."""
    net = tiny()
    st = stages(net, {}, "train")
    period, ev = batch_schedule(net, st, 1152, 4, Dma(8.0), {})
    c, d = ev
    # d: gradient complete at 3456 + 158 + 52 + 1152; 51 params x 4 B at 8 B/cycle leave by 4843.5; its
    # forward and (tied) error units are done at 4818, so its 48 + 3 x 4 B come back by 4851
    assert (d.grad_ready, d.grad_out, d.in_use, d.loaded) == (4818, 4843.5, 4818, 4851)
    # c, the first layer: complete at 3456 + latency = 4917; 76 x 4 B out by 4955; 72 + 4 x 4 B in by 4966
    assert (c.grad_ready, c.grad_out, c.in_use, c.loaded) == (4917, 4955, 4699, 4966)
    assert (c.weights_due, d.weights_due, c.grads_due, d.grads_due) == (0, 99, 218, 158)
    assert period == 4966  # d is in long before the next batch's first sample reaches it at 4966 + 99
    # an infinitely fast DMA leaves the floor of exact SGD: the first layer's gradient needs the last
    # sample all the way back, (B - 1) * II + latency
    assert batch_schedule(net, st, 1152, 4, Dma(float("inf")), {})[0] == 3456 + 1461
    # batch 1: latency + c's gradient out (38) + its weights in (11)
    assert batch_schedule(net, st, 1152, 1, Dma(8.0), {})[0] == 1461 + 38 + 11


def test_a_missed_deadline_delays_the_next_batch():
    """d's gradient deferred, formed over 400 cycles (0.51 B/cycle of its 204 B) from 3456 + 158 + 1152 =
    4766, when it has stashed the last sample's error: it streams 77.01 B until c (earlier layer, higher
    priority) takes S2MM at 4917-4955, then the remaining 126.99 B to 5204; its weights are in at
    5211.5, due 99 cycles after the start: start 5112.5 -> 5113 instead of 4966."""
    net = tiny()
    period, (c, d) = batch_schedule(net, stages(net, {}, "train"), 1152, 4, Dma(8.0), {"d": 400})
    assert (d.grad_ready, d.grad_out, d.loaded, c.loaded) == (4766, 5204, 5211.5, 4966)
    assert period == 5113


def test_ddr_bandwidth_bounds_two_concurrent_channels():
    """1 B/cycle channels. c preempts d's read-out at 4917 (d has 105 B left), leaves at 5221; then c's
    weights (88 B) come in while d's rest goes out. Unlimited DDR: c in at 5309, d out 5326, in 5386
    (due 99 after the start): period 5309. DDR at 1.5 B/cycle: 0.75 each while both run, c in at
    5338.33 (d has 17 B left, alone at 1 B/cycle to 5355.33, in by 5415.33): period 5339."""
    net = tiny()
    st = stages(net, {}, "train")
    assert batch_schedule(net, st, 1152, 4, Dma(1.0), {})[0] == 5309
    period, (c, d) = batch_schedule(net, st, 1152, 4, Dma(1.0, 1.5), {})
    assert c.loaded == pytest.approx(5221 + 88 / 0.75) and d.grad_out == pytest.approx(5355 + 1 / 3)
    assert period == 5339
    # the pipeline's own DDR traffic keeps its share: 0.5 B/cycle reserved leaves 1 B/cycle to share
    assert batch_schedule(net, st, 1152, 4, Dma(1.0, 1.5, 0.5), {})[0] > 5339


def test_a_deferred_gradient_leaves_the_pipeline_and_works_at_the_boundary():
    net = tiny()
    units = {("d", "grad"): LayerFolding(1, 2)}
    st = {(s.layer, s.unit): s.cycles for s in stages(net, units, "train", deferred=frozenset({"d"}))}
    assert st[("d", "grad")] == 0
    # 32 samples x (3 / 1) x (16 / 2) = 768 cycles of outer products stream d's gradient out, 204 B:
    # slower than the channel, and paused (stalled) while c's 304 B take the channel for 38 cycles
    slow = performance(net, units, 100.0, "train", deferred=frozenset({"d"}), batch=32, bytes_per_cycle=8.0)
    fast = performance(net, units, 100.0, "train", batch=32, bytes_per_cycle=8.0)
    assert slow.events[1].grad_out == slow.events[1].grad_ready + 768 + 38
    assert fast.events[1].grad_out == fast.events[1].grad_ready + 25.5


def test_stash_depths_count_the_samples_in_flight():
    net = tiny()
    # on the path: c.fwd 0, p 1, d.fwd 2, loss 3, d.err 4, p.bwd 5, c.grad 6
    assert stash_depths(net) == {"c": 7, "p": 5, "d": 3}
    # c keeps its 2x6x6 int8 input and the mask of the fused relu (64 bits); p a 2-bit argmax per output
    assert stash_bits(net, 8) == {"c": 72 * 8 + 64, "p": 16 * 2, "d": 16 * 8}


def test_physical_limit_and_the_int8_packing_mix():
    net = zoo.network("lenet5")
    zcu, pynq = load_board("zcu104"), load_board("pynq-z2")
    assert physical_limit(net, zcu, 200, "infer") == 1728 * 2 * 200e6
    assert physical_limit(net, pynq, 200, "infer") == 220 * 200e6
    assert physical_limit(net, zcu, 200, "infer", bits=16) == 1728 * 200e6
    p = net.macs / (3 * net.macs - net.layer("conv1").macs)  # forward share of a training sample's MACs
    assert physical_limit(net, zcu, 200, "train") == pytest.approx(1728 * 200e6 / (p / 2 + 1 - p))


# ---- resource model ----------------------------------------------------------------------------

def test_memory_shapes():
    assert memory_cost(512, 36, "bram") == {"bram18": 1}
    assert memory_cost(1000, 8, "bram") == {"bram18": 1}  # 2K x 9
    assert memory_cost(5000, 8, "bram") == {"bram18": 3}  # 2K x 9, three deep
    assert memory_cost(4096, 72, "uram") == {"uram": 1}
    assert memory_cost(4097, 72, "uram") == {"uram": 2}
    assert memory_cost(64, 8, "lutram") == {"lut": 8}


def test_unit_resources_by_hand():
    net, coef = tiny(), Coefficients()
    d, c = net.layer("d"), net.layer("c")
    zcu, pynq = load_board("zcu104"), load_board("pynq-z2")
    # dense forward (3, 4) hosting its tied error unit: 12 int8 lanes, PE rows 0-1 packed two per DSP48E2 (one
    # slice a SIMD lane) and row 2 alone: 2 x 4 DSPs, plus 12 error lanes
    r = unit_resources(d, "fwd", LayerFolding(3, 4), "bram", zcu, "train", 8, coef, tied=True)
    assert r["dsp"] == 8 + 12 and r["bram18"] == 3  # three PEs, each 4 words of 32 bits
    assert r["lut"] == 2 * (coef.lut_per_lane * 12 + coef.lut_per_unit)
    assert unit_resources(d, "fwd", LayerFolding(3, 4), "bram", pynq, "train", 8, coef, tied=True)["dsp"] == 24
    # conv gradient (4, 18): 72 lanes of 16-bit errors (no packing); 4 PEs x 1 word of 18 x 48-bit accumulators
    # in LUTRAM (864 bits: 14 LUTs each) and a 2-row line buffer of the stored 2x6 int8 input (192 bits: 3 LUTs)
    r = unit_resources(c, "grad", LayerFolding(4, 18), "lutram", zcu, "train", 8, coef)
    assert r["dsp"] == 72 and r["bram18"] == 0
    assert r["lut"] == 4 * 14 + 3 + coef.lut_per_lane * 72 + coef.lut_per_unit


def test_utilization_report_parsing_and_refit():
    report = """
1. Slice Logic
--------------
+----------------------------+-------+-------+-----------+-------+
|          Site Type         |  Used | Fixed | Available | Util% |
+----------------------------+-------+-------+-----------+-------+
| Slice LUTs                 | 12345 |     0 |     53200 | 23.20 |
|   LUT as Logic             | 11000 |     0 |     53200 | 20.68 |
| Slice Registers            | 20000 |     0 |    106400 | 18.80 |
+----------------------------+-------+-------+-----------+-------+
3. Memory
+-------------------+------+-------+-----------+-------+
| Block RAM Tile    | 10.5 |     0 |       140 |  7.50 |
|   RAMB36/FIFO*    |   10 |     0 |       140 |  7.14 |
+-------------------+------+-------+-----------+-------+
4. DSP
+----------------+------+-------+-----------+-------+
| DSPs           |   40 |     0 |       220 | 18.18 |
+----------------+------+-------+-----------+-------+
"""
    assert parse_utilization(report) == {"lut": 12345, "ff": 20000, "dsp": 40, "bram18": 21}
    truth = Coefficients(lut_per_lane=30, lut_per_unit=500, lut_per_fixed_stage=200, ff_per_lane=50,
                         ff_per_unit=700, ff_per_fixed_stage=300)
    designs = [{"lanes": l, "units": u, "fixed_stages": s} for l, u, s in [(10, 2, 1), (50, 3, 2), (200, 5, 2),
                                                                           (400, 9, 3), (80, 4, 0)]]
    measured = [{"lut": 30 * d["lanes"] + 500 * d["units"] + 200 * d["fixed_stages"] + 4000,
                 "ff": 50 * d["lanes"] + 700 * d["units"] + 300 * d["fixed_stages"] + 6000} for d in designs]
    fitted = Coefficients().refit(designs, measured, ps="zynq7")
    assert fitted.lut_per_lane == pytest.approx(30) and fitted.ff_per_unit == pytest.approx(700)
    assert fitted.lut_per_fixed_stage == pytest.approx(200) and fitted.shell["zynq7"]["lut"] == pytest.approx(4000)
    assert fitted.shell["zynqmp"] == Coefficients().shell["zynqmp"]  # other PS types untouched
    feats = design_features(zoo.network("lenet5"), {}, "infer")
    assert feats == {"lanes": 5, "units": 5, "fixed_stages": 2}  # five 1x1 units, two pools
    with pytest.raises(ValueError):
        Coefficients().refit(designs[:2], measured[:2])


# ---- search ------------------------------------------------------------------------------------

def test_search_is_the_exact_min_cost_front_on_a_tiny_net():
    """Against brute force over every folding and storage: each feasible design is matched by one on the
    front at least as fast and no more expensive (balanced cost), and the fastest ones agree."""
    space = Space(tiny(), load_board("pynq-z2"), 100.0, "infer")
    r = search(space, 0.8)
    keys = list(space.options)
    brute = [space.design(dict(zip(keys, combo)), "brute") for combo in itertools.product(*space.options.values())]
    brute = [b for b in brute if b.fits(space.board, 0.8)]
    assert len(brute) > 100
    for b in brute:
        assert any(a.samples_per_s >= b.samples_per_s and space.cost(a.resources) <= space.cost(b.resources) + 1e-12
                   for a in r.front)
    assert r.chosen.samples_per_s == max(b.samples_per_s for b in brute)


@pytest.mark.parametrize("mode", ["infer", "train"])
@pytest.mark.parametrize("model", MODELS)
def test_search_never_worse_than_greedy_and_front_is_non_dominated(model, mode):
    for board in BOARDS:
        space, r = explored(model, board, mode)
        if r is None:  # fc1's weights alone overrun a Zynq-7020; CIFAR-10 training needs 1,236 of 1,208 BRAM18
            assert (model, board) in NOT_FITTING or (model, board, mode) == ("cifar10", "zynq7100", "train")
            continue
        assert r.chosen.fits(space.board, 0.8) and all(d.fits(space.board, 0.8) for d in r.front)
        g = r.greedy
        if g is not None:
            assert g.fits(space.board, 0.8) and r.chosen.samples_per_s >= g.samples_per_s
        for a in r.front:
            assert not any(dominates(b, a) for b in r.front)
        c = r.chosen
        assert 0 < c.board_efficiency <= 1 and 0 < c.dsp_efficiency <= 1
        assert c.samples_per_s <= c.perf.pipeline_samples_per_s


@pytest.mark.parametrize("model", MODELS)
def test_search_beats_greedy_on_some_board(model):
    """Training: on some board the front holds a design faster than the greedy one with no more DSP,
    BRAM18, URAM and LUT (or the search fits a design where the greedy baseline fits none)."""
    wins = []
    for board in BOARDS:
        space, r = explored(model, board, "train")
        if r is None:
            continue
        g = r.greedy
        if g is None or any(d.samples_per_s > g.samples_per_s and all(d.resources[k] <= g.resources[k]
                                                                      for k in OBJECTIVES) for d in r.front):
            wins.append(board)
    assert wins, model


def test_lenet5_training_on_zcu104():
    space, r = explored("lenet5", "zcu104", "train")
    c = r.chosen
    assert c.samples_per_s >= 100_000
    # conv1's window generator takes several pixels per cycle, so II drops below its 28 x 28 input pixels
    assert c.perf.ii_cycles < 28 * 28 and c.units[("conv1", "fwd")].ppc > 1
    assert c.macs == 3 * 281_640 - 86_400
    assert c.macs_per_s == pytest.approx(c.samples_per_s * c.macs)


def test_target_fps_picks_the_cheapest_design_reaching_it():
    space, fastest = explored("lenet5", "zcu104", "infer")
    r = search(space, 0.8, target_fps=20_000)
    assert r.chosen.samples_per_s >= 20_000 and r.chosen.resources["dsp"] < fastest.chosen.resources["dsp"]
    assert space.cost(r.chosen.resources) == min(space.cost(d.resources) for d in r.front if d.samples_per_s >= 20_000)
    with pytest.raises(HiltError, match="target-fps"):
        search(space, 0.8, target_fps=1e9)


# ---- command line ------------------------------------------------------------------------------

def test_cli_json_is_accepted_as_a_folding_file(tmp_path, capsys):
    out = tmp_path / "dse.json"
    code, text, _ = cli(capsys, "dse", "lenet5", "--board", "zcu104", "--freq", "200", "--mode", "train",
                        "--json", out, "--plot", tmp_path / "dse.png")
    assert code == 0 and "physical limit" in text and "chosen" in text
    report = json.loads(out.read_text())
    assert {"board", "freq_mhz", "mode", "pareto", "chosen"} <= set(report)
    assert report["board"] == "zcu104" and report["mode"] == "train" and report["freq_mhz"] == 200
    chosen = report["chosen"]
    assert {"samples_per_s", "latency_us", "dsp", "bram18", "lut", "dsp_efficiency", "board_efficiency",
            "folding"} <= set(chosen)
    assert 0 < chosen["board_efficiency"] <= 1 and 0 < chosen["dsp_efficiency"] <= 1
    assert all({"samples_per_s", "dsp", "bram18", "lut"} <= set(p) for p in report["pareto"])
    folding = load_folding(out, zoo.network("lenet5"))
    assert set(folding) == {"conv1", "conv2", "fc1", "fc2", "fc3"}
    assert {k: {"pe": f.pe, "simd": f.simd} for k, f in folding.items()} == chosen["folding"]
    assert (tmp_path / "dse.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*.part"))


def test_cli_coefficients_file_changes_the_lut_estimate(tmp_path, capsys):
    """--coefficients (as `hilt rtlsynth --refit` writes it) replaces the LUT/FF coefficients; a bad file is
    one error line."""
    args = ("dse", "lenet5", "--board", "zcu104", "--freq", "200", "--target-fps", "1000")
    assert cli(capsys, *args, "--json", tmp_path / "a.json")[0] == 0
    (tmp_path / "c.json").write_text(json.dumps({"lut_per_lane": 1000.0, "lut_per_unit": 0}))
    assert cli(capsys, *args, "--coefficients", tmp_path / "c.json", "--json", tmp_path / "b.json")[0] == 0
    a, b = (json.loads((tmp_path / n).read_text())["chosen"] for n in ("a.json", "b.json"))
    assert b["lut"] > a["lut"]  # at least five lanes at 1,000 LUTs each
    (tmp_path / "c.json").write_text(json.dumps({"lut_per_lane": -1}))
    assert_one_error_line(*cli(capsys, *args, "--coefficients", tmp_path / "c.json")[::2], "lut_per_lane")
    (tmp_path / "c.json").write_text(json.dumps({"shell": 1}))
    assert_one_error_line(*cli(capsys, *args, "--coefficients", tmp_path / "c.json")[::2], "shell")


def test_cli_is_deterministic(tmp_path, capsys):
    for name in ("a.json", "b.json"):
        assert cli(capsys, "dse", "svhn", "--board", "zynq7100", "--freq", "150", "--mode", "train", "--target", "model",
                   "--json", tmp_path / name)[0] == 0
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_unreachable_target_is_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "dse", "lenet5", "--board", "pynq-z2", "--freq", "100", "--target-fps", "1e9",
                       "--json", tmp_path / "x.json")
    assert_one_error_line(code, err, "--target-fps")
    assert not (tmp_path / "x.json").exists()


def test_alexnet_on_pynq_z2_does_not_fit_and_says_why(capsys):
    code, _, err = cli(capsys, "dse", "alexnet", "--board", "pynq-z2", "--freq", "200")
    assert_one_error_line(code, err, "does not fit", "layer-sequential", "fc6", "bram18")
    # with URAM next to BRAM, the bound on block memory as a whole names it
    with pytest.raises(HiltError, match=r"block memory \(BRAM18 \+ URAM\).*layer fc6"):
        search(Space(zoo.network("alexnet"), load_board("zcu104"), 200.0, "infer"), 0.8)


def test_backward_mode_model_counts_the_tap_fifos_at_lenet5_smallest_folding():
    """MODE_BACKWARD at 1 x 1: sample s+1's relu1 tap waits in its one-sample FIFO until sample s's error
    reaches relu1's mask, down the whole error chain (fc3, fc2, fc1 error units, pool2 backward, conv2's
    error unit, pool1 backward: each one's cycles per sample, counted by hand here), and the sections after
    it (pool1 .. fc3 and the logits error: fields, and a cycle for each closing padding) follow. The RTL
    twin measured 388,221 cycles (docs/rtl.md); the training pipeline's slowest stage alone is 345,600."""
    from hilt.dse.backward_mode import backward_call

    net = zoo.network("lenet5", seed=0)
    chain = 84 * 10 + 120 * 84 + 256 * 120 + 8 * 8 + 12 * 12 * 6 * 16 * 25 + 24 * 24
    after = 144 + 64 + 64 + 16 + 16 + (8 + 1) * 2 + (6 + 1) * 2 + (1 + 1) + (2 + 1)
    got = backward_call(net, {}, ppc=1, beat_bits=128)
    assert got["chain_cycles"] == chain and got["ii_cycles"] == chain + after == 388_221
    assert "relu1" in got["bound"] and got["slowest_unit"] == 345_600
    # folded units shorten the chain; then the input stream (every tap, one field a cycle) may bind
    units = {}
    for layer in net.weighted_layers():
        o = layer.out_shape[0]
        units[(layer.name, "grad")], units[(layer.name, "err")] = UnitFolding(o, 1), UnitFolding(1, o)
    folded = backward_call(net, units, ppc=1)
    assert folded["chain_cycles"] < chain and folded["ii_cycles"] < got["ii_cycles"]
