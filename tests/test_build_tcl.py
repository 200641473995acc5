"""The generated Vivado / Vitis HLS Tcl, run in a real Tcl interpreter whose vendor commands record their calls.

Checked against tests/tcl/catalog.py (commands, IP VLNVs, CONFIG properties, pins, address segments
looked up in Xilinx's documents) and against the design description: clock at FREQ, HLS period
1000/FREQ, accelerator / DMA / reset connectivity, non-overlapping addresses equal to the manifest's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tcl"))

from catalog import IPS, VITIS_HLS_COMMANDS, hls_ip  # noqa: E402
from checks import check_addresses, check_catalog, check_connectivity, properties  # noqa: E402
from recorder import Interpreter  # noqa: E402

from hilt.build import blockdesign, kinds  # noqa: E402
from hilt.build.flow import render_vivado  # noqa: E402
from hilt.dse.boards import load_board  # noqa: E402

CASES = [("pynq-z2", 142.0), ("zcu104", 300.0), ("zynq7100", 250.0), ("kv260", 187.5)]


def run_vivado(tmp_path, board_key, freq, kind=None, mutate=None):
    kind = kind or kinds.get("streaming")
    board = load_board(board_key)
    ctx = blockdesign.context("lenet5", board, freq, kind, "lenet5", "../hls/ip", "out")
    tcl, xdc = render_vivado(ctx)
    if mutate:
        tcl = mutate(tcl)
    (tmp_path / "overlay.tcl").write_text(tcl)
    (tmp_path / "timing.xdc").write_text(xdc)
    interp = Interpreter("vivado", effects=True)
    rec = interp.source(tmp_path / "overlay.tcl")
    ips = {**IPS, ctx["accel_vlnv"]: hls_ip("lenet5", kind)}
    return ctx, rec, interp, ips, board


def ps_names(board):
    fam = blockdesign.FAMILIES[board.ps]
    return {k: getattr(fam, k) for k in ("clk", "resetn", "master", "master_clk", "slave", "slave_clk")}


def accel_names(kind):
    return {"clock": kind.clock, "reset": kind.reset, "control": kind.control, "stream_in": kind.stream_in,
            "stream_out": kind.stream_out}


@pytest.mark.parametrize("board_key,freq", CASES)
def test_block_design_against_catalog_and_description(tmp_path, board_key, freq):
    ctx, rec, interp, ips, board = run_vivado(tmp_path, board_key, freq)
    kind = kinds.get("streaming")
    assert check_catalog(rec, interp.tcl, ips) == []
    assert check_connectivity(rec, ps_names(board), accel_names(kind)) == []
    fam = blockdesign.FAMILIES[board.ps]
    assert check_addresses(rec, (fam.control_base, fam.control_base + 0x10000000)) == []

    props = properties(rec, interp.tcl)
    # the accelerator clock is FREQ, from the 100 MHz control clock, reprogrammable over AXI4-Lite
    assert float(props["clk_wiz"]["CONFIG.CLKOUT1_REQUESTED_OUT_FREQ"]) == pytest.approx(freq, abs=5e-4)
    assert props["clk_wiz"]["CONFIG.USE_DYN_RECONFIG"] == "true"
    assert props["clk_wiz"]["CONFIG.INTERFACE_SELECTION"] == "Enable_AXI"
    assert "CONFIG.PRIM_IN_FREQ" not in props["clk_wiz"]  # propagated from the PS clock by IP integrator
    assert interp.tcl.eval("set design") == "lenet5_bd"
    # simple-mode DMA at the board's width, on an HP port of the same width
    dma = props["axi_dma"]
    assert dma["CONFIG.c_include_sg"] == "0"
    for key in ("c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width", "c_m_axi_s2mm_data_width",
                "c_s_axis_s2mm_tdata_width"):
        assert int(dma[f"CONFIG.{key}"]) == board.dma_width_bits
    hp = "PCW_S_AXI_HP0_DATA_WIDTH" if board.ps == "zynq7" else "PSU__SAXIGP2__DATA_WIDTH"
    assert int(props["zynq_ps"][f"CONFIG.{hp}"]) == board.dma_width_bits
    # the GPIO bit idles low and the auxiliary reset is active high: out of reset at power-up
    assert int(props["axi_gpio_reset"]["CONFIG.C_DOUT_DEFAULT"], 16) == 0
    assert props["rst_accel"]["CONFIG.C_AUX_RESET_HIGH"] == "1"
    # the SmartConnects have as many ports as are connected
    for sc, prefix, key in (("ctrl_smc", "M", "NUM_MI"), ("data_smc", "S", "NUM_SI")):
        used = {a for c in rec.named("connect_bd_intf_net") for a in c.args if a.startswith(f"{sc}/{prefix}")}
        assert int(props[sc][f"CONFIG.{key}"]) == len(used)
    # board preset only with a board part
    auto = rec.named("apply_bd_automation")[0].args
    assert f'apply_board_preset "{1 if board.board_part else 0}"' in auto[auto.index("-config") + 1]
    assert bool([c for c in rec.named("set_property") if c.args[0] == "board_part"]) == bool(board.board_part)
    # the address map the manifest records is the one assigned
    assigned = {}
    for c in rec.named("assign_bd_address"):
        seg = c.args[-2]
        assigned[seg.split("/")[0]] = (int(c.args[c.args.index("-offset") + 1], 16),
                                       int(c.args[c.args.index("-range") + 1], 16))
    for entry in blockdesign.address_map(ctx).values():
        assert assigned[entry["name"]] == (entry["base"], entry["range"])
    assert blockdesign.address_map(ctx)["reset_gpio"]["active_high"] == (props["rst_accel"]["CONFIG.C_AUX_RESET_HIGH"]
                                                                        == "1")
    # outputs land where the flow collects them
    assert (tmp_path / "out" / "lenet5.bit").is_file() and (tmp_path / "out" / "lenet5.hwh").is_file()
    assert rec.named("write_bitstream") and rec.named("report_timing_summary")


@pytest.mark.parametrize("board_key,freq", CASES[:2])
def test_timing_constraints_name_both_clocks(tmp_path, board_key, freq):
    ctx, *_ = run_vivado(tmp_path, board_key, freq)
    interp = Interpreter("vivado")
    interp.tcl.eval("proc get_pins {p} { return $p }; proc get_clocks {args} { return [lindex $args end] }")
    rec = interp.source(tmp_path / "timing.xdc")
    (groups,) = rec.named("set_clock_groups")
    assert "-asynchronous" in groups.args
    fam = blockdesign.FAMILIES[load_board(board_key).ps]
    assert f"lenet5_bd_i/zynq_ps/{fam.clk}" in groups.args and "lenet5_bd_i/clk_wiz/clk_out1" in groups.args


def test_checks_catch_broken_scripts(tmp_path):
    """The checks are not vacuous: a wrong property, pin, VLNV, address or connection is reported."""
    board = load_board("zcu104")
    mutations = {
        "property": lambda t: t.replace("CONFIG.USE_DYN_RECONFIG", "CONFIG.USE_DYNAMIC_RECONFIG"),
        "vlnv": lambda t: t.replace("axi_dma:7.1", "axi_dma:7.3"),
        "pin": lambda t: t.replace("rst_accel/aux_reset_in", "rst_accel/aux_resetn"),
        "address": lambda t: t.replace("-offset 0xA0010000", "-offset 0xA0008000"),
        "reset": lambda t: t.replace("[get_bd_pins axi_gpio_reset/gpio_io_o] [get_bd_pins rst_accel/aux_reset_in]",
                                     "[get_bd_pins axi_gpio_reset/gpio_io_o]"),
        "stream": lambda t: t.replace("hilt_accel/in_r]", "hilt_accel/out_r]", 1),
    }
    for what, mutate in mutations.items():
        d = tmp_path / what
        d.mkdir()
        ctx, rec, interp, ips, _ = run_vivado(d, "zcu104", 200.0, mutate=mutate)
        fam = blockdesign.FAMILIES[board.ps]
        problems = (check_catalog(rec, interp.tcl, ips)
                    + check_connectivity(rec, ps_names(board), accel_names(kinds.get("streaming")))
                    + check_addresses(rec, (fam.control_base, fam.control_base + 0x10000000)))
        assert problems, what


def test_tcl_errors_surface(tmp_path):
    (tmp_path / "bad.tcl").write_text("create_bd_design x\nset y $undefined_variable\n")
    import tkinter

    with pytest.raises(tkinter.TclError, match="undefined_variable"):
        Interpreter("vivado").source(tmp_path / "bad.tcl")


def test_kind_with_own_masters_plugs_in(tmp_path):
    """A layer-sequential engine with its own AXI4 master to DDR gets a data-interconnect port and a DDR
    mapping without any change to the template."""
    base = kinds.get("streaming")
    seq = kinds.AcceleratorKind(name="sequential-test", summary="test", generate=base.generate,
                                masters=("m_axi_gmem",))
    ctx, rec, interp, ips, board = run_vivado(tmp_path, "zcu104", 200.0, kind=seq)
    assert check_catalog(rec, interp.tcl, ips) == []
    intf = [set(c.args) for c in rec.named("connect_bd_intf_net")]
    assert any("hilt_accel/m_axi_gmem" in n and any(p.startswith("data_smc/S02") for p in n) for n in intf)
    spaces = [c.args[c.args.index("-target_address_space") + 1] for c in rec.named("assign_bd_address")]
    assert "hilt_accel/Data_m_axi_gmem" in spaces
    assert properties(rec, interp.tcl)["data_smc"]["CONFIG.NUM_SI"] == "3"


@pytest.mark.parametrize("board_key,freq", [("pynq-z2", 142.0), ("zcu104", 300.0)])
def test_hls_script_period_and_ip_name(tmp_path, lenet5_net, board_key, freq):
    """The HLS project's csynth.tcl: Vitis HLS commands only, clock period 1000/FREQ, and the IP it exports
    is the one the block design instantiates."""
    from hilt.codegen.project import compile_project
    from hilt.quant import quantize

    import numpy as np

    x = np.random.default_rng(0).normal(size=(8, *lenet5_net.input_shape)).astype(np.float32)
    q = quantize(lenet5_net, x, bits=8, labels=np.arange(8) % 10)
    board = load_board(board_key)
    compile_project(q, tmp_path / "hls", board, freq, name="lenet5")
    interp = Interpreter("vitis_hls", effects=True)
    rec = interp.source(tmp_path / "hls" / "csynth.tcl")
    assert rec.commands() <= VITIS_HLS_COMMANDS and rec.exited
    (clock,) = rec.named("create_clock")
    assert float(clock.args[clock.args.index("-period") + 1]) == pytest.approx(1000.0 / freq, abs=5e-4)
    (part,) = rec.named("set_part")
    assert part.args == [board.part]
    (export,) = rec.named("export_design")
    a = export.args
    vlnv = ":".join(a[a.index(f"-{k}") + 1] for k in ("vendor", "library", "ipname", "version"))
    ctx = blockdesign.context("lenet5", board, freq, kinds.get("streaming"), "lenet5", "ip", "out")
    assert vlnv == ctx["accel_vlnv"]
    assert (tmp_path / "hls" / "vitis_hls" / "solution1" / "impl" / "ip" / "component.xml").is_file()


def test_block_design_picture_is_drawn_from_the_recorded_calls(tmp_path):
    """docs/images/block_design.png comes from tests/tcl/diagram.py: every recorded connection between two
    cells is drawn, and nothing else."""
    from diagram import draw, edges, record

    rec, ctx = record("pynq-z2", 142.0)
    drawn = draw(rec, ctx, str(tmp_path / "bd.png"))
    expected = [(k, a, b) for k, a, b in edges(rec) if a.split("/")[0] != b.split("/")[0]]
    assert sorted(drawn) == sorted(expected) and len(expected) > 20
    assert {k for k, _, _ in drawn} == {"axi", "stream", "clock", "reset"}
    assert (tmp_path / "bd.png").stat().st_size > 10_000


def test_kind_without_streams_gets_no_dma(tmp_path):
    """A layer-sequential engine (AXI4 masters to DDR, no streams) gets no DMA: its masters are the data
    interconnect's only ports, and the address map has no DMA."""
    base = kinds.get("streaming")
    seq = kinds.AcceleratorKind(name="sequential-test", summary="test", generate=base.generate, stream_in=None,
                                stream_out=None, masters=("m_axi_gmem0", "m_axi_gmem1", "m_axi_gmem2"))
    ctx, rec, interp, ips, board = run_vivado(tmp_path, "pynq-z2", 150.0, kind=seq)
    assert check_catalog(rec, interp.tcl, ips) == []
    assert "axi_dma" not in interp.cells
    props = properties(rec, interp.tcl)
    # one HP port per master (up to four), each through its own SmartConnect
    assert [props[sc]["CONFIG.NUM_SI"] for sc in ("data_smc", "data_smc1", "data_smc2")] == ["1", "1", "1"]
    assert props["ctrl_smc"]["CONFIG.NUM_MI"] == "3" and "data_smc3" not in props
    assert set(blockdesign.address_map(ctx)) == {"accel", "clk_wiz", "reset_gpio"}
    fam = blockdesign.FAMILIES[board.ps]
    assert check_addresses(rec, (fam.control_base, fam.control_base + 0x10000000)) == []
    spaces = {c.args[c.args.index("-target_address_space") + 1] for c in rec.named("assign_bd_address")}
    assert {f"hilt_accel/Data_m_axi_gmem{i}" for i in range(3)} <= spaces
    clock_net = [set(c.args) for c in rec.named("connect_bd_net") if "clk_wiz/clk_out1" in c.args][0]
    assert {"hilt_accel/ap_clk", "zynq_ps/S_AXI_HP0_ACLK", "data_smc/aclk", "zynq_ps/S_AXI_HP2_ACLK",
            "data_smc2/aclk"} <= clock_net
    intf = [set(c.args) for c in rec.named("connect_bd_intf_net")]
    assert {"data_smc2/M00_AXI", "zynq_ps/S_AXI_HP2"} in intf
    assert props["zynq_ps"]["CONFIG.PCW_USE_S_AXI_HP2"] == "1" and "CONFIG.PCW_USE_S_AXI_HP3" not in props["zynq_ps"]
