"""An overlay folder for the simulated board, written without Vivado.

``write_overlay`` lays out what the build flow's overlay holds, following the same contract: a manifest,
the quantized model, a ``.hwh`` describing the block design the build flow's Tcl creates (its cells,
addresses and wiring come from the same ``hilt.build.blockdesign`` context) and a placeholder ``.bit`` (the
simulated board configures nothing from it). pynq parses the ``.hwh`` with its own metadata parser, so the
driver finds the IPs exactly as it would in a Vivado-made overlay. Where a Vivado ``.hwh`` exists, use that
folder instead: nothing here is needed.
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

# The PS's clock configuration as Vivado writes it (pynq's Clocks and download() read it); the ports, HP widths
# and fabric clock come from the block design's PS configuration
PS = {
    "zynq7": {"modtype": "processing_system7", "vlnv": "xilinx.com:ip:processing_system7:5.5", "arch": "zynq",
              "parameters": [(f"PCW_FPGA_FCLK{i}_ENABLE", "1" if i == 0 else "0") for i in range(4)] +
                            [(f"PCW_FCLK{i}_PERIPHERAL_DIVISOR{j}", d) for i in range(4) for j, d in enumerate("52")] +
                            # Vivado writes every FCLK's source and achieved frequency (pynq 4.0 reads all four)
                            [(f"PCW_FCLK{i}_PERIPHERAL_CLKSRC", "IO PLL") for i in range(4)] +
                            [(f"PCW_ACT_FPGA{i}_PERIPHERAL_FREQMHZ", "100.000000" if i == 0 else "10.000000")
                             for i in range(4)] +
                            [("PCW_FPGA0_PERIPHERAL_FREQMHZ", "100")]},
    "zynqmp": {"modtype": "zynq_ultra_ps_e", "vlnv": "xilinx.com:ip:zynq_ultra_ps_e:3.4", "arch": "zynquplus",
               "parameters": [(f"PSU__FPGA_PL{i}_ENABLE", "1" if i == 0 else "0") for i in range(4)] +
                             [(f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR{j}", d) for i in range(4)
                              for j, d in enumerate(("15", "1"))] +
                             [(f"PSU__CRL_APB__PL{i}_REF_CTRL__SRCSEL", "IOPLL") for i in range(4)] +
                             [(f"PSU__CRL_APB__PL{i}_REF_CTRL__ACT_FREQMHZ", "99.999001" if i == 0 else "10.000000")
                              for i in range(4)] +
                             [("PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ", "100")]},
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


def has_backward(q: QModel) -> bool:
    """Whether the HLS generator gives ``q`` a backward pipeline (every computed layer has a BP kernel)."""
    from ..codegen.project import _has_backward

    return _has_backward(q)


def block_design(name: str, board, freq_mhz: float, engine=None) -> dict:
    """The build flow's block-design context (hilt.build.blockdesign): the cells, addresses and wiring its Tcl
    creates for the streaming accelerator, or (``engine``: an EngineConfig) the layer-sequential engine."""
    from ..build import blockdesign, kinds

    kind = kinds.for_plan(kinds.get("sequential"), engine) if engine is not None else kinds.get("streaming")
    return blockdesign.context(name, board, freq_mhz, kind, name, "ip", "out")


def engine_fields(q: QModel, board, freq_mhz: float, cfg) -> dict:
    """What a layer-sequential engine's manifest holds besides the streaming one's (hilt.build.engine_kind.driver):
    its register map, its configuration and its program's regions; cycles from the engine's performance model."""
    from ..build.engine_kind import driver
    from ..dse.sequential import performance
    from ..engine.program import build

    prog = build(q, cfg, fuse_relu=False)
    hls = {"image_bytes": prog.size, "count": len(prog.steps), "input": [prog.input.offset, prog.input.size],
           "activations": [prog.act_region.offset, prog.act_region.size]}
    info = driver(hls, cfg)
    cycles = int(performance(q.network, board, freq_mhz, cfg, fuse_relu=False)["cycles"])
    return {"interface": info["interface"], **info["manifest"], "cycles_per_sample": cycles, "latency_cycles": cycles}


def manifest_for(q: QModel, name: str, board, freq_mhz: float, f_safe_mhz: float, wizard: bool = True,
                 backward: bool = False, engine=None) -> dict:
    from ..build import blockdesign

    family = board.ps
    taps, blocks = taps_and_blocks(q)
    ii, latency = predicted_cycles(q)
    ips = blockdesign.address_map(block_design(name, board, freq_mhz, engine))  # the build's names and addresses
    if not wizard:
        del ips["clk_wiz"]
    extra = engine_fields(q, board, freq_mhz, engine) if engine is not None else {}
    return {"name": name, "kind": "sequential" if engine is not None else "streaming", "board": board.name,
            "family": family, "part": board.part,
            "freq_mhz": float(freq_mhz), "f_safe_mhz": float(f_safe_mhz), "timing_closed": False, "wns_ns": None,
            "bitstream": f"{name}.bit", "hwh": f"{name}.hwh", "qmodel": f"{name}.npz",
            "interface": itf.describe(board.dma_width_bits), "ips": ips,
            "clock": {"wizard": CLK_WIZ if wizard else None, "input_mhz": 100.0, "output": "clk_out1"},
            "taps": taps, "weight_blocks": blocks, "backward": bool(backward),
            "cycles_per_sample": ii, "latency_cycles": latency, "plan": None,
            "simulated": True, "hashes": {}, **extra}


def _accel_registers(manifest: dict) -> list[dict]:
    """The accelerator's registers as Vitis HLS describes an ap_ctrl_hs IP: the control block, then each argument
    (a 64-bit pointer as two words, ``<arg>_1`` and ``<arg>_2``)."""
    regs = manifest["interface"]["control"]["registers"]
    one = lambda n: [{"name": n, "lsb": 0, "width": 32}]  # noqa: E731
    ctrl = [{"name": n, "lsb": i, "width": 1} for i, n in ((0, "AP_START"), (1, "AP_DONE"), (2, "AP_IDLE"),
                                                           (3, "AP_READY"), (7, "AUTO_RESTART"))]
    table = [("CTRL", regs["ctrl"], "read-write", ctrl, "Control signals"),
             ("GIER", regs["gie"], "read-write", [{"name": "Enable", "lsb": 0, "width": 1}], "Global interrupt enable"),
             ("IP_IER", regs["ier"], "read-write", [{"name": "CHAN0_INT_EN", "lsb": 0, "width": 1},
                                                   {"name": "CHAN1_INT_EN", "lsb": 1, "width": 1}],
              "IP interrupt enable"),
             ("IP_ISR", regs["isr"], "read-write", [{"name": "CHAN0_INT_ST", "lsb": 0, "width": 1},
                                                   {"name": "CHAN1_INT_ST", "lsb": 1, "width": 1}],
              "IP interrupt status")]
    if manifest.get("kind") == "sequential":
        for arg, offset in regs.items():
            if arg in ("ctrl", "gie", "ier", "isr", "count"):
                continue
            table += [(f"{arg}_1", offset, "write-only", one(arg), f"Data signal of {arg}"),
                      (f"{arg}_2", offset + 4, "write-only", one(arg), f"Data signal of {arg}")]
        table.append(("count", regs["count"], "write-only", one("count"), "Data signal of count"))
    else:
        table += [("mode", regs["mode"], "write-only", one("mode"), "Data signal of mode"),
                  ("samples", regs["samples"], "write-only", one("samples"), "Data signal of samples"),
                  ("status", regs["status"], "read-only", one("status"), "Data signal of status"),
                  ("status_ctrl", regs["status_ctrl"], "read-only", [{"name": "status_ap_vld", "lsb": 0, "width": 1}],
                   "Control signal of status")]
    return [{"name": n, "offset": o, "access": a, "fields": f, "description": d} for n, o, a, f, d in table]


STREAM_SIGNALS = (("TDATA", 8), ("TKEEP", 1), ("TLAST", 0), ("TVALID", 0), ("TREADY", 0))  # (logical, bits per byte)


def _sigis(pin: str, group: str) -> str:
    port = pin.split("/")[1].lower()
    if group == "clock":
        return "clk"
    return "rst" if "reset" in port or "resetn" in port else "undef"


def _physical(cell: str, intf: str, logical: str) -> str:
    """A stream signal's port name: Vitis HLS IPs write ``in_r_TDATA``, Xilinx IPs ``m_axis_mm2s_tdata``."""
    return f"{intf}_{logical}" if cell == ACCEL else f"{intf.lower()}_{logical.lower()}"


