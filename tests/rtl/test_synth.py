"""Yosys synthesis of the RTL twin (`hilt rtlsynth`): the primitive counting, the script, the DSE estimate
beside it, the command's refusals; heavy: a real synth_xilinx run of the tiny net's twin."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hilt import zoo
from hilt.dse.boards import load_board
from hilt.rtl import design, synth

TINY = ((1, 8, 8), "tiny test net", [("conv1", "conv", (4, 3, 1, 1, 1)), ("relu1", "relu", None),
                                     ("pool1", "maxpool", (2, 2)), ("flatten", "flatten", None),
                                     ("fc1", "dense", 10)])


@pytest.fixture(scope="module")
def tiny_q():
    from hilt.quant import quantize

    zoo._SPECS["tiny"] = TINY
    try:
        net = zoo.network("tiny", seed=1)
    finally:
        del zoo._SPECS["tiny"]
    return quantize(net, np.random.default_rng(0).uniform(0, 1, (16, 1, 8, 8)).astype(np.float32))


def test_counts_map_xilinx_primitives_to_resources():
    cells = {"LUT1": 3, "LUT6": 10, "RAM64M": 2, "SRLC32E": 1, "FDRE": 20, "FDSE": 2, "DSP48E2": 4,
             "RAMB18E2": 1, "RAMB36E2": 2, "CARRY8": 5, "MUXF7": 6, "BUFG": 1}
    assert synth.counts(cells) == {"lut": 13 + 8 + 1, "lut_logic": 13, "lutram_luts": 9, "ff": 22, "dsp": 4,
                                   "bram18": 5, "carry": 5}


def test_script_synthesises_without_the_share_pass(tmp_path):
    text = synth.script([tmp_path / "a.sv", tmp_path / "b.sv"], "top_rtl", "xc7", tmp_path / "s.json")
    commands = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert commands[:2] == [f"read_verilog -sv {tmp_path / 'a.sv'}", f"read_verilog -sv {tmp_path / 'b.sv'}"]
    assert "synth_xilinx -family xc7 -top top_rtl -noiopad -run begin:coarse" in commands
    assert "synth_xilinx -family xc7 -top top_rtl -noiopad -run map_memory:check" in commands
    assert "share" not in commands and commands[-1] == f"tee -q -o {tmp_path / 's.json'} stat -tech xilinx -json"


def test_estimate_is_the_resource_model_without_the_shell(tiny_q, tmp_path):
    from hilt.dse.resources import Coefficients, design_resources
    from hilt.dse.perf import UnitFolding

    info = design.write_rtl(tiny_q, tmp_path / "rtl", {"conv1": design.LayerFolding(2, 3),
                                                       "fc1": design.LayerFolding(5, 4)})
    board = load_board("zcu104")
    est = synth.estimate(tiny_q, info, board)
    units = {("conv1", "fwd"): UnitFolding(2, 3, 1), ("fc1", "fwd"): UnitFolding(5, 4, 1)}
    full = design_resources(tiny_q.network, units, {}, board)
    shell = Coefficients().shell[board.ps]
    assert est["lut"] == pytest.approx(full["lut"] - shell["lut"]) and est["dsp"] == full["dsp"]
    assert est["lut"] > 0 and est["ff"] > 0


def test_rtlsynth_refuses_a_refit_from_fewer_than_four_designs(tmp_path, capsys):
    from hilt.cli import main

    assert main(["rtlsynth", str(tmp_path), "--refit", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hilt: error:") and "four or more" in err
    assert not (tmp_path / "c.json").exists()


STAT_023 = """{
   "creator": "Yosys 0.23",
   "modules": {
      "\\\\sub": {
         "num_cells":         2,
         "num_cells_by_type": {
            "DSP48E2": 1,
            "FDRE": 1
         }
      }
   },
       sub      2
      "design": {
         "num_cells":         4,
         "num_cells_by_type": {
            "DSP48E2": 2,
            "FDRE": 2
         }
      }
}
"""


def test_parse_stat_drops_the_hierarchy_listing_yosys_023_prints_into_its_json():
    data = synth.parse_stat(STAT_023)
    assert data["design"]["num_cells_by_type"] == {"DSP48E2": 2, "FDRE": 2}
    assert list(data["modules"]) == ["\\sub"]


def test_rtlsynth_takes_earlier_reports_for_a_refit(tmp_path, capsys):
    """Designs synthesised in separate runs (reports from --json) refit the LUT/FF coefficients together:
    four designs whose logic follows 10 LUTs and 20 FFs per lane, 100 and 200 per unit, 50 and 60 per
    fixed-rate stage, recovered exactly."""
    from hilt.cli import main

    designs = []
    for lanes, units, fixed in ((10, 2, 1), (40, 2, 1), (100, 5, 2), (7, 3, 4), (64, 4, 2)):
        lut, ff = 10 * lanes + 100 * units + 50 * fixed, 20 * lanes + 200 * units + 60 * fixed
        designs.append({"top": "t", "board": "zcu104", "family": "xcup", "seconds": 1.0,
                        "features": {"lanes": lanes, "units": units, "fixed_stages": fixed},
                        "yosys": {"lut": lut + 64, "lut_logic": lut, "lutram_luts": 64, "ff": ff, "dsp": 1,
                                  "bram18": 0, "carry": 0},
                        "estimate": {"lut": 1.0, "ff": 1.0, "dsp": 1.0, "bram18": 0.0}})
    (tmp_path / "a.json").write_text(json.dumps({"designs": designs[:2]}))
    (tmp_path / "b.json").write_text(json.dumps({"designs": designs[2:]}))
    assert main(["rtlsynth", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--refit",
                 str(tmp_path / "c.json"), "--json", str(tmp_path / "r.json")]) == 0
    coef = json.loads((tmp_path / "c.json").read_text())
    want = {"lut_per_lane": 10, "ff_per_lane": 20, "lut_per_unit": 100, "ff_per_unit": 200,
            "lut_per_fixed_stage": 50, "ff_per_fixed_stage": 60}
    assert coef == pytest.approx(want)
    # each design as the refitted coefficients give it, beside Yosys' figure: exact for these linear designs
    fit = json.loads((tmp_path / "r.json").read_text())["refit_fit"]
    assert [(f["lut_refit"], f["ff_refit"]) for f in fit] == [(f["lut"], f["ff"]) for f in fit]
    assert [f["lut"] for f in fit] == [d["yosys"]["lut_logic"] for d in designs]
    assert "lut_per_lane" in capsys.readouterr().out
    same = [dict(d, features={**d["features"], "units": 2, "fixed_stages": 1}) for d in designs]
    (tmp_path / "same.json").write_text(json.dumps({"designs": same}))
    assert main(["rtlsynth", str(tmp_path / "same.json"), "--refit", str(tmp_path / "d.json")]) == 2
    assert "rank 2" in capsys.readouterr().err and not (tmp_path / "d.json").exists()
    (tmp_path / "bad.json").write_text(json.dumps({"designs": [{"top": "t"}]}))
    assert main(["rtlsynth", str(tmp_path / "bad.json")]) == 2
    assert "not a report written by" in capsys.readouterr().err


@pytest.mark.heavy
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (apt-get install yosys)")
def test_rtlsynth_of_the_tiny_twin(tiny_q, tmp_path):
    from hilt.cli import main
    from hilt.codegen.project import compile_project

    project = tmp_path / "tiny_hls"
    # forward only: the DSE estimate beside Yosys' figures counts the forward units (the training plan's twin
    # adds its error and gradient units, one DSP per multiply lane each)
    compile_project(tiny_q, project, forward_only=True)
    tiny_q.save(project / "qmodel.npz")
    assert main(["rtlsynth", str(project), "--board", "zcu104", "--json", str(tmp_path / "s.json")]) == 0
    row = json.loads((tmp_path / "s.json").read_text())["designs"][0]
    y = row["yosys"]
    # 1 x 1 everywhere: one signed 8 x 8 multiply per MVU, each in a DSP48E2; control, counters and registers
    assert y["dsp"] == 2 and y["lut"] > 100 and y["ff"] > 100
    assert sum("hilt_mvu" in m for m in row["modules"]) == 2 and any("hilt_ctrl" in m for m in row["modules"])
    assert row["estimate"]["dsp"] == 2 and row["features"] == {"lanes": 2, "units": 2, "fixed_stages": 1}


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (apt-get install yosys)")
@pytest.mark.parametrize("board", ["zcu104", "pynq-z2"])
def test_mac_array_takes_the_dse_count_of_dsp_slices(board, tmp_path):
    """PE 5 x SIMD 3 int8 lanes through synth_xilinx: on a DSP48E2 (ZCU104) rows 0-1 and 2-3 share a slice per
    lane and row 4 has its own (ceil(5 / 2) x 3 = 9), on a DSP48E1 (PYNQ-Z2) one multiply each (15): the
    DSE's count for that unit, from the packing the MVU is rendered with."""
    from hilt.dse.resources import unit_dsp

    b = load_board(board)
    (tmp_path / "mac_top.sv").write_text(
        "module mac_top (input logic clk, en, v, f, input logic [23:0] a, input logic [119:0] w,\n"
        "                input logic [159:0] b, output logic [159:0] acc);\n"
        f"  hilt_mac #(.PE(5), .SIMD(3), .PACK({b.macs_per_dsp})) u (.clk(clk), .en(en), .in_valid(v), .first(f),\n"
        "      .act(a), .wgt(w), .init(b), .acc(acc));\nendmodule\n")
    shutil.copy(design.LIBRARY / "hilt_mac.sv", tmp_path / "hilt_mac.sv")
    (tmp_path / "rtl.json").write_text(json.dumps({"top": "mac_top", "sources": ["mac_top.sv", "hilt_mac.sv"]}))
    got = synth.synthesize(tmp_path, synth.FAMILY[b.ps], timeout_s=600)
    want = unit_dsp("fwd", design.LayerFolding(5, 3), b, 8)[0]
    assert got["total"]["dsp"] == want == {"zcu104": 9, "pynq-z2": 15}[board]


def test_refit_of_the_recorded_twin_reports(tmp_path):
    """docs/rtlsynth_twin.json holds the Yosys reports behind docs/rtl.md's synthesis table (four tiny
    foldings, tiny2, LeNet-5): the refit it documents comes back from them without Yosys, and every MAC
    lane's DSP is where the model counts it (LeNet-5's 7 more are address constants)."""
    from pathlib import Path

    from hilt.cli import main

    report = Path(__file__).resolve().parents[2] / "docs" / "rtlsynth_twin.json"
    assert main(["rtlsynth", str(report), "--refit", str(tmp_path / "c.json")]) == 0
    coef = json.loads((tmp_path / "c.json").read_text())
    assert coef["lut_per_lane"] == pytest.approx(82.0, abs=0.05) and coef["ff_per_lane"] == pytest.approx(21.2, abs=0.05)
    designs = json.loads(report.read_text())["designs"]
    assert [d["yosys"]["dsp"] - d["estimate"]["dsp"] for d in designs] == [0, 0, 0, 0, 0, 7]
