"""The generated .hwh describes the block design the build flow's Tcl creates, and pynq's own parser sees its
wiring: the same signal and interface nets as the recorded Tcl, the DMA's streams into and out of the
accelerator, the accelerator clock from the clocking wizard and the reset from the GPIO-driven proc_sys_reset."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tcl"))


def _tcl_nets(board_key: str, name: str, freq: float, engine=None):
    """(signal nets, interface nets) the overlay Tcl connects, recorded from a real Tcl interpreter."""
    pytest.importorskip("tkinter")
    from recorder import Interpreter

    from hilt.board.design import block_design
    import tempfile

    from hilt.build.flow import render_vivado
    from hilt.dse.boards import load_board

    tcl, xdc = render_vivado(block_design(name, load_board(board_key), freq, engine))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "overlay.tcl").write_text(tcl)
        (Path(tmp) / "timing.xdc").write_text(xdc)
        rec = Interpreter("vivado", effects=True).source(Path(tmp) / "overlay.tcl")
    return ({frozenset(c.args) for c in rec.named("connect_bd_net")},
            {frozenset(c.args) for c in rec.named("connect_bd_intf_net")})


def _hwh_nets(hwh: Path):
    """(signal nets, interface nets) of a .hwh: ports that no bus interface maps, grouped by signal name; bus
    interfaces grouped by bus name."""
    root = ET.parse(hwh).getroot()
    signals, buses = {}, {}
    for m in root.iter("MODULE"):
        inst = m.get("INSTANCE")
        mapped = {pm.get("PHYSICAL") for pm in m.iter("PORTMAP")}
        for p in m.iter("PORT"):
            if p.get("SIGNAME") and p.get("NAME") not in mapped:
                signals.setdefault(p.get("SIGNAME"), set()).add(f"{inst}/{p.get('NAME')}")
        for b in m.iter("BUSINTERFACE"):
            buses.setdefault(b.get("BUSNAME"), set()).add(f"{inst}/{b.get('NAME')}")
    return {frozenset(v) for v in signals.values()}, {frozenset(v) for v in buses.values()}


@pytest.mark.parametrize("board_key,kind", [("pynq-z2", "streaming"), ("zcu104", "streaming"),
                                            ("pynq-z2", "sequential"), ("zcu104", "sequential")])
def test_hwh_wiring_is_the_tcls(small_q, tmp_path, board_key, kind):
    """Every net of the .hwh is a net the Tcl connects and the other way round, for both accelerator kinds (the
    engine: no DMA, its AXI4 masters dealt over the HP ports)."""
    from dataclasses import replace

    from hilt.board.design import write_overlay
    from hilt.dse.boards import load_board
    from hilt.dse.sequential import EngineConfig

    engine = EngineConfig(vec=4, lane=8, wports=2) if kind == "sequential" else None
    folder = write_overlay(small_q, tmp_path / board_key, board=board_key, freq_mhz=200.0, name="lenet5",
                           engine=engine)
    if engine is not None:
        engine = replace(engine, port_bytes=load_board(board_key).dma_width_bits // 8)
    tcl_nets, tcl_intf = _tcl_nets(board_key, "lenet5", 200.0, engine)
    hwh_nets, hwh_intf = _hwh_nets(folder / "lenet5.hwh")
    assert hwh_nets == tcl_nets
    assert hwh_intf == tcl_intf
    assert any("rst_accel/aux_reset_in" in n and "axi_gpio_reset/gpio_io_o" in n for n in hwh_nets)
    if kind == "streaming":
        assert frozenset({"axi_dma/M_AXIS_MM2S", "hilt_accel/in_r"}) in hwh_intf
    else:
        assert not any("axi_dma" in p for n in hwh_intf for p in n)
        assert frozenset({"hilt_accel/m_axi_gmem1", "data_smc/S00_AXI"}) in hwh_intf


def test_pynqs_parser_sees_streams_clocks_and_resets(board):
    """Through the Overlay the driver opened: pynq's metadata model (the parser behind ip_dict) connects the
    DMA's MM2S to the accelerator's input and its output to S2MM, the accelerator's and DMA's clock to clk_out1,
    and their reset to rst_accel, whose auxiliary reset is the GPIO's output."""
    md = board.overlay.parser.md
    blocks = md.blocks

    def ends(cell, port):
        return {f"{d.parent().name}/{d.name}" for d in blocks[cell].ports[port].destinations().values()}

    assert {"zynq_ps", "hilt_accel", "axi_dma", "clk_wiz", "rst_ps", "rst_accel", "axi_gpio_reset"} <= set(blocks)
    assert ends("axi_dma", "M_AXIS_MM2S") == {"hilt_accel/in_r"}
    assert ends("hilt_accel", "out_r") == {"axi_dma/S_AXIS_S2MM"}
    assert blocks["axi_dma"].ports["M_AXIS_MM2S"].driver and not blocks["hilt_accel"].ports["in_r"].driver
    assert ends("hilt_accel", "ap_clk") == {"clk_wiz/clk_out1"}
    assert {"hilt_accel/ap_clk", "axi_dma/m_axi_mm2s_aclk", "axi_dma/m_axi_s2mm_aclk",
            "rst_accel/slowest_sync_clk"} <= ends("clk_wiz", "clk_out1")
    assert ends("rst_accel", "peripheral_aresetn") == {"hilt_accel/ap_rst_n", "axi_dma/axi_resetn"}
    assert ends("rst_accel", "aux_reset_in") == {"axi_gpio_reset/gpio_io_o"}
    assert ends("rst_accel", "dcm_locked") == {"clk_wiz/locked"}
    # what pynq's user-facing views make of it: the IPs with their addresses, the DMA's stream parameters
    ip = board.overlay.ip_dict
    assert {"hilt_accel", "axi_dma", "clk_wiz", "axi_gpio_reset"} <= set(ip)
    assert "rst_accel" not in ip  # no AXI4-Lite slave: not addressable, as on a Vivado-built overlay
    assert ip["axi_dma"]["parameters"]["c_include_sg"] == "0"
    assert int(ip["axi_dma"]["parameters"]["c_m_axis_mm2s_tdata_width"]) == board.beat_bits
    assert board.overlay._ip_map is not None and "hilt_accel" in dir(board.overlay)
