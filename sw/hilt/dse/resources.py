"""Resource model: DSP, BRAM18, URAM, LUT, FF of a design, with calibratable coefficients.

Per matrix-vector unit (forward, and in training also error-propagation and weight-gradient units):
- DSP: ``ceil(pe * simd / macs_per_dsp)`` (two int8 MACs per DSP48E2 on zynqmp, one per DSP48E1;
  16-bit operands always one);
- memory: each PE holds ``(rows/pe) * (cols/simd)`` words of ``simd * width`` bits (forward: the
  weights; error propagation: its own copy of them, partitioned for transposed access; gradient: 32-bit
  accumulators of a batch's gradients), in BRAM18 (best of its 512x36 ... 16Kx1 shapes), URAM (4Kx72, on
  zynqmp boards that have it) or LUTRAM (64 bits per LUT) for small memories: a search choice;
- line buffers of the window generators (``(kh - 1) * W * C`` words) and, in training, each layer's
  input activations kept for the backward pass (double-buffered), in BRAM18 or LUTRAM when small;
- LUT/FF: a per-MAC-lane and a per-unit cost (control, adder trees, requantizers), plus the shell (DMA,
  interconnect) as a fixed overhead per PS type. The coefficients are a table that a Vivado
  ``report_utilization`` can refit (``Coefficients.refit``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from ..ir import Layer, Network
from ..ir.folding import LayerFolding
from .boards import RESOURCES, Board
from .perf import tied_error, unit_matrix, units_of

GRAD_BITS = 32  # weight gradients leave the accelerator as 32-bit words (docs/numerics.md)
ERR_BITS = 16

BRAM18_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
URAM_SHAPE = (4096, 72)
LUTRAM_MAX_BITS = 4096  # memories up to this size go to LUTRAM when that is the chosen storage
STORAGES = ("bram", "uram", "lutram", "ddr")  # ddr: gradient accumulators only


@dataclass
class Coefficients:
    lut_per_lane: float = 28.0
    ff_per_lane: float = 45.0
    lut_per_unit: float = 420.0
    ff_per_unit: float = 600.0
    lut_per_fixed_stage: float = 250.0
    ff_per_fixed_stage: float = 350.0
    shell: dict = field(default_factory=lambda: {
        "zynq7": {"lut": 4200, "ff": 6100, "bram18": 6, "dsp": 0},
        "zynqmp": {"lut": 5600, "ff": 8300, "bram18": 8, "dsp": 0}})

    def to_json(self) -> dict:
        return asdict(self)

    def refit(self, designs: list[dict[str, float]], measured: list[dict[str, float]]) -> "Coefficients":
        """Least-squares refit of the LUT/FF coefficients from (features, measured) pairs, where features
        are the 'lanes', 'units' and 'fixed_stages' counts of each design (``design_features``)."""
        a = np.array([[d["lanes"], d["units"], d["fixed_stages"], 1.0] for d in designs])
        out = Coefficients(**{k: v for k, v in asdict(self).items() if k != "shell"}, shell=dict(self.shell))
        for kind in ("lut", "ff"):
            y = np.array([m[kind] for m in measured])
            coef, *_ = np.linalg.lstsq(a, y, rcond=None)
            setattr(out, f"{kind}_per_lane", float(max(coef[0], 0)))
            setattr(out, f"{kind}_per_unit", float(max(coef[1], 0)))
            setattr(out, f"{kind}_per_fixed_stage", float(max(coef[2], 0)))
        return out


def memory_cost(words: int, width: int, storage: str) -> dict[str, int]:
    """Blocks one memory of ``words`` x ``width`` bits takes in the given storage."""
    if words == 0 or width == 0:
        return {}
    if storage == "lutram":
        return {"lut": math.ceil(words * width / 64)}
    if storage == "uram":
        return {"uram": math.ceil(width / URAM_SHAPE[1]) * math.ceil(words / URAM_SHAPE[0])}
    return {"bram18": min(math.ceil(width / w) * math.ceil(words / d) for d, w in BRAM18_SHAPES)}


def storage_choices(layer: Layer, unit: str, f: LayerFolding, bits: int, board: Board) -> list[str]:
    rows, cols = unit_matrix(layer, unit)
    width = GRAD_BITS if unit == "grad" else bits
    depth = (rows // f.pe) * (cols // f.simd)
    out = ["bram"]
    if board.resources["uram"] > 0:
        out.append("uram")
    if depth * f.simd * width <= LUTRAM_MAX_BITS:
        out.append("lutram")
    if unit == "grad":
        out.append("ddr")
    return out


def ddr_cycles(layer: Layer, board: Board, freq_mhz: float) -> int:
    """Cycles per sample to read-modify-write a layer's 32-bit gradient accumulators in DDR."""
    bytes_per_cycle = min(board.ddr_bandwidth_gbps * 1e3 / freq_mhz, board.dma_width_bits / 8)
    return math.ceil(2 * 4 * layer.params["weight"].size / bytes_per_cycle)