def _modules(manifest: dict, ctx: dict) -> list[dict]:
    """Every cell of the block design as the .hwh's MODULE: parameters, ports with their connections, bus
    interfaces (AXI4 by bus name; AXI4-Stream with the port maps of their signals), address block."""
    from ..build import blockdesign as bd

    c, family, width = ctx["cells"], manifest["family"], int(ctx["dma_config"]["c_m_axis_mm2s_tdata_width"])
    wizard = bool(manifest["clock"]["wizard"])
    nets, intf_nets = [dict(n, pins=list(n["pins"])) for n in ctx["nets"]], list(ctx["intf_nets"])
    if not wizard:  # the PS's FCLK0 clocks the accelerator too; nothing waits for an MMCM lock
        clk = f"{c['clk']}/"
        control, accel = nets[0], nets[1]
        control["pins"] += [p for p in accel["pins"][1:] if p not in control["pins"] and not p.endswith("/aclk1")]
        nets = [n for n in nets if n is not accel and not n["pins"][0].startswith(clk)]
        for n in nets:
            n["pins"] = [p for p in n["pins"] if not p.startswith(clk)]
        intf_nets = [n for n in intf_nets if not any(p.startswith(clk) for p in n["pins"])]
    clock_hz = {nets[0]["pins"][0]: int(bd.CONTROL_MHZ * 1e6),
                f"{c['clk']}/clk_out1": int(float(manifest["freq_mhz"]) * 1e6)}
    accel_hz = clock_hz[f"{c['clk']}/clk_out1"] if wizard else clock_hz[nets[0]["pins"][0]]

    ports: dict[str, list] = {}
    for net in nets:
        driver, loads = net["pins"][0], net["pins"][1:]
        hz = clock_hz.get(driver) if net["group"] == "clock" else None
        signame = driver.replace("/", "_")
        for pin in net["pins"]:
            cell, port = pin.split("/")
            others = loads if pin == driver else [driver]
            ports.setdefault(cell, []).append({
                "name": port, "dir": "O" if pin == driver else "I", "sigis": _sigis(pin, net["group"]),
                "signame": signame, "clk_hz": hz, "left": None,
                "connections": [{"instance": o.split("/")[0], "port": o.split("/")[1]} for o in others]})
    busifs: dict[str, list] = {}
    for net in intf_nets:
        (src_cell, src), (dst_cell, dst) = (p.split("/") for p in net["pins"])
        busname = net["pins"][0].replace("/", "_")
        if net["group"] != "stream":
            for cell, name, kind in ((src_cell, src, "MASTER"), (dst_cell, dst, "SLAVE")):
                busifs.setdefault(cell, []).append({"busname": busname, "name": name, "type": kind,
                                                    "vlnv": "xilinx.com:interface:aximm:1.0", "parameters": [],
                                                    "portmaps": []})
            continue
        for cell, name, initiator in ((src_cell, src, True), (dst_cell, dst, False)):
            other_cell, other = (dst_cell, dst) if initiator else (src_cell, src)
            maps = []
            signals = STREAM_SIGNALS + ((("TSTRB", 1),) if cell == ACCEL else ())
            for logical, per_byte in signals:
                phys = _physical(cell, name, logical)
                forward = logical != "TREADY"
                connected = logical != "TSTRB"  # the DMA has no TSTRB: Vivado leaves the HLS port open
                ports.setdefault(cell, []).append({
                    "name": phys, "dir": "O" if forward == initiator else "I", "sigis": "undef",
                    "signame": f"{busname}_{logical}" if connected else None, "clk_hz": None,
                    "left": width // 8 * per_byte - 1 if per_byte else None,
                    "connections": [{"instance": other_cell, "port": _physical(other_cell, other, logical)}]
                    if connected else []})
                maps.append({"logical": logical, "physical": phys})
            busifs.setdefault(cell, []).append({
                "busname": busname, "name": name, "type": "INITIATOR" if initiator else "TARGET",
                "vlnv": "xilinx.com:interface:axis:1.0", "portmaps": maps,
                "parameters": [("TDATA_NUM_BYTES", str(width // 8)), ("HAS_TREADY", "1"),
                               ("HAS_TSTRB", "1" if cell == ACCEL else "0"), ("HAS_TKEEP", "1"), ("HAS_TLAST", "1"),
                               ("FREQ_HZ", str(accel_hz))]})

    ips = manifest["ips"]
    roles = {ip["name"]: role for role, ip in ips.items()}
    dma_params = [(k.upper(), v) for k, v in bd.dma_config(width).items()]
    # Vivado writes an IP's model parameters (upper case) and its configuration (lower case); pynq's DMA
    # driver reads the latter
    dma_params += [(k.lower(), v) for k, v in dma_params] + [("C_MICRO_DMA", "0"), ("c_micro_dma", "0")]
    ps = PS[family]
    info = {
        c["ps"]: (ps["modtype"], ps["vlnv"], list({**dict(ps["parameters"]), **ctx["ps_config"]}.items()),
                  "PERIPHERAL"),
        c["accel"]: (f"{manifest['name']}", ctx["accel_vlnv"],
                     [("C_S_AXI_CONTROL_ADDR_WIDTH", str((int(manifest["interface"]["control"]["span"]) - 1)
                                                         .bit_length())), ("C_S_AXI_CONTROL_DATA_WIDTH", "32"),
                      ("Component_Name", f"{manifest['name']}_{c['accel']}_0")], "PERIPHERAL"),
        c["dma"]: ("axi_dma", bd.VLNV["axi_dma"], dma_params, "PERIPHERAL"),
        c["clk"]: ("clk_wiz", bd.VLNV["clk_wiz"], list(bd.clk_wiz_config(float(manifest["freq_mhz"])).items())
                   + [("PRIM_IN_FREQ", f"{bd.CONTROL_MHZ:.3f}")], "PERIPHERAL"),
        c["rst_ps"]: ("proc_sys_reset", bd.VLNV["proc_sys_reset"], [("C_EXT_RESET_HIGH", "0"),
                                                                    ("C_AUX_RESET_HIGH", "0")], "PERIPHERAL"),
        c["rst_accel"]: ("proc_sys_reset", bd.VLNV["proc_sys_reset"], list(bd.RESET_CONFIG.items()), "PERIPHERAL"),
        c["gpio"]: ("axi_gpio", bd.VLNV["axi_gpio"], list(bd.GPIO_CONFIG.items()) +
                    [("C_IS_DUAL", "0"), ("C_TRI_DEFAULT", "0xFFFFFFFF"), ("C_INTERRUPT_PRESENT", "0")], "PERIPHERAL"),
    }
    for path in ctx["data_paths"]:
        info[path["cell"]] = ("smartconnect", bd.VLNV["smartconnect"],
                              [("NUM_SI", str(len(path["masters"]))), ("NUM_MI", "1"), ("NUM_CLKS", "1")], "BUS")
    info[c["ctrl_sc"]] = ("smartconnect", bd.VLNV["smartconnect"],
                          [("NUM_SI", "1"), ("NUM_MI", str(sum(n["pins"][0].startswith(c["ctrl_sc"] + "/")
                                                               for n in intf_nets))), ("NUM_CLKS", "2")], "BUS")
    if not wizard:
        del info[c["clk"]]
    if not ctx["has_dma"]:
        del info[c["dma"]]
    modules = []
    for cell, (modtype, vlnv, parameters, modclass) in info.items():
        role = roles.get(cell)
        block = None
        if role is not None:
            slave = next(b["name"] for b in busifs[cell] if b["type"] == "SLAVE")
            block = {"interface": slave, "name": "Reg", "range": int(ips[role]["range"]),
                     "base": int(ips[role]["base"]),
                     "registers": _accel_registers(manifest) if role == "accel" else []}
        modules.append({"instance": cell, "modtype": modtype, "vlnv": vlnv, "version": vlnv.rsplit(":", 1)[1],
                        "modclass": modclass, "is_ps": cell == c["ps"], "parameters": parameters, "block": block,
                        "ports": sorted(ports.get(cell, []), key=lambda p: p["name"]),
                        "busifs": busifs.get(cell, [])})
    return modules


def hwh_text(manifest: dict) -> str:
    """The ``.hwh`` of the manifest's block design: the build flow's (hilt.build.blockdesign: the cells, addresses
    and wiring templates/vivado/overlay.tcl.j2 creates), rendered from templates/board/design.hwh.j2 in the
    structure Vivado writes (MODULE / PARAMETERS / PORTS with CONNECTIONS / BUSINTERFACES with PORTMAPS)."""
    import jinja2

    from ..dse.boards import load_board

    board = load_board(manifest["board"])
    engine = None
    if manifest.get("kind") == "sequential":
        from ..dse.sequential import EngineConfig

        engine = EngineConfig(**manifest["engine"]["config"])
    ctx = block_design(manifest["name"], board, float(manifest["freq_mhz"]), engine)
    modules = _modules(manifest, ctx)
    ps = next(m for m in modules if m["is_ps"])
    master = next(b["name"] for b in ps["busifs"] if b["type"] == "MASTER" and b["name"] == ctx["ps"].master)
    memory = [{"instance": m["instance"], "interface": m["block"]["interface"], "base": m["block"]["base"],
               "high": m["block"]["base"] + m["block"]["range"] - 1} for m in modules if m["block"]]
    part = manifest.get("part", "")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("design.hwh.j2").render(
        name=manifest["name"], modules=modules, memory=memory, ps_master=master, arch=PS[manifest["family"]]["arch"],
        device=part[2:8] if part.startswith("xc") else part, package="", speed="-1",
        timestamp=datetime.datetime(2000, 1, 1).strftime("%a %b %d %H:%M:%S %Y"))


def write_overlay(q: QModel, out_dir: str | Path, board: str = "pynq-z2", freq_mhz: float = 100.0,
                  f_safe_mhz: float | None = None, name: str | None = None, wizard: bool = True,
                  backward: bool | None = None, engine=None) -> Path:
    """An overlay folder for the simulated board (manifest, quantized model, generated .hwh, placeholder .bit).
    ``wizard=False``: a design clocked by the PS's FCLK0 alone (the driver's fall-back). ``backward``: with the
    backward pipeline (MODE_BACKWARD); default: when the HLS generator would give the model one. ``engine`` (an
    ``EngineConfig``): the layer-sequential engine's overlay instead (no DMA, its masters to DDR; forward only)."""
    from ..dse.boards import load_board

    b = load_board(board)
    name = name or "".join(c if c.isalnum() else "_" for c in q.network.name)
    if not name[0].isalpha():
        name = "hilt_" + name
    if backward is None:
        backward = has_backward(q) and engine is None
    if backward and engine is not None:
        raise HiltError("the layer-sequential engine has no backward pipeline; write its overlay with backward=False")
    if backward and not has_backward(q):
        raise HiltError(f"{q.network.name}: no backward pipeline for this model (a layer has no integer backward "
                        f"kernel, or the model has no error formats); write the overlay with backward=False")
    if engine is not None:
        from dataclasses import replace

        engine = replace(engine, port_bytes=b.dma_width_bits // 8)  # a master is as wide as the board's HP port
    manifest = manifest_for(q, name, b, freq_mhz, f_safe_mhz if f_safe_mhz is not None else freq_mhz, wizard,
                            backward, engine)
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
