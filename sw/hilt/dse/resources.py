"""Resource model: DSP, BRAM18, URAM, LUT, FF of a design, with calibratable coefficients.

Per matrix-vector unit (forward, and in training also error-propagation and weight-gradient units):

- DSP: ``ceil(pe * simd / m)``; ``m`` = 2 for int8 x int8 products on zynqmp (two MACs sharing an
  operand in one DSP48E2), 1 on zynq7 (DSP48E1), for 16-bit operands and for the error and gradient
  units (16-bit errors). A dense forward unit that hosts its tied error unit adds that unit's lanes.
- memory: each PE holds ``(rows/pe) * (cols/simd)`` words of ``simd * width`` bits (forward: the
  weights; a conv's error unit: its own copy, partitioned for the transposed access; gradient: 48-bit
  accumulators of a batch) in BRAM18 (best of its 512x36 ... 16Kx1 shapes), URAM (4Kx72, where the
  board has it) or LUTRAM (64 bits per LUT) for small banks: a search choice. A *deferred* dense
  gradient keeps no accumulators but a stash of the batch's inputs and errors;
- line buffers of the window generators (``(kh - 1) * W * C`` words, also for the conv gradient unit
  that slides over the stored input), banked by column when a window generator takes several pixels
  per cycle, with the wider window register and its multiplexer (``window_cost``);
- stashes (training): every layer's input (plus ReLU mask or pool argmax) kept for as many samples as
  are in flight until its backward stage (``perf.stash_depths``), in LUTRAM, BRAM or URAM: a search
  choice of its own;
- LUT/FF: a per-MAC-lane and a per-unit cost (control, adder trees, requantizers), a per-stage cost for
  pools, LRN, the loss and their backward stages, plus the shell (DMA, interconnect) as a fixed
  overhead per PS type. These coefficients are a table that Vivado ``report_utilization`` text reports
  can refit (``parse_utilization``, ``Coefficients.refit``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from ..ir import Layer, Network
from ..ir.folding import LayerFolding
from .boards import RESOURCES, Board
from ..ops import op_of
from ..quant.formats import ERR_BITS, GRAD_ACC_BITS
from ..plan import HLS, MODEL, Target, UnitPlan
from ..plan.memory import (BRAM18_SHAPES, LUTRAM_MAX_BITS, URAM_SHAPE, fixed_arrays, memory_cost,  # noqa: F401
                           totals, unit_arrays)
from .perf import fold, fused_relu, own_stage, ppc_of, stash_depths, tied_error, unit_matrix, units_of


STORAGES = ("bram", "uram", "lutram", "deferred")  # deferred: dense gradient units in training only


@dataclass
class Coefficients:
    """LUT/FF per MAC lane, per unit, per fixed-rate stage, and the shell per PS type."""

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

    def refit(self, designs: list[dict[str, float]], measured: list[dict[str, float]],
              ps: str | None = None) -> "Coefficients":
        """Least-squares refit of the LUT/FF coefficients from (features, measured) pairs, where features
        are the 'lanes', 'units' and 'fixed_stages' counts of each design (``design_features``) and
        measured holds 'lut' and 'ff' (``parse_utilization`` of its Vivado report). The constant term
        becomes the shell of ``ps`` when given (all designs from boards of that PS type); coefficients
        are clamped at zero (a negative cost per lane is noise, not hardware)."""
        if len(designs) != len(measured) or len(designs) < 4:
            raise ValueError("refit needs at least four (design, measured) pairs, as many of each")
        a = np.array([[d["lanes"], d["units"], d["fixed_stages"], 1.0] for d in designs])
        out = Coefficients(**{k: v for k, v in asdict(self).items() if k != "shell"},
                           shell={ps: dict(v) for ps, v in self.shell.items()})
        for kind in ("lut", "ff"):
            y = np.array([m[kind] for m in measured])
            coef, *_ = np.linalg.lstsq(a, y, rcond=None)
            setattr(out, f"{kind}_per_lane", float(max(coef[0], 0)))
            setattr(out, f"{kind}_per_unit", float(max(coef[1], 0)))
            setattr(out, f"{kind}_per_fixed_stage", float(max(coef[2], 0)))
            if ps is not None:
                out.shell[ps][kind] = float(max(coef[3], 0))
        return out


def buffer_cost(total_bits: int, storage: str = "bram") -> dict[str, int]:
    """A buffer whose width the design may choose (line buffers, stashes): LUTRAM when small (or
    asked for), else blocks of the given storage filled to capacity."""
    if total_bits <= 0:
        return {}
    if total_bits <= LUTRAM_MAX_BITS or storage == "lutram":
        return memory_cost(total_bits, 1, "lutram")
    if storage == "uram":
        return {"uram": math.ceil(total_bits / (URAM_SHAPE[0] * URAM_SHAPE[1]))}
    return {"bram18": math.ceil(total_bits / (18 * 1024))}


def cheaper_block(total_bits: int, board: Board) -> str:
    """BRAM or URAM for a big buffer: whichever takes the smaller share of the board."""
    if not board.resources["uram"]:
        return "bram"
    b, u = buffer_cost(total_bits, "bram"), buffer_cost(total_bits, "uram")
    return "uram" if u.get("uram", 0) / board.resources["uram"] < b.get("bram18", 0) / board.resources["bram18"] \
        else "bram"


def storage_choices(layer: Layer, unit: str, f: LayerFolding, bits: int, board: Board) -> list[str]:
    rows, cols = unit_matrix(layer, unit)
    width = GRAD_ACC_BITS if unit == "grad" else bits
    out = ["bram"]
    if board.resources["uram"] > 0:
        out.append("uram")
    if (rows // f.pe) * (cols // f.simd) * f.simd * width <= LUTRAM_MAX_BITS:
        out.append("lutram")
    if unit == "grad" and not op_of(layer).windowed:  # a dense gradient may be formed at the batch boundary
        out.append("deferred")
    return out


def stash_bits(net: Network, bits: int) -> dict[str, int]:
    """Bits per sample each layer keeps for its backward stage: a weighted layer's input (and the mask
    of a ReLU fused after it), a max-pool's argmax, an LRN's input, an unfused ReLU's mask."""
    out = {}
    for i, layer in enumerate(net.layers):
        if layer.weighted:
            relu = i + 1 < len(net.layers) and fused_relu(net, i + 1)
            out[layer.name] = op_of(layer).stash_bits(layer, bits) + (int(np.prod(layer.out_shape)) if relu else 0)
        elif own_stage(net, i) and op_of(layer).stash_bits(layer, bits):
            out[layer.name] = op_of(layer).stash_bits(layer, bits)
    return out


