"""A real Tcl 8.6 interpreter (Python's tkinter.Tcl) in which Vivado / Vitis HLS commands are recording stubs.

Tcl's own commands (set, if, file, string, list, puts, error, ...) run for real, so syntax errors and
undefined variables in generated scripts raise ``tkinter.TclError``. Every other command reaches
``unknown``, is recorded as ``(command, [args])`` and answers what the vendor tool would return where the
script uses the value (cell and pin names, file paths, run progress). With ``effects`` on, the stubs also
write placeholder files where the tool would write its outputs (IP catalog entry, bitstream, hand-off,
timing report), so a whole build flow can run against them.
"""

from __future__ import annotations

import os
import tkinter
from dataclasses import dataclass, field
from pathlib import Path

EXIT = "__hilt_tcl_exit__"


@dataclass
class Call:
    cmd: str
    args: list[str]


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)
    exited: bool = False

    def named(self, cmd: str) -> list[Call]:
        return [c for c in self.calls if c.cmd == cmd]

    def commands(self) -> set[str]:
        return {c.cmd for c in self.calls}


def timing_summary(period_ns: float, wns: float, clock: str, control_clock: str) -> str:
    """A report_timing_summary file in Vivado's layout (header, design summary, clock summary, intra-clock
    table) for a design whose accelerator clock ``clock`` has worst slack ``wns``."""
    whs, wpws = 0.011, 0.520
    ok = wns >= 0
    tns = 0.0 if ok else wns * 37
    fail = 0 if ok else 37
    cols = ("    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  "
            "THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  "
            "TPWS Total Endpoints  ")
    dashes = ("    -------      -------  ---------------------  -------------------      -------      -------  "
              "---------------------  -------------------     --------     --------  ----------------------  "
              "--------------------  ")

    def row(w, t, f):
        return (f"{w:11.3f}  {t:11.3f}  {f:21d}  {48211:19d}  {whs:11.3f}  {0.0:11.3f}  {0:21d}  {48211:19d}  "
                f"{wpws:11.3f}  {0.0:11.3f}  {0:22d}  {21460:20d}  ")

    def banner(title):
        line = "-" * 96
        return f"{line}\n| {title}\n| {'-' * len(title)}\n{line}\n"

    ctrl_wns = 5.812
    lines = [
        "Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.",
        "-" * 120,
        "| Tool Version      : Vivado v.2022.1 (lin64) Build 3526262 Mon Apr 18 15:47:01 MDT 2022",
        "| Command           : report_timing_summary -max_paths 10 -file reports/timing_summary.rpt",
        "| Design            : overlay_wrapper",
        "-" * 120, "", "Timing Summary Report", "",
        banner("Design Timing Summary"),
        cols, dashes, row(min(wns, ctrl_wns), tns, fail), "", "",
        "All user specified timing constraints are met." if ok else "Timing constraints are not met.", "", "",
        banner("Clock Summary"),
        "Clock                              Waveform(ns)         Period(ns)      Frequency(MHz)",
        "-----                              ------------         ----------      --------------",
        f"{control_clock:<35s}{{0.000 5.000}}        10.000          100.000         ",
        f"  {clock:<33s}{{0.000 {period_ns / 2:.3f}}}{'':<8s}{period_ns:<16.3f}{1000 / period_ns:<16.3f}",
        f"  {'clkfbout_' + clock[len('clk_out1_'):]:<33s}{{0.000 5.000}}        10.000          100.000         ",
        "", "",
        banner("Intra Clock Table"),
        "Clock                                  " + cols.strip() + "  ",
        "-----                                  " + dashes.strip() + "  ",
        f"{control_clock:<35s}" + row(ctrl_wns, 0.0, 0),
        f"  {clock:<33s}" + row(wns, tns, fail),
        f"  {'clkfbout_' + clock[len('clk_out1_'):]:<33s}" + " " * 109
        + f"{8.929:11.3f}  {0.0:11.3f}  {0:22d}  {2:20d}  ",
        "", "",
        banner("Inter Clock Table"),
        "From Clock    To Clock          WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      "
        "WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints  ",
        "", "",
    ]
    return "\n".join(lines) + "\n"


