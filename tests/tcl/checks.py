"""Checks of a recorded Vivado block-design script against the catalog and the design description.

Each check returns a list of problems (empty: passes), so the tests can also show that a broken script
is caught.
"""

from __future__ import annotations

from catalog import IPS, TCL_BUILTINS, VIVADO_COMMANDS


class Nets:
    """Pins joined by connect_bd_net / connect_bd_intf_net, as sets (union of every call naming a pin)."""

    def __init__(self, calls, cmd):
        self.nets: list[set[str]] = []
        for c in calls:
            if c.cmd == cmd:
                self.nets.append(set(c.args))

    def net_of(self, pin: str) -> set[str]:
        hits = [n for n in self.nets if pin in n]
        return hits[0] if len(hits) == 1 else set()

    def joined(self, a: str, b: str) -> bool:
        return b in self.net_of(a)


def cells(rec) -> dict[str, str]:
    return {c.args[-1]: c.args[c.args.index("-vlnv") + 1] for c in rec.named("create_bd_cell")}


def properties(rec, tcl) -> dict[str, dict[str, str]]:
    """cell -> {property: value} of every set_property -dict on a block-design cell."""
    out: dict[str, dict[str, str]] = {}
    known = cells(rec)
    for c in rec.named("set_property"):
        if c.args[0] == "-dict" and c.args[-1] in known:
            items = list(tcl.splitlist(c.args[1]))
            out.setdefault(c.args[-1], {}).update(dict(zip(items[::2], items[1::2])))
    return out


def check_catalog(rec, tcl, ips: dict) -> list[str]:
    """Commands are Vivado's; every VLNV, CONFIG property and pin exists on its IP."""
    problems = [f"not a Vivado command: {c}" for c in sorted(rec.commands() - VIVADO_COMMANDS - TCL_BUILTINS)]
    known = cells(rec)
    for cell, vlnv in known.items():
        if vlnv not in ips:
            problems.append(f"{cell}: unknown IP {vlnv}")
    for cell, props in properties(rec, tcl).items():
        for prop in props:
            name = prop.removeprefix("CONFIG.")
            if not prop.startswith("CONFIG.") or name not in ips.get(known[cell], {}).get("properties", ()):
                problems.append(f"{cell} ({known[cell]}): no property {prop}")
    for c in rec.named("get_bd_pins") + rec.named("get_bd_intf_pins"):
        for pin in c.args:
            cell, port = pin.split("/", 1)
            if port not in ips.get(known.get(cell), {}).get("pins", ()):
                problems.append(f"{pin}: {known.get(cell)} has no pin {port}")
    for c in rec.named("get_bd_addr_segs"):
        cell, seg = c.args[0].split("/", 1)
        if seg not in ips.get(known.get(cell), {}).get("segments", ()):
            problems.append(f"{c.args[0]}: {known.get(cell)} has no address segment {seg}")
    for c in rec.named("get_bd_addr_spaces"):
        cell, space = c.args[0].split("/", 1)
        if space not in ips.get(known.get(cell), {}).get("spaces", ()):
            problems.append(f"{c.args[0]}: {known.get(cell)} has no address space {space}")
    return problems


def check_addresses(rec, window: tuple[int, int]) -> list[str]:
    """The PS master's segments: inside its PL window, aligned to their range, not overlapping."""
    problems, spans = [], []
    for c in rec.named("assign_bd_address"):
        a = c.args
        if a[a.index("-target_address_space") + 1].endswith("/Data"):
            base, size = int(a[a.index("-offset") + 1], 16), int(a[a.index("-range") + 1], 16)
            seg = [x for x in a if "/" in x and not x.endswith("/Data")][0]
            if base % size:
                problems.append(f"{seg}: base {base:#x} not aligned to its range {size:#x}")
            if not (window[0] <= base and base + size <= window[1]):
                problems.append(f"{seg}: {base:#x}+{size:#x} outside the master's window")
            spans.append((base, base + size, seg))
    spans.sort()
    for (b0, e0, s0), (b1, e1, s1) in zip(spans, spans[1:]):
        if b1 < e0:
            problems.append(f"{s0} and {s1} overlap")
    return problems


def check_connectivity(rec, ps: dict, accel: dict) -> list[str]:
    """The design description (docs/build.md): clocks, resets, streams, control and data paths."""
    nets, intf = Nets(rec.calls, "connect_bd_net"), Nets(rec.calls, "connect_bd_intf_net")
    problems = []
    for pin in set().union(*nets.nets, *intf.nets):
        n = sum(pin in x for x in nets.nets + intf.nets)
        if n > 1:
            problems.append(f"{pin} is on {n} nets")

    def need(nets_, a, b, why):
        if not nets_.joined(a, b):
            problems.append(f"{a} not connected to {b} ({why})")

    clk = "clk_wiz/clk_out1"
    for pin in ("hilt_accel/" + accel["clock"], "axi_dma/s_axi_lite_aclk", "axi_dma/m_axi_mm2s_aclk",
                "axi_dma/m_axi_s2mm_aclk", "zynq_ps/" + ps["slave_clk"], "rst_accel/slowest_sync_clk"):
        need(nets, clk, pin, "accelerator clock domain")
    for pin in ("zynq_ps/" + ps["master_clk"], "clk_wiz/clk_in1", "clk_wiz/s_axi_aclk", "axi_gpio_reset/s_axi_aclk"):
        need(nets, "zynq_ps/" + ps["clk"], pin, "control clock domain")
    need(nets, "clk_wiz/locked", "rst_accel/dcm_locked", "accelerator reset held until the MMCM locks")
    need(nets, "axi_gpio_reset/gpio_io_o", "rst_accel/aux_reset_in", "GPIO-driven accelerator reset")
    need(nets, "zynq_ps/" + ps["resetn"], "rst_accel/ext_reset_in", "PS reset")
    for pin in ("hilt_accel/" + accel["reset"], "axi_dma/axi_resetn"):
        need(nets, "rst_accel/peripheral_aresetn", pin, "accelerator-domain reset")
    need(intf, "axi_dma/M_AXIS_MM2S", "hilt_accel/" + accel["stream_in"], "input stream")
    need(intf, "hilt_accel/" + accel["stream_out"], "axi_dma/S_AXIS_S2MM", "output stream")
    # control: PS master -> one SmartConnect -> each AXI4-Lite slave
    ctrl = [p for p in intf.net_of("zynq_ps/" + ps["master"]) if p != "zynq_ps/" + ps["master"]]
    sc = ctrl[0].split("/")[0] if ctrl else None
    for slave in ("hilt_accel/" + accel["control"], "axi_dma/S_AXI_LITE", "clk_wiz/s_axi_lite", "axi_gpio_reset/S_AXI"):
        peer = [p for p in intf.net_of(slave) if p != slave]
        if not peer or peer[0].split("/")[0] != sc:
            problems.append(f"{slave} not reached from the PS master through {sc}")
    # data: both DMA masters -> one SmartConnect -> PS HP slave
    hp = [p for p in intf.net_of("zynq_ps/" + ps["slave"]) if p != "zynq_ps/" + ps["slave"]]
    dsc = hp[0].split("/")[0] if hp else None
    for master in ("axi_dma/M_AXI_MM2S", "axi_dma/M_AXI_S2MM"):
        peer = [p for p in intf.net_of(master) if p != master]
        if not peer or peer[0].split("/")[0] != dsc:
            problems.append(f"{master} does not reach the PS's HP port")
    return problems