def stashes(net: Network, bits: int) -> dict[str, int]:
    """Training: bits each layer's stash holds, every sample in flight to its backward stage included."""
    per_sample = stash_bits(net, bits)
    return {name: depth * per_sample[name] for name, depth in stash_depths(net).items() if name in per_sample}


def stash_choices(total_bits: int, board: Board) -> list[str]:
    """Where a stash may live: LUTRAM when small, else BRAM, URAM (where the board has it) or DDR
    (written and read back once per sample, which costs DMA bandwidth instead of memory)."""
    if total_bits <= LUTRAM_MAX_BITS:
        return ["lutram"]
    return ["bram"] + (["uram"] if board.resources["uram"] else []) + ["ddr"]


def stash_cost(total_bits: int, where: str, coef: Coefficients) -> dict[str, float]:
    """A stash on chip is its memory; in DDR, two burst FIFOs and a data mover."""
    res = {r: 0.0 for r in RESOURCES}
    if where == "ddr":
        _add(res, {"bram18": 2, "lut": coef.lut_per_fixed_stage, "ff": coef.ff_per_fixed_stage})
    else:
        _add(res, buffer_cost(total_bits, where))
    return res


def unit_dsp(unit: str, f: LayerFolding, board: Board, bits: int, tied: bool = False) -> tuple[int, int]:
    """(DSP slices, MACs per cycle they can do) of a unit: int8 forward lanes pack ``macs_per_dsp`` to a
    DSP; 16-bit operands and the error/gradient units (16-bit errors) one; a tied error unit adds its own.
    Packed multiplies share their activation (hw/rtl/hilt_mac.sv): PE rows pair up, one DSP per pair and
    SIMD lane, so an odd PE leaves its last row a DSP per lane that does one MAC."""
    lanes = f.pe * f.simd
    packed = board.packed_macs(bits) if unit == "fwd" else 1
    extra = lanes if tied else 0
    return math.ceil(f.pe / packed) * f.simd + extra, lanes + extra


