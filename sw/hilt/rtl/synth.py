"""The RTL twin through Yosys ``synth_xilinx``: LUT/FF/DSP/BRAM18 per design, without Vivado.

These are Yosys-on-the-twin numbers: the hand-written SystemVerilog of hw/rtl mapped by Yosys' Xilinx
flow (no placement, no Vivado optimisation), not Vivado on the HLS C++ that a bitstream is built from.
They calibrate the DSE's LUT/FF coefficients for the twin's own microarchitecture; the HLS design's
overheads (its FSMs, stream FIFOs, AXI adapters) differ, so a board build's `report_utilization`
(`resources.parse_utilization`) remains the calibration for bitstreams.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import jinja2

from ..errors import HiltError
from .design import TEMPLATES
from .twin import rtl_sources

FAMILY = {"zynq7": "xc7", "zynqmp": "xcup"}  # synth_xilinx -family, by the board's PS type
# LUTs per LUTRAM / shift-register primitive (a RAM64M is four LUT6 in a SLICEM, SRLC32E one)
LUTRAM_LUTS = {"RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8, "RAM32M": 4,
               "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2,
               "RAM256X1S": 4, "RAM512X1S": 8, "SRL16E": 1, "SRLC32E": 1}


def yosys() -> str:
    path = shutil.which("yosys")
    if not path:
        raise HiltError("yosys is not installed: install it (Debian/Ubuntu: apt-get install yosys) to synthesise "
                        "the RTL twin")
    return path


def script(sources: list[Path], top: str, family: str, stat: Path) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.get_template("synth.ys.j2").render(sources=[str(s) for s in sources], top=top, family=family,
                                                   stat=str(stat))


def counts(cells: dict[str, int]) -> dict[str, int]:
    """Xilinx primitives (``stat -tech xilinx``) -> LUT (logic and LUTRAM), FF, DSP, BRAM18, CARRY."""
    lut = sum(n for t, n in cells.items() if t.startswith("LUT") and t[3:].isdigit())
    lutram = sum(LUTRAM_LUTS[t] * n for t, n in cells.items() if t in LUTRAM_LUTS)
    ff = sum(n for t, n in cells.items() if t[:2] in ("FD", "LD"))
    dsp = sum(n for t, n in cells.items() if t.startswith("DSP48"))
    bram18 = sum(n for t, n in cells.items() if t.startswith("RAMB18")) + \
        2 * sum(n for t, n in cells.items() if t.startswith("RAMB36"))
    carry = sum(n for t, n in cells.items() if t.startswith("CARRY"))
    return {"lut": lut + lutram, "lut_logic": lut, "lutram_luts": lutram, "ff": ff, "dsp": dsp, "bram18": bram18,
            "carry": carry}


def parse_stat(text: str) -> dict:
    """``stat -json`` output as a dict. Yosys 0.23 prints a hierarchical design's instance listing
    (``<module> <count>`` lines, unquoted) between the modules and the design totals: those lines are
    dropped (the totals already multiply each module by its instances)."""
    keep = [ln for ln in text.splitlines() if ln.strip()[:1] in ('"', "{", "}", "]", "[", "")]
    try:
        return json.loads("\n".join(keep))
    except json.JSONDecodeError as e:
        raise HiltError(f"yosys stat -json: unreadable output ({e})") from None


def synthesize(rtl_dir: str | Path, family: str = "xcup", timeout_s: float | None = None) -> dict:
    """Synthesise a folder written by ``design.write_rtl``; the design's counts, per module counts and the
    run time. Raises HiltError when Yosys fails or runs past ``timeout_s``."""
    sources, top, _ = rtl_sources(rtl_dir)
    exe = yosys()
    with tempfile.TemporaryDirectory(prefix="hilt-yosys-") as tmp:
        stat = Path(tmp) / "stat.json"
        ys = Path(tmp) / "synth.ys"
        ys.write_text(script(sources, top, family, stat))
        start = time.perf_counter()
        try:
            proc = subprocess.run([exe, "-q", "-l", str(Path(tmp) / "yosys.log"), "-s", str(ys)],
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise HiltError(f"yosys synth_xilinx of {top} ran past {timeout_s:.0f} s; give it more time "
                            f"(--timeout)") from None
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not stat.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise HiltError(f"yosys synth_xilinx of {top} failed: {tail[0]}")
        data = parse_stat(stat.read_text())
    modules = {name.lstrip("\\"): counts(m["num_cells_by_type"]) for name, m in data["modules"].items()}
    return {"top": top, "family": family, "seconds": seconds, "yosys": _version(exe),
            "total": counts(data["design"]["num_cells_by_type"]), "modules": modules}


def _version(exe: str) -> str:
    return subprocess.run([exe, "-V"], capture_output=True, text=True).stdout.strip()


def estimate(q, info: dict, board, plan=None, coef=None) -> dict[str, float]:
    """The DSE resource model's figure for the twin in ``info`` (rtl.json: its folding and first ppc),
    without the shell (the twin has no DMA or interconnect); storage as in ``plan`` when given."""
    from ..dse.resources import design_resources
    from .twin import model_units

    units = model_units(q, info["folding"], None, info.get("ppc", 1))
    storage = plan.storage() if plan is not None else {}
    return design_resources(q.network, units, storage, board, "infer", q.bits, coef, shell=False)