class Interpreter:
    """One Tcl interpreter; ``source(path)`` runs a script in its folder and returns the recording."""

    def __init__(self, tool: str, effects: bool = False, wns: float = 0.25):
        self.tool = tool
        self.effects = effects
        self.wns = wns
        self.rec = Recording()
        self.tcl = tkinter.Tcl()
        self.tcl.createcommand("hilt_record", self._record)
        self.tcl.eval("proc unknown {args} { return [hilt_record {*}$args] }")
        self.tcl.eval(f"proc exit {{args}} {{ hilt_record exit {{*}}$args; error {EXIT} }}")
        self.project = None     # Vitis HLS project / Vivado design name
        self.solution = None
        self.cells: dict[str, str] = {}  # Vivado block-design cell -> VLNV
        self.period_ns = 10.0

    # ---- running -------------------------------------------------------------------------------------------
    def source(self, path: str | os.PathLike, argv: list[str] | None = None) -> Recording:
        path = Path(path).resolve()
        cwd = os.getcwd()
        os.chdir(path.parent)
        try:
            self.tcl.eval(f"set argv {{{' '.join(argv or [])}}}")
            try:
                self.tcl.eval(f"source {{{path}}}")
            except tkinter.TclError as err:
                if str(err) != EXIT:
                    raise
                self.rec.exited = True
        finally:
            os.chdir(cwd)
        return self.rec

    # ---- the stubs -----------------------------------------------------------------------------------------
    def _record(self, cmd, *args):
        args = list(args)
        self.rec.calls.append(Call(cmd, args))
        handler = getattr(self, f"_{self.tool}_{cmd}", None) or getattr(self, f"_any_{cmd}", None)
        result = handler(args) if handler else ""
        return "" if result is None else result

    def _list(self, text: str) -> list[str]:
        return list(self.tcl.splitlist(text))

    @staticmethod
    def _option(args: list[str], name: str, default: str | None = None) -> str | None:
        return args[args.index(name) + 1] if name in args[:-1] else default

    def _touch(self, path: str, text: str = "") -> None:
        if self.effects:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)

    # Vitis HLS
    def _vitis_hls_open_project(self, args):
        self.project = [a for a in args if not a.startswith("-")][0]

    def _vitis_hls_open_solution(self, args):
        self.solution = [a for a in args if not a.startswith("-") and a not in ("vivado", "vitis")][0]

    def _vitis_hls_create_clock(self, args):
        self.period_ns = float(self._option(args, "-period"))

    def _vitis_hls_csynth_design(self, args):
        self._touch(f"{self.project}/{self.solution}/syn/report/csynth.rpt",
                    f"== Vitis HLS Report\n* Target clock period: {self.period_ns:.3f} ns (placeholder)\n")

    def _vitis_hls_export_design(self, args):
        vlnv = ":".join(self._option(args, f"-{k}") for k in ("vendor", "library", "ipname", "version"))
        self._touch(f"{self.project}/{self.solution}/impl/ip/component.xml",
                    f"<!-- placeholder IP-XACT component {vlnv} -->\n")

    # Vivado: values the scripts use
    def _vivado_version(self, args):
        return "2022.1"

    def _vivado_create_project(self, args):
        self.project = [a for a in args if not a.startswith("-")][0]

    def _vivado_create_bd_design(self, args):
        self.project = args[-1]

    def _vivado_current_project(self, args):
        return self.project

    def _vivado_create_bd_cell(self, args):
        self.cells[args[-1]] = self._option(args, "-vlnv")
        if self.cells[args[-1]].startswith("xilinx.com:ip:clk_wiz"):
            self.clk_wiz = args[-1]
        return args[-1]

    def _vivado_get_bd_cells(self, args):
        for name in args:
            if name not in self.cells:
                raise tkinter.TclError(f"get_bd_cells: no cell {name}")
        return " ".join(args)

    def _pins(self, args):
        for pin in args:
            cell = pin.split("/")[0]
            if cell not in self.cells:
                raise tkinter.TclError(f"no cell {cell} for pin {pin}")
        return " ".join(args)

    _vivado_get_bd_pins = _vivado_get_bd_intf_pins = _pins
    _vivado_get_bd_addr_spaces = _vivado_get_bd_addr_segs = _pins

    def _vivado_set_property(self, args):
        if args[0] == "-dict":
            props = self._list(args[1])
        else:
            props = args[:2]
        if "CONFIG.CLKOUT1_REQUESTED_OUT_FREQ" in props:
            self.period_ns = 1000.0 / float(props[props.index("CONFIG.CLKOUT1_REQUESTED_OUT_FREQ") + 1])

    def _vivado_get_files(self, args):
        pattern = [a for a in args if not a.startswith("-")][-1]
        if pattern.endswith(".hwh"):
            return f"project/{self.project}.gen/sources_1/bd/{self.project}/hw_handoff/{self.project}.hwh"
        return pattern

    def _vivado_make_wrapper(self, args):
        path = f"project/{self.project}.gen/sources_1/bd/{self.project}/hdl/{self.project}_wrapper.v"
        self._touch(path, "// placeholder wrapper\n")
        return path

    def _vivado_generate_target(self, args):
        self._touch(f"project/{self.project}.gen/sources_1/bd/{self.project}/hw_handoff/{self.project}.hwh",
                    f'<?xml version="1.0"?>\n<!-- placeholder hardware hand-off of {self.project} -->\n')

    def _vivado_get_property(self, args):
        return "100%" if args[0] == "PROGRESS" else ""

    def _vivado_get_runs(self, args):
        return args[-1]

    def _vivado_report_timing_summary(self, args):
        self._touch(self._option(args, "-file"),
                    timing_summary(self.period_ns, self.wns, f"clk_out1_{self.project}_clk_wiz_0",
                                   "clk_pl_0" if any("zynq_ultra" in v for v in self.cells.values()) else "clk_fpga_0"))

    def _vivado_report_utilization(self, args):
        self._touch(self._option(args, "-file"), "placeholder utilization report\n")

    def _vivado_write_bitstream(self, args):
        self._touch(args[-1], "placeholder bitstream\n")