def unit_resources(layer: Layer, unit: str, f: LayerFolding, storage: str, board: Board, mode: str, bits: int,
                   coef: Coefficients, tied: bool = False, batch: int = 1, target: Target = MODEL) -> dict[str, float]:
    """One unit: its DSP lanes, its memory, its line buffer and logic. ``tied``: a dense forward unit
    that also hosts its error unit; ``batch``: samples a deferred gradient unit stashes. For a target
    whose memories are the memory plan's arrays (``HLS``), the unit's arrays from ``plan.memory``."""
    res = {r: 0.0 for r in RESOURCES}
    rows, cols = unit_matrix(layer, unit)
    lanes = f.pe * f.simd
    res["dsp"] = unit_dsp(unit, f, board, bits, tied)[0]
    if target.memory_plan:
        _add(res, totals(unit_arrays(layer, UnitPlan(unit, f.pe, f.simd, ppc_of(f), storage), bits, tied, batch,
                                     board)))
        if storage == "deferred":
            res["ff"] += lanes * GRAD_ACC_BITS  # the accumulator tile
    elif storage == "deferred":  # a batch of inputs (bits) and output errors (16 bit), outer product at the end
        total = batch * (int(np.prod(layer.in_shape)) * bits + rows * ERR_BITS)
        _add(res, buffer_cost(total, cheaper_block(total, board)))
        res["ff"] += lanes * GRAD_ACC_BITS  # the accumulator tile
    else:
        width = GRAD_ACC_BITS if unit == "grad" else bits
        for k, v in memory_cost(fold(layer, f, unit), f.simd * width, storage).items():
            res[k] += v * f.pe
    if op_of(layer).windowed and not target.memory_plan:
        _add(res, window_cost(layer, unit, ppc_of(f), ERR_BITS if unit == "err" else bits))
    copies = 2 if tied else 1
    res["lut"] += copies * (coef.lut_per_lane * lanes + coef.lut_per_unit)
    res["ff"] += copies * (coef.ff_per_lane * lanes + coef.ff_per_unit)
    return res


