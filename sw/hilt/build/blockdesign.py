"""The Vivado block design of an overlay, as data for templates/vivado (the templates only lay it out).

Instance names follow the overlay contract the PYNQ driver relies on: ``zynq_ps``, ``hilt_accel``,
``axi_dma``, ``clk_wiz``, ``rst_accel``, ``axi_gpio_reset``. Clock structure:

- the PS's first fabric clock (100 MHz) is the *control* clock: the PS master port, the clocking
  wizard's and the GPIO's AXI4-Lite ports, and the control SmartConnect's first clock;
- ``clk_wiz/clk_out1`` at FREQ is the *accelerator* clock: the accelerator, the DMA (so one DMA beat
  per accelerator cycle, as the DSE's performance model assumes), the data SmartConnect and the PS's
  HP slave port. The control SmartConnect (two clocks) crosses the AXI4-Lite traffic into it;
- the clocking wizard has dynamic reconfiguration over AXI4-Lite, so the driver can move clk_out1 to
  any frequency the MMCM reaches, not only the PS PLL's integer divisors.

Resets: ``rst_ps`` (control domain) and ``rst_accel`` (accelerator domain, held until clk_wiz locks;
its auxiliary reset is bit 0 of ``axi_gpio_reset``, active high, so the driver resets a hung
accelerator, DMA and data interconnect without reloading the bitstream).

IP versions are those of Vivado 2022.1, the release PYNQ 3.0 images are built with.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dse.boards import Board
from .kinds import AcceleratorKind

VIVADO_VERSION = "2022.1"
CONTROL_MHZ = 100.0
SEGMENT = 0x10000  # each AXI4-Lite peripheral gets 64 KiB of the PS master's window
HLS_VENDOR, HLS_LIBRARY, HLS_VERSION = "hilt", "hilt", "1.0"  # export_design in templates/hls/csynth.tcl.j2

VLNV = {
    "processing_system7": "xilinx.com:ip:processing_system7:5.5",
    "zynq_ultra_ps_e": "xilinx.com:ip:zynq_ultra_ps_e:3.4",
    "axi_dma": "xilinx.com:ip:axi_dma:7.1",
    "clk_wiz": "xilinx.com:ip:clk_wiz:6.0",
    "proc_sys_reset": "xilinx.com:ip:proc_sys_reset:5.0",
    "axi_gpio": "xilinx.com:ip:axi_gpio:2.0",
    "smartconnect": "xilinx.com:ip:smartconnect:1.0",
}


@dataclass(frozen=True)
class PsFamily:
    """The processing system's IP and port names for one Zynq family."""

    ip: str
    rule: str                # apply_bd_automation rule that applies the board preset
    automation: str          # its -config, {preset} = 1 with a board part, else 0
    clk: str                 # fabric clock 0 (control clock)
    resetn: str              # fabric reset 0 (active low)
    master: str              # AXI master port to the PL's control registers
    master_clk: str
    slave: str               # high-performance slave port to DDR, used by the DMA
    slave_clk: str
    ddr_segment: str         # the DDR address segment behind the slave port
    ddr_range: int
    control_base: int        # start of the master port's PL window
    timing_clock: str        # what Vivado names the fabric clock 0 in timing reports

    def hp(self, i: int) -> tuple[str, str, str]:
        """(slave port, its clock pin, the DDR segment behind it) of high-performance port HP<i> (0-3)."""
        if self.ip == "processing_system7":
            return f"S_AXI_HP{i}", f"S_AXI_HP{i}_ACLK", f"S_AXI_HP{i}/HP{i}_DDR_LOWOCM"
        return f"S_AXI_HP{i}_FPD", f"saxihp{i}_fpd_aclk", f"SAXIGP{i + 2}/HP{i}_DDR_LOW"  # HP<i>_FPD is S_AXI_GP<i+2>

    def config(self, dma_bits: int, hp_ports: int = 1) -> dict[str, str]:
        if self.ip == "processing_system7":
            hp = {k: v for i in range(hp_ports) for k, v in ((f"PCW_USE_S_AXI_HP{i}", "1"),
                                                             (f"PCW_S_AXI_HP{i}_DATA_WIDTH", str(dma_bits)))}
            return {"PCW_USE_M_AXI_GP0": "1", **hp, "PCW_EN_CLK0_PORT": "1", "PCW_EN_RST0_PORT": "1",
                    "PCW_FPGA0_PERIPHERAL_FREQMHZ": f"{CONTROL_MHZ:g}"}
        # HPM0_FPD is the control master; HPM1_FPD and HPM0_LPD (on in some board presets) are switched
        # off so that no clock pin is left unconnected; S_AXI_GP2..5 are HP0..3_FPD.
        hp = {k: v for i in range(hp_ports) for k, v in ((f"PSU__USE__S_AXI_GP{i + 2}", "1"),
                                                         (f"PSU__SAXIGP{i + 2}__DATA_WIDTH", str(dma_bits)))}
        return {"PSU__USE__M_AXI_GP0": "1", "PSU__MAXIGP0__DATA_WIDTH": "32", "PSU__USE__M_AXI_GP1": "0",
                "PSU__USE__M_AXI_GP2": "0", **hp,
                "PSU__FPGA_PL0_ENABLE": "1", "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ": f"{CONTROL_MHZ:g}"}


