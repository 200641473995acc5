"""An overlay folder for the simulated board, written without Vivado.

``write_overlay`` lays out what the build flow's overlay holds, following the same contract: a manifest,
the quantized model, a ``.hwh`` describing the block design (PS, the accelerator ``hilt_accel``, the AXI
DMA, the Clocking Wizard and the reset GPIO at the addresses of the manifest) and a placeholder ``.bit``
(the simulated board configures nothing from it). pynq parses the ``.hwh`` with its own metadata parser,
so the driver finds the IPs exactly as it would in a Vivado-made overlay. Where a Vivado ``.hwh`` exists,
use that folder instead: nothing here is needed.
"""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import numpy as np

from ..accel import interface as itf
from ..errors import HiltError
from ..quant import QModel

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "board"
ACCEL, DMA, CLK_WIZ, RESET_GPIO = "hilt_accel", "axi_dma", "clk_wiz", "axi_gpio_reset"
BIT_PLACEHOLDER = b"hilt simulated-board bitstream placeholder: configures nothing\n"

# Addresses as Vivado's assign_bd_address gives them on each family's general-purpose master port.
ADDRESSES = {
    "zynq7": {"accel": (0x43C00000, 0x10000), "dma": (0x40400000, 0x10000), "clk_wiz": (0x43C10000, 0x10000),
              "reset_gpio": (0x41200000, 0x10000)},
    "zynqmp": {"accel": (0xA0000000, 0x10000), "dma": (0xA0010000, 0x10000), "clk_wiz": (0xA0020000, 0x10000),
               "reset_gpio": (0xA0030000, 0x10000)},
}
PS = {
    "zynq7": {"instance": "zynq_ps", "modtype": "processing_system7", "version": "5.5",
              "vlnv": "xilinx.com:ip:processing_system7:5.5", "fclk": "FCLK_CLK0", "master": "M_AXI_GP0",
              "hp": "S_AXI_HP0", "arch": "zynq",
              "parameters": [(f"PCW_FPGA_FCLK{i}_ENABLE", "1" if i == 0 else "0") for i in range(4)] +
                            [(f"PCW_FCLK{i}_PERIPHERAL_DIVISOR{j}", d) for i in range(4) for j, d in enumerate("52")] +
                            # Vivado writes every FCLK's source and achieved frequency (pynq 4.0 reads all four)
                            [(f"PCW_FCLK{i}_PERIPHERAL_CLKSRC", "IO PLL") for i in range(4)] +
                            [(f"PCW_ACT_FPGA{i}_PERIPHERAL_FREQMHZ", "100.000000" if i == 0 else "10.000000")
                             for i in range(4)] +
                            [("PCW_FPGA0_PERIPHERAL_FREQMHZ", "100"),
                             ("PCW_USE_S_AXI_HP0", "1"), ("PCW_S_AXI_HP0_DATA_WIDTH", "64")]},
    "zynqmp": {"instance": "zynq_ps", "modtype": "zynq_ultra_ps_e", "version": "3.4",
               "vlnv": "xilinx.com:ip:zynq_ultra_ps_e:3.4", "fclk": "pl_clk0", "master": "M_AXI_HPM0_FPD",
               "hp": "S_AXI_HP0_FPD", "arch": "zynquplus",
               "parameters": [(f"PSU__FPGA_PL{i}_ENABLE", "1" if i == 0 else "0") for i in range(4)] +
                             [(f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR{j}", d) for i in range(4)
                              for j, d in enumerate(("15", "1"))] +
                             [(f"PSU__CRL_APB__PL{i}_REF_CTRL__SRCSEL", "IOPLL") for i in range(4)] +
                             [(f"PSU__CRL_APB__PL{i}_REF_CTRL__ACT_FREQMHZ", "99.999001" if i == 0 else "10.000000")
                              for i in range(4)] +
                             [("PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ", "100"),
                              ("PSU__USE__S_AXI_GP2", "1"), ("PSU__SAXIGP2__DATA_WIDTH", "128")]},
}


def taps_and_blocks(q: QModel) -> tuple[list[dict], list[dict]]:
    """The manifest's ``taps`` (input, every layer's output, logits last) and ``weight_blocks``."""
    net = q.network
    layers = q.compute_layers()
    taps = [{"name": net.input_name, "count": int(np.prod(net.input_shape)), "bits": q.bits}]
    taps += [{"name": l.name, "count": int(np.prod(l.out_shape)), "bits": q.bits} for l in net.layers[:len(layers)]]
    bias_bits = 32 if q.acc_bits <= 32 else 64
    blocks = [{"name": l.name, "weights": int(l.params["weight"].size), "weight_bits": q.bits,
               "biases": int(l.params["bias"].size), "bias_bits": bias_bits}
              for l in net.layers[:len(layers)] if l.weighted]
    return taps, blocks


def predicted_cycles(q: QModel) -> tuple[int, int]:
    """(cycles per sample, latency in cycles) the performance model predicts at the smallest folding (one PE,
    one SIMD lane per layer): what a call's deadline is derived from."""
    from ..dse.perf import performance
    from ..ir.folding import default_folding

    net = q.network
    units = {(name, "fwd"): f for name, f in default_folding(net).items()}
    perf = performance(net, units, 100.0, "infer")
    return int(perf.ii_cycles), int(perf.latency_cycles)


def manifest_for(q: QModel, name: str, board, freq_mhz: float, f_safe_mhz: float, wizard: bool = True) -> dict:
    family = board.ps
    taps, blocks = taps_and_blocks(q)
    ii, latency = predicted_cycles(q)
    ips = {role: {"name": inst, "base": ADDRESSES[family][role][0], "range": ADDRESSES[family][role][1]}
           for role, inst in (("accel", ACCEL), ("dma", DMA), ("clk_wiz", CLK_WIZ), ("reset_gpio", RESET_GPIO))
           if wizard or role != "clk_wiz"}
    ips["reset_gpio"]["active_high"] = False  # proc_sys_reset's default C_AUX_RESET_HIGH = 0
    return {"name": name, "kind": "streaming", "board": board.name, "family": family, "part": board.part,
            "freq_mhz": float(freq_mhz), "f_safe_mhz": float(f_safe_mhz), "timing_closed": False, "wns_ns": None,
            "bitstream": f"{name}.bit", "hwh": f"{name}.hwh", "qmodel": f"{name}.npz",
            "interface": itf.describe(board.dma_width_bits), "ips": ips,
            "clock": {"wizard": CLK_WIZ if wizard else None, "input_mhz": 100.0, "output": "clk_out1"},
            "taps": taps, "weight_blocks": blocks, "backward": False,
            "cycles_per_sample": ii, "latency_cycles": latency, "plan": None,
            "simulated": True, "hashes": {}}


def _accel_registers(manifest: dict) -> list[dict]:
    regs = manifest["interface"]["control"]["registers"]
    one = lambda n: [{"name": n, "lsb": 0, "width": 32}]  # noqa: E731
    ctrl = [{"name": n, "lsb": i, "width": 1} for i, n in ((0, "AP_START"), (1, "AP_DONE"), (2, "AP_IDLE"),
                                                           (3, "AP_READY"), (7, "AUTO_RESTART"))]
    table = [("CTRL", regs["ctrl"], "read-write", ctrl, "Control signals"),
             ("GIER", regs["gie"], "read-write", [{"name": "Enable", "lsb": 0, "width": 1}], "Global interrupt enable"),
             ("IP_IER", regs["ier"], "read-write", [{"name": "CHAN0_INT_EN", "lsb": 0, "width": 1},
                                                   {"name": "CHAN1_INT_EN", "lsb": 1, "width": 1}], "IP interrupt enable"),
             ("IP_ISR", regs["isr"], "read-write", [{"name": "CHAN0_INT_ST", "lsb": 0, "width": 1},
                                                   {"name": "CHAN1_INT_ST", "lsb": 1, "width": 1}], "IP interrupt status"),
             ("mode", regs["mode"], "write-only", one("mode"), "Data signal of mode"),
             ("samples", regs["samples"], "write-only", one("samples"), "Data signal of samples"),
             ("status", regs["status"], "read-only", one("status"), "Data signal of status"),
             ("status_ctrl", regs["status_ctrl"], "read-only", [{"name": "status_ap_vld", "lsb": 0, "width": 1}],
              "Control signal of status")]
    return [{"name": n, "offset": o, "access": a, "fields": f, "description": d} for n, o, a, f, d in table]


def hwh_text(manifest: dict) -> str:
    """The ``.hwh`` of the manifest's block design (rendered from templates/board/design.hwh.j2)."""
    import jinja2

    family = manifest["family"]
    ps = dict(PS[family])
    ps["fclk_net"] = f"{ps['instance']}_{ps['fclk']}"
    width = manifest["interface"]["stream"]["beat_bits"]
    clk_net = f"{CLK_WIZ}_clk_out1" if manifest["clock"]["wizard"] else ps["fclk_net"]
    ips = manifest["ips"]
    top = manifest["name"]

    def ip(role, modtype, vlnv, version, interface, block, clk_port, clk_net, clk_hz, parameters, registers=None,
           streams=()):
        return {"instance": ips[role]["name"], "base": int(ips[role]["base"]), "range": int(ips[role]["range"]),
                "modtype": modtype, "vlnv": vlnv, "version": version, "interface": interface, "block": block,
                "clk_port": clk_port, "clk_net": clk_net, "clk_hz": clk_hz, "parameters": parameters,
                "registers": registers or [], "streams": list(streams)}

    fclk_hz = 100_000_000
    accel_hz = int(manifest["freq_mhz"] * 1e6)
    dma_params = [("C_INCLUDE_SG", "0"), ("C_SG_LENGTH_WIDTH", "26"), ("C_MICRO_DMA", "0"), ("C_INCLUDE_MM2S", "1"),
                  ("C_INCLUDE_S2MM", "1"), ("C_M_AXI_MM2S_DATA_WIDTH", str(width)),
                  ("C_M_AXIS_MM2S_TDATA_WIDTH", str(width)), ("C_M_AXI_S2MM_DATA_WIDTH", str(width)),
                  ("C_S_AXIS_S2MM_TDATA_WIDTH", str(width)), ("C_INCLUDE_MM2S_DRE", "0"), ("C_INCLUDE_S2MM_DRE", "0"),
                  ("C_ADDR_WIDTH", "32" if family == "zynq7" else "64")]
    # Vivado writes an IP's model parameters (upper case) and its configuration (lower case); pynq's DMA
    # driver reads the latter
    dma_params += [(k.lower(), v) for k, v in dma_params]
    entries = [
        ip("accel", f"{top}_top", f"xilinx.com:hls:{top}_top:1.0", "1.0", "s_axi_control", "Reg", "ap_clk", clk_net,
           accel_hz, [("C_S_AXI_CONTROL_ADDR_WIDTH", "6"), ("C_S_AXI_CONTROL_DATA_WIDTH", "32"),
                      ("Component_Name", f"{top}_{ips['accel']['name']}_0")],
           _accel_registers(manifest),
           streams=[{"name": "in_r", "type": "SLAVE", "bus": f"{DMA}_M_AXIS_MM2S"},
                    {"name": "out_r", "type": "MASTER", "bus": f"{ips['accel']['name']}_out_r"}]),
        ip("dma", "axi_dma", "xilinx.com:ip:axi_dma:7.1", "7.1", "S_AXI_LITE", "Reg", "s_axi_lite_aclk",
           ps["fclk_net"], fclk_hz,
           dma_params,
           streams=[{"name": "M_AXIS_MM2S", "type": "MASTER", "bus": f"{DMA}_M_AXIS_MM2S"},
                    {"name": "S_AXIS_S2MM", "type": "SLAVE", "bus": f"{ips['accel']['name']}_out_r"}]),
        ip("clk_wiz", "clk_wiz", "xilinx.com:ip:clk_wiz:6.0", "6.0", "s_axi_lite", "Reg", "s_axi_aclk",
           ps["fclk_net"], fclk_hz,
           [("USE_DYN_RECONFIG", "true"), ("INTERFACE_SELECTION", "Enable_AXI"), ("PRIM_IN_FREQ", "100.000"),
            ("CLKOUT1_REQUESTED_OUT_FREQ", f"{manifest['freq_mhz']:.3f}"), ("PRIMITIVE", "MMCM"),
            ("USE_LOCKED", "true")]) if "clk_wiz" in ips else None,
        ip("reset_gpio", "axi_gpio", "xilinx.com:ip:axi_gpio:2.0", "2.0", "S_AXI", "Reg", "s_axi_aclk",
           ps["fclk_net"], fclk_hz,
           [("C_GPIO_WIDTH", "1"), ("C_ALL_OUTPUTS", "1"), ("C_IS_DUAL", "0"), ("C_DOUT_DEFAULT", "0x00000000"),
            ("C_TRI_DEFAULT", "0xFFFFFFFF"), ("C_INTERRUPT_PRESENT", "0")]),
    ]
    entries = [e for e in entries if e is not None]
    part = manifest.get("part", "")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("design.hwh.j2").render(
        name=top, ips=entries, ps=ps, ps_master=ps["master"], arch=ps["arch"],
        device=part[2:8] if part.startswith("xc") else part, package="", speed="-1",
        timestamp=datetime.datetime(2000, 1, 1).strftime("%a %b %d %H:%M:%S %Y"))


def write_overlay(q: QModel, out_dir: str | Path, board: str = "pynq-z2", freq_mhz: float = 100.0,
                  f_safe_mhz: float | None = None, name: str | None = None, wizard: bool = True) -> Path:
    """An overlay folder for the simulated board (manifest, quantized model, generated .hwh, placeholder .bit).
    ``wizard=False``: a design clocked by the PS's FCLK0 alone (the driver's fall-back)."""
    from ..dse.boards import load_board

    b = load_board(board)
    name = name or "".join(c if c.isalnum() else "_" for c in q.network.name)
    if not name[0].isalpha():
        name = "hilt_" + name
    manifest = manifest_for(q, name, b, freq_mhz, f_safe_mhz if f_safe_mhz is not None else freq_mhz, wizard)
    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.part")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    q.save(tmp / manifest["qmodel"], floats=False)  # as the build flow writes it: no float weights
    (tmp / manifest["hwh"]).write_text(hwh_text(manifest))
    (tmp / manifest["bitstream"]).write_bytes(BIT_PLACEHOLDER)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if out.exists():
        if not (out / "manifest.json").exists():
            shutil.rmtree(tmp)
            raise HiltError(f"{out}: exists and is not an overlay folder; give a new path")
        shutil.rmtree(out)
    tmp.rename(out)
    return out