def unit_resources(layer: Layer, unit: str, f: LayerFolding, storage: str, board: Board, mode: str, bits: int,
                   coef: Coefficients, tied: bool = False) -> dict[str, float]:
    """One unit: its DSP lanes, its memory (forward: the weights; a conv's error unit: a copy partitioned
    for the transposed access; gradient: the 32-bit accumulators of a batch, on chip or in DDR), its
    buffers and logic. ``tied``: a dense forward unit that also hosts its error unit (twice the lanes)."""
    rows, cols = unit_matrix(layer, unit)
    per_dsp = board.macs_per_dsp if bits <= 8 else 1
    copies = 2 if tied else 1
    res = {r: 0.0 for r in RESOURCES}
    res["dsp"] = copies * math.ceil(f.pe * f.simd / per_dsp)
    width = GRAD_BITS if unit == "grad" else bits
    if storage != "ddr":
        for k, v in memory_cost((rows // f.pe) * (cols // f.simd), f.simd * width, storage).items():
            res[k] += v * f.pe
    if layer.op == "conv" and unit != "grad":
        c, h, w = layer.in_shape if unit == "fwd" else layer.out_shape
        kh = layer.attrs["kernel"][0]
        _add(res, _buffer((kh - 1) * w * c * (bits if unit == "fwd" else ERR_BITS)))
    if mode == "train" and unit == "fwd":
        _add(res, _buffer(2 * int(np.prod(layer.in_shape)) * bits))  # activations kept for the backward pass
    res["lut"] += copies * (coef.lut_per_lane * f.pe * f.simd + coef.lut_per_unit)
    res["ff"] += copies * (coef.ff_per_lane * f.pe * f.simd + coef.ff_per_unit)
    return res


def _buffer(total_bits: int) -> dict[str, int]:
    if total_bits <= LUTRAM_MAX_BITS:
        return memory_cost(total_bits, 1, "lutram")
    return {"bram18": math.ceil(total_bits / (18 * 1024))}


def _add(res: dict, extra: dict) -> None:
    for k, v in extra.items():
        res[k] += v


def fixed_resources(net: Network, board: Board, mode: str, bits: int, coef: Coefficients) -> dict[str, float]:
    """Pools, LRN and the shell: stages whose cost does not depend on the folding."""
    res = {r: 0.0 for r in RESOURCES}
    for k, v in coef.shell[board.ps].items():
        res[k] += v
    for layer in net.layers:
        if layer.op in ("maxpool", "avgpool", "lrn"):
            c, h, w = layer.in_shape
            kh = layer.attrs.get("kernel", (1, 1))[0]
            _add(res, _buffer(max(1, kh - 1) * w * c * bits))
            res["lut"] += coef.lut_per_fixed_stage
            res["ff"] += coef.ff_per_fixed_stage
            if layer.op == "lrn":
                res["bram18"] += 1  # the 1,024-entry table
                res["dsp"] += 1
    return res


def design_features(net: Network, units: dict[tuple[str, str], LayerFolding], mode: str) -> dict[str, float]:
    """What the LUT/FF coefficients multiply: MAC lanes, units and fixed-rate stages of a design."""
    pairs = units_of(net, mode)
    first = net.weighted_layers()[0].name
    tied = [p for p in pairs if p[1] == "fwd" and tied_error(net.layer(p[0]), p[0] == first, mode)]
    pairs = pairs + tied
    lanes = sum(units[p].pe * units[p].simd for p in pairs)
    fixed = sum(1 for l in net.layers if l.op in ("maxpool", "avgpool", "lrn"))
    return {"lanes": lanes, "units": len(pairs), "fixed_stages": fixed}


_UTIL_ROWS = {"lut": r"(?:Slice LUTs|CLB LUTs)\*?", "ff": r"(?:Slice Registers|CLB Registers)",
              "dsp": r"DSPs", "bram36": r"Block RAM Tile", "uram": r"URAM"}


def parse_utilization(text: str) -> dict[str, float]:
    """Used resources from a Vivado ``report_utilization`` text report (BRAM tiles counted as 2 BRAM18)."""
    out = {}
    for key, label in _UTIL_ROWS.items():
        m = re.search(rf"^\|\s*{label}\s*\|\s*([\d.]+)\s*\|", text, re.MULTILINE)
        if m:
            out[key] = float(m.group(1))
    if "bram36" in out:
        out["bram18"] = 2 * out.pop("bram36")
    return out