FAMILIES = {
    "zynq7": PsFamily("processing_system7", "xilinx.com:bd_rule:processing_system7",
                      'make_external "FIXED_IO, DDR" apply_board_preset "{preset}" Master "Disable" Slave "Disable"',
                      "FCLK_CLK0", "FCLK_RESET0_N", "M_AXI_GP0", "M_AXI_GP0_ACLK", "S_AXI_HP0", "S_AXI_HP0_ACLK",
                      "S_AXI_HP0/HP0_DDR_LOWOCM", 0x40000000, 0x40000000, "clk_fpga_0"),
    "zynqmp": PsFamily("zynq_ultra_ps_e", "xilinx.com:bd_rule:zynq_ultra_ps_e", 'apply_board_preset "{preset}"',
                       "pl_clk0", "pl_resetn0", "M_AXI_HPM0_FPD", "maxihpm0_fpd_aclk", "S_AXI_HP0_FPD",
                       "saxihp0_fpd_aclk", "SAXIGP2/HP0_DDR_LOW", 0x80000000, 0xA0000000, "clk_pl_0"),
}

# Cell names (the overlay contract) and the AXI4-Lite slave segment of each.
PS, ACCEL, DMA, CLK, RST_ACCEL, RST_PS, GPIO = "zynq_ps", "hilt_accel", "axi_dma", "clk_wiz", "rst_accel", "rst_ps", \
    "axi_gpio_reset"
CTRL_SC, DATA_SC = "ctrl_smc", "data_smc"
HP_PORTS = 4  # high-performance slave ports of either PS family to DDR


def data_paths(fam: PsFamily, masters: list[str], spaces: list[str], spread: bool) -> list[dict]:
    """The data SmartConnects: one on HP0 for everything, or (``spread``: an accelerator with its own masters
    and no DMA) one per HP port with the masters dealt round robin in the kind's order, so that each of up to
    four masters listed first (the engine's weight masters) has a port's full width to DDR."""
    n = min(HP_PORTS, len(masters)) if spread else 1
    paths = []
    for i in range(n):
        slave, clk, seg = fam.hp(i)
        paths.append({"cell": DATA_SC if i == 0 else f"{DATA_SC}{i}", "slave": slave, "slave_clk": clk,
                      "ddr_segment": f"{PS}/{seg}", "masters": masters[i::n], "spaces": spaces[i::n]})
    return paths


def dma_config(bits: int) -> dict[str, str]:
    """Simple mode (no scatter-gather), both channels, streams and memory maps at the board's DMA width.
    The length register is the widest (26 bits, 64 MiB per transfer) so a whole batch of taps fits."""
    return {"c_include_sg": "0", "c_sg_include_stscntrl_strm": "0", "c_include_mm2s": "1", "c_include_s2mm": "1",
            "c_sg_length_width": "26", "c_m_axi_mm2s_data_width": str(bits), "c_m_axis_mm2s_tdata_width": str(bits),
            "c_m_axi_s2mm_data_width": str(bits), "c_s_axis_s2mm_tdata_width": str(bits),
            "c_mm2s_burst_size": "16", "c_s2mm_burst_size": "16", "c_addr_width": "32"}


