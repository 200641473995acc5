"""Performance model of the streaming dataflow pipeline (forward, and training = forward + backward).

One stage per layer, all running concurrently on consecutive samples, so the pipeline's initiation
interval (II, cycles per sample) is the slowest stage's. Every conv/dense layer is a matrix-vector unit
over a (rows x cols) weight matrix with ``pe`` rows and ``simd`` columns in parallel; in training it
gets two more units, each with its own folding: error propagation (the transposed matrix, not for the
first layer, whose input needs no error) and the weight gradient (the forward matrix's shape).

Cycles per sample of a unit, with fold = (rows / pe) * (cols / simd):

- conv forward: ``max(Ho * Wo * fold, H * W)`` (the window generator reads one input pixel per cycle);
  rows = O, cols = C/g * kh * kw (groups run one after the other);
- conv error: ``max(H * W * fold, Ho * Wo)`` on the transposed matrix: rows = C, cols = O/g * kh * kw;
- conv weight gradient: ``Ho * Wo * fold`` with the forward shape;
- dense forward / gradient: ``fold`` with rows = O, cols = I; dense error: rows = I, cols = O;
- max/average pool, LRN, a ReLU not fused into a conv/dense before it: ``H * W`` (one input pixel per
  cycle, all channels in parallel); flatten is free.

Latency of one sample: every stage's fill delay (a conv needs ``(kh - 1)`` input rows plus ``kw``
pixels before its first window; a unit needs one fold plus its adder-tree and requantizer depth before
its first output) plus the slowest stage's II. These are the numbers the RTL twin checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..ir import Layer, Network
from ..ir.folding import LayerFolding

PIPELINE_DEPTH = 4  # multiplier, requantize, saturate, output register
UNITS = ("fwd", "err", "grad")


def unit_matrix(layer: Layer, unit: str) -> tuple[int, int]:
    """(rows, cols) of a unit's matrix; pe must divide rows (per group for convs), simd cols."""
    w = layer.params["weight"]
    if layer.op == "dense":
        return (w.shape[1], w.shape[0]) if unit == "err" else (w.shape[0], w.shape[1])
    o, cg, kh, kw = w.shape
    groups = int(layer.attrs.get("groups", 1))
    if unit == "err":
        return cg * groups, (o // groups) * kh * kw
    return o, cg * kh * kw


def pe_rows(layer: Layer, unit: str) -> int:
    """The count pe must divide: a PE never straddles two groups."""
    rows, _ = unit_matrix(layer, unit)
    return rows // int(layer.attrs.get("groups", 1)) if layer.op == "conv" else rows


def tied_error(layer: Layer, first: bool, mode: str) -> bool:
    """A dense layer's error unit reads the forward unit's weight banks transposed: with the folding
    (pe, simd) swapped, each bank supplies exactly the pe x simd block the transposed product needs, so
    it shares the memory and the cycle count and is not searched separately."""
    return mode == "train" and not first and layer.op == "dense"


def units_of(net: Network, mode: str) -> list[tuple[str, str]]:
    """(layer, unit) pairs the design searches (a tied dense error unit rides with its forward unit)."""
    out = []
    for i, layer in enumerate(net.weighted_layers()):
        out.append((layer.name, "fwd"))
        if mode == "train":
            if i > 0 and layer.op == "conv":
                out.append((layer.name, "err"))
            out.append((layer.name, "grad"))
    return out


def unit_cycles(layer: Layer, f: LayerFolding, unit: str = "fwd") -> int:
    rows, cols = unit_matrix(layer, unit)
    fold = (rows // f.pe) * (cols // f.simd)
    if layer.op == "dense":
        return fold
    _, ho, wo = layer.out_shape
    _, h, w = layer.in_shape
    if unit == "err":
        return max(h * w * fold, ho * wo)
    if unit == "grad":
        return ho * wo * fold
    return max(ho * wo * fold, h * w)


def _fill(layer: Layer, f: LayerFolding, unit: str) -> int:
    rows, cols = unit_matrix(layer, unit)
    depth = PIPELINE_DEPTH + math.ceil(math.log2(max(1, f.simd)))
    fold = (rows // f.pe) * (cols // f.simd)
    if layer.op == "dense":
        return fold + depth
    _, h, w = layer.in_shape if unit != "err" else layer.out_shape
    kh, kw = layer.attrs["kernel"]
    return (kh - 1) * w + kw + fold + depth


@dataclass(frozen=True)
class Stage:
    layer: str
    unit: str  # "fwd", "err", "grad", or the op of a fixed-rate stage
    cycles: int  # per sample
    fill: int  # cycles from the first input to the first output


def stages(net: Network, units: dict[tuple[str, str], LayerFolding], mode: str = "infer") -> list[Stage]:
    """Every stage of the design; ``units`` maps (layer, unit) to its folding (default 1 x 1)."""
    weighted = {name for name, _ in units_of(net, mode)}
    first = net.weighted_layers()[0].name if weighted else None
    out, prev = [], None
    for layer in net.layers:
        if layer.name in weighted:
            for name, unit in units_of(net, mode):
                if name == layer.name:
                    f = units.get((name, unit), LayerFolding())
                    out.append(Stage(name, unit, unit_cycles(layer, f, unit), _fill(layer, f, unit)))
                    if unit == "fwd" and tied_error(layer, name == first, mode):
                        t = LayerFolding(f.simd, f.pe)
                        out.append(Stage(name, "err", unit_cycles(layer, t, "err"), _fill(layer, t, "err")))
        elif layer.op in ("maxpool", "avgpool", "lrn") or (layer.op == "relu" and (prev is None or not prev.weighted)):
            h, w = layer.in_shape[1:]
            kh = layer.attrs.get("kernel", (1, 1))[0]
            out.append(Stage(layer.name, layer.op, h * w, (kh - 1) * w + PIPELINE_DEPTH))
        prev = layer
    return out


@dataclass(frozen=True)
class Performance:
    ii_cycles: int
    latency_cycles: int
    freq_mhz: float

    @property
    def samples_per_s(self) -> float:
        return self.freq_mhz * 1e6 / self.ii_cycles

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.freq_mhz


def performance(net: Network, units: dict[tuple[str, str], LayerFolding], freq_mhz: float,
                mode: str = "infer", floor_cycles: int = 0) -> Performance:
    """II and latency; ``floor_cycles`` is a lower bound on II from outside the stages (DDR traffic)."""
    st = stages(net, units, mode)
    ii = max([s.cycles for s in st] + [floor_cycles])
    return Performance(ii, sum(s.fill for s in st) + ii, freq_mhz)


def macs_per_sample(net: Network, mode: str = "infer") -> int:
    """MACs one sample costs: forward, or forward + error propagation (not layer 1) + weight gradients."""
    w = net.weighted_layers()
    if mode == "infer":
        return net.macs
    return 3 * net.macs - (w[0].macs if w else 0)