def window_cost(layer: Layer, unit: str, ppc: int, bits: int) -> dict[str, float]:
    """A conv unit's window generator: a line buffer of ``(kh - 1) * W * C`` words, banked by column into
    ``ppc`` memories when it takes ``ppc`` pixels per cycle (each bank written once a cycle). Taking
    more than one pixel widens the window register by ``ppc - 1`` columns and puts a ppc:1 multiplexer
    (one LUT6 per window bit up to 4:1) in front of the MVAU to pick the window that is due."""
    c, _, w = layer.in_shape if unit != "err" else layer.out_shape
    kh, kw = layer.attrs["kernel"]
    res = {r: 0.0 for r in RESOURCES}
    for k, v in buffer_cost((kh - 1) * w * c * bits // ppc).items():
        res[k] += v * ppc
    if ppc > 1:
        res["lut"] += kh * kw * c * bits * math.ceil(math.log2(ppc) / 2)
        res["ff"] += kh * (ppc - 1) * c * bits
    return res


def _add(res: dict, extra: dict) -> None:
    for k, v in extra.items():
        res[k] += v


def fixed_stages(net: Network, mode: str) -> list[Layer]:
    """Layers with a fixed-rate stage of their own (twice in training when they sit after the first
    weighted layer: forward and backward)."""
    out = [l for i, l in enumerate(net.layers) if own_stage(net, i)]
    if mode == "train":
        first = next(i for i, l in enumerate(net.layers) if l.weighted)
        out += [l for l in out if net.layers.index(l) > first]
    return out


def fixed_resources(net: Network, board: Board, mode: str, bits: int, coef: Coefficients,
                    target: Target = MODEL) -> dict[str, float]:
    """Pools, LRN, the loss unit and the shell: what does not depend on the folding or a placement (for
    ``HLS``, the memory plan's fixed arrays: biases, pool buffers, backward maps, tap FIFOs)."""
    res = {r: 0.0 for r in RESOURCES}
    for k, v in coef.shell[board.ps].items():
        res[k] += v
    stages = fixed_stages(net, mode)
    if target.memory_plan:
        _add(res, totals(fixed_arrays(net, mode, bits, board)))
    for layer in stages:
        if len(layer.in_shape) == 3 and not target.memory_plan:
            c, _, w = layer.in_shape
            kh = layer.attrs.get("kernel", (1, 1))[0]
            _add(res, buffer_cost(max(1, kh - 1) * w * c * bits))
        _add(res, op_of(layer).stage_resources)
    n_stages = len(stages)
    if mode == "train":
        n_stages += 1  # the loss unit
    res["lut"] += coef.lut_per_fixed_stage * n_stages
    res["ff"] += coef.ff_per_fixed_stage * n_stages
    return res


def design_features(net: Network, units: dict[tuple[str, str], LayerFolding], mode: str) -> dict[str, float]:
    """What the LUT/FF coefficients multiply: MAC lanes, units and fixed-rate stages of a design."""
    pairs = units_of(net, mode)
    first = net.weighted_layers()[0].name
    tied = [p for p in pairs if p[1] == "fwd" and tied_error(net.layer(p[0]), p[0] == first, mode)]
    lanes = sum(units.get(p, LayerFolding()).pe * units.get(p, LayerFolding()).simd for p in pairs + tied)
    return {"lanes": lanes, "units": len(pairs) + len(tied),
            "fixed_stages": len(fixed_stages(net, mode)) + (1 if mode == "train" else 0)}


_UTIL_ROWS = {"lut": r"(?:Slice LUTs|CLB LUTs)\*?", "ff": r"(?:Slice Registers|CLB Registers)",
              "dsp": r"DSPs", "bram36": r"Block RAM Tile", "uram": r"URAM"}


def parse_utilization(text: str) -> dict[str, float]:
    """Used resources from a Vivado ``report_utilization`` text report (BRAM tiles counted as 2 BRAM18).
    The first matching row wins: the summary tables come before the per-primitive breakdowns."""
    out = {}
    for key, label in _UTIL_ROWS.items():
        m = re.search(rf"^\|\s*{label}\s*\|\s*([\d.]+)\s*\|", text, re.MULTILINE)
        if m:
            out[key] = float(m.group(1))
    if "bram36" in out:
        out["bram18"] = 2 * out.pop("bram36")
    return out


def design_resources(net: Network, units: dict[tuple[str, str], LayerFolding], storage: dict[tuple[str, str], str],
                     board: Board, mode: str = "infer", bits: int = 8, coef: Coefficients | None = None,
                     shell: bool = True) -> dict[str, float]:
    """The estimate of one design: every unit (at its folding and storage, default 1 x 1 in BRAM) plus the
    fixed-rate stages, and the shell unless ``shell`` is False (a bare accelerator, as the RTL twin)."""
    coef = coef or Coefficients()
    res = fixed_resources(net, board, mode, bits, coef)
    if not shell:
        for k, v in coef.shell[board.ps].items():
            res[k] -= v
    first = net.weighted_layers()[0].name
    for name, unit in units_of(net, mode):
        layer = net.layer(name)
        tied = unit == "fwd" and tied_error(layer, name == first, mode)
        _add(res, unit_resources(layer, unit, units.get((name, unit), LayerFolding()),
                                 storage.get((name, unit), "bram"), board, mode, bits, coef, tied))
    return res