def clk_wiz_config(freq_mhz: float) -> dict[str, str]:
    """An MMCM from the 100 MHz control clock (already on a global buffer: no input buffer) with the AXI4-Lite
    dynamic-reconfiguration interface (PG065), one output at FREQ and a locked output for the reset. The input
    frequency is not set: IP integrator propagates it from the PS clock (a Zynq UltraScale+ PS makes 99.999 MHz
    of its 100, and a user-set value that differs fails validation)."""
    return {"PRIMITIVE": "MMCM", "PRIM_SOURCE": "No_buffer", "USE_DYN_RECONFIG": "true",
            "INTERFACE_SELECTION": "Enable_AXI", "CLKOUT1_REQUESTED_OUT_FREQ": f"{freq_mhz:.3f}",
            "USE_LOCKED": "true", "USE_RESET": "false"}


RESET_CONFIG = {"C_EXT_RESET_HIGH": "0", "C_AUX_RESET_HIGH": "1"}  # PS reset is active low; GPIO bit high = reset
GPIO_CONFIG = {"C_GPIO_WIDTH": "1", "C_ALL_OUTPUTS": "1", "C_DOUT_DEFAULT": "0x00000000"}


def context(name: str, board: Board, freq_mhz: float, kind: AcceleratorKind, ip_name: str, ip_repo: str,
            out_dir: str, jobs: int = 4) -> dict:
    """Everything the block-design templates lay out, and the address map the overlay manifest records."""
    fam = FAMILIES[board.ps]
    # a kind with streams gets the AXI DMA; one that only reads and writes DDR itself (masters) does not
    has_dma = bool(kind.stream_in or kind.stream_out)
    slaves = [(ACCEL, f"{ACCEL}/{kind.control}/Reg", "accel")] + ([(DMA, f"{DMA}/S_AXI_LITE/Reg", "dma")] if has_dma
                                                                  else []) + \
             [(CLK, f"{CLK}/s_axi_lite/Reg", "clk_wiz"), (GPIO, f"{GPIO}/S_AXI/Reg", "reset_gpio")]
    addresses = [{"cell": cell, "segment": seg, "key": key, "base": fam.control_base + i * SEGMENT, "range": SEGMENT}
                 for i, (cell, seg, key) in enumerate(slaves)]
    ctrl_targets = [f"{cell}/{seg.split('/')[1]}" for cell, seg, _ in slaves]
    dma_masters = [f"{DMA}/M_AXI_MM2S", f"{DMA}/M_AXI_S2MM"] if has_dma else []
    data_masters = dma_masters + [f"{ACCEL}/{m}" for m in kind.masters]
    data_spaces = ([f"{DMA}/Data_MM2S", f"{DMA}/Data_S2MM"] if has_dma else []) + [f"{ACCEL}/Data_{m}"
                                                                                   for m in kind.masters]
    paths = data_paths(fam, data_masters, data_spaces, spread=not has_dma)
    ctx = {
        "name": name, "bd_name": f"{name}_bd", "board": board.name, "part": board.part, "board_part": board.board_part,
        "family": board.ps, "vivado_version": VIVADO_VERSION, "freq_mhz": f"{freq_mhz:.3f}",
        "period_ns": f"{1000.0 / freq_mhz:.3f}", "control_mhz": f"{CONTROL_MHZ:.3f}", "jobs": jobs,
        "ip_repo": ip_repo, "out_dir": out_dir, "ps": fam, "ps_vlnv": VLNV[fam.ip],
        "ps_automation": fam.automation.format(preset=1 if board.board_part else 0),
        "ps_config": fam.config(board.dma_width_bits, len(paths)), "vlnv": VLNV, "data_paths": paths,
        "accel_vlnv": f"{HLS_VENDOR}:{HLS_LIBRARY}:{ip_name}:{HLS_VERSION}", "kind": kind, "has_dma": has_dma,
        "dma_config": dma_config(board.dma_width_bits), "clk_config": clk_wiz_config(freq_mhz),
        "reset_config": RESET_CONFIG, "gpio_config": GPIO_CONFIG, "cells": {
            "ps": PS, "accel": ACCEL, "dma": DMA, "clk": CLK, "rst_accel": RST_ACCEL, "rst_ps": RST_PS, "gpio": GPIO,
            "ctrl_sc": CTRL_SC, "data_sc": DATA_SC},
        "ctrl_targets": ctrl_targets, "data_masters": data_masters, "data_spaces": data_spaces,
        "addresses": addresses, "ddr_segment": f"{PS}/{fam.ddr_segment}", "ddr_range": fam.ddr_range,
        "timing_clock": fam.timing_clock,
    }
    ctx["nets"], ctx["intf_nets"] = connections(ctx)
    return ctx


def connections(ctx: dict) -> tuple[list[dict], list[dict]]:
    """The block design's wiring, as the Tcl makes it and the hardware hand-off (.hwh) describes it.

    Signal nets: ``{"group": "clock" | "reset", "pins": [driver, load, ...]}`` (``cell/pin``). Interface
    nets: ``{"group": "control" | "data" | "stream", "pins": [initiator, target]}``."""
    c, ps, kind = ctx["cells"], ctx["ps"], ctx["kind"]
    paths, dma = ctx["data_paths"], ctx["has_dma"]
    accel_clock = [f"{c['accel']}/{kind.clock}"]
    if dma:
        accel_clock += [f"{c['dma']}/{p}" for p in ("s_axi_lite_aclk", "m_axi_mm2s_aclk", "m_axi_s2mm_aclk")]
    for path in paths:
        accel_clock += [f"{c['ps']}/{path['slave_clk']}", f"{path['cell']}/aclk"]
    nets = [
        {"group": "clock", "pins": [f"{c['ps']}/{ps.clk}", f"{c['ps']}/{ps.master_clk}", f"{c['clk']}/clk_in1",
                                    f"{c['clk']}/s_axi_aclk", f"{c['gpio']}/s_axi_aclk",
                                    f"{c['rst_ps']}/slowest_sync_clk", f"{c['ctrl_sc']}/aclk"]},
        {"group": "clock", "pins": [f"{c['clk']}/clk_out1", *accel_clock, f"{c['rst_accel']}/slowest_sync_clk",
                                    f"{c['ctrl_sc']}/aclk1"]},
        {"group": "reset", "pins": [f"{c['ps']}/{ps.resetn}", f"{c['rst_ps']}/ext_reset_in",
                                    f"{c['rst_accel']}/ext_reset_in"]},
        {"group": "reset", "pins": [f"{c['rst_ps']}/peripheral_aresetn", f"{c['clk']}/s_axi_aresetn",
                                    f"{c['gpio']}/s_axi_aresetn"]},
        {"group": "reset", "pins": [f"{c['rst_ps']}/interconnect_aresetn", f"{c['ctrl_sc']}/aresetn"]},
        {"group": "reset", "pins": [f"{c['clk']}/locked", f"{c['rst_accel']}/dcm_locked"]},
        {"group": "reset", "pins": [f"{c['gpio']}/gpio_io_o", f"{c['rst_accel']}/aux_reset_in"]},
        {"group": "reset", "pins": [f"{c['rst_accel']}/peripheral_aresetn", f"{c['accel']}/{kind.reset}"]
         + ([f"{c['dma']}/axi_resetn"] if dma else [])},
        {"group": "reset", "pins": [f"{c['rst_accel']}/interconnect_aresetn"]
         + [f"{p['cell']}/aresetn" for p in paths]},
    ]
    intf = [{"group": "control", "pins": [f"{c['ps']}/{ps.master}", f"{c['ctrl_sc']}/S00_AXI"]}]
    intf += [{"group": "control", "pins": [f"{c['ctrl_sc']}/M{i:02d}_AXI", target]}
             for i, target in enumerate(ctx["ctrl_targets"])]
    for path in paths:
        intf += [{"group": "data", "pins": [master, f"{path['cell']}/S{j:02d}_AXI"]}
                 for j, master in enumerate(path["masters"])]
        intf.append({"group": "data", "pins": [f"{path['cell']}/M00_AXI", f"{c['ps']}/{path['slave']}"]})
    if kind.stream_in:
        intf.append({"group": "stream", "pins": [f"{c['dma']}/M_AXIS_MM2S", f"{c['accel']}/{kind.stream_in}"]})
    if kind.stream_out:
        intf.append({"group": "stream", "pins": [f"{c['accel']}/{kind.stream_out}", f"{c['dma']}/S_AXIS_S2MM"]})
    return nets, intf


def address_map(ctx: dict) -> dict:
    """The manifest's ``ips``: name, base and range of each AXI4-Lite peripheral the Tcl assigns; the reset
    GPIO also says which bit of which channel drives the auxiliary reset, and at which level."""
    ips = {a["key"]: {"name": a["cell"], "base": a["base"], "range": a["range"]} for a in ctx["addresses"]}
    ips["reset_gpio"].update(channel=1, bit=0, active_high=ctx["reset_config"]["C_AUX_RESET_HIGH"] == "1")
    return ips
