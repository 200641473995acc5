"""Performance model of the streaming dataflow pipeline (inference, and training = forward + backward).

One stage per layer, all running concurrently on consecutive samples, so the pipeline's initiation
interval (II, cycles per sample) is the slowest stage's. Streams between stages carry one pixel (all its
channels) per cycle. Every conv/dense layer is a matrix-vector unit over a (rows x cols) weight matrix
with ``pe`` rows and ``simd`` columns in parallel (FINN's MVAU); in training it gets two more units, each
with its own folding: error propagation (the transposed matrix; not for the first weighted layer, whose
input needs no error) and the weight gradient (the forward matrix's shape).

Cycles per sample of a unit, with fold = (rows / pe) * (cols / simd):

- conv forward: ``max(Ho * Wo * fold, H * W)`` (the window generator reads one input pixel per cycle);
  rows = O, cols = C/g * kh * kw (groups run one after the other);
- conv error: ``max(H * W * fold, Ho * Wo)`` on the transposed matrix: rows = C, cols = O/g * kh * kw;
- conv weight gradient: ``Ho * Wo * fold`` with the forward shape;
- dense forward / gradient: ``fold`` with rows = O, cols = I; dense error: rows = I, cols = O;
- max/average pool, LRN, a ReLU not fused into a conv/dense before it: ``H * W``, forward and (in
  training) backward; the loss unit: ``2 * classes`` (softmax needs the whole logit vector first);
  flatten is free; a fused ReLU's backward is a mask on the error entering its layer's units.

Latency of one sample through an empty pipeline is the sum of the fills of the stages on its path
(forward stages; in training also the loss, the error chain and the first layer's gradient unit) plus
the slowest stage's II. A fill is the cycles from a stage's first input to its first output: a window
needs ``(kh - 1)`` input rows plus ``kw`` pixels; a unit one fold plus its adder tree and requantizer.

Training runs in batches (the host applies the SGD step between them, docs/numerics.md): a batch of B
samples takes ``(B - 1) * II + latency`` cycles to drain the pipeline, then an epilogue in which the
gradients leave over the DMA (32-bit words) and the updated weights come back. A dense layer's
gradient unit may be *deferred*: it stashes the batch's inputs and errors and forms the outer product
during the epilogue, ``B * fold`` cycles overlapped with the read-out, instead of keeping 48-bit
accumulators of every weight on chip. These are the numbers the RTL twin checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir import Layer, Network
from ..ir.folding import LayerFolding

PIPELINE_DEPTH = 4  # multiplier, requantize, saturate, output register
UNITS = ("fwd", "err", "grad")
FIXED_OPS = ("maxpool", "avgpool", "lrn")
GRAD_OUT_BYTES = 4  # gradients leave the chip as 32-bit words (docs/numerics.md)
BIAS_BYTES = 4  # biases live at accumulator width


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


def fold(layer: Layer, f: LayerFolding, unit: str) -> int:
    rows, cols = unit_matrix(layer, unit)
    return (rows // f.pe) * (cols // f.simd)


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
    n = fold(layer, f, unit)
    if layer.op == "dense":
        return n
    _, ho, wo = layer.out_shape
    _, h, w = layer.in_shape
    if unit == "err":
        return max(h * w * n, ho * wo)
    if unit == "grad":
        return ho * wo * n
    return max(ho * wo * n, h * w)


def unit_fill(layer: Layer, f: LayerFolding, unit: str) -> int:
    depth = PIPELINE_DEPTH + math.ceil(math.log2(max(1, f.simd)))
    n = fold(layer, f, unit)
    if layer.op == "dense":
        return n + depth
    _, _, w = layer.in_shape if unit != "err" else layer.out_shape
    kh, kw = layer.attrs["kernel"]
    return (kh - 1) * w + kw + n + depth


def _fixed_fill(layer: Layer) -> int:
    kh = layer.attrs.get("kernel", (1, 1))[0]
    return (kh - 1) * layer.in_shape[-1] + PIPELINE_DEPTH


def fused_relu(net: Network, i: int) -> bool:
    """A ReLU right after a conv/dense is part of that unit's requantizer (and, backward, a mask)."""
    return net.layers[i].op == "relu" and i > 0 and net.layers[i - 1].weighted


@dataclass(frozen=True)
class Stage:
    layer: str
    unit: str  # "fwd", "err", "grad", "loss", the op of a fixed-rate stage, or "<op>_bwd"
    cycles: int  # per sample in the pipeline (0: a deferred gradient unit, busy in the epilogue only)
    fill: int  # cycles from the first input to the first output
    on_path: bool = True  # False: a gradient unit other than the first layer's (a sink off the path)


def stages(net: Network, units: dict[tuple[str, str], LayerFolding], mode: str = "infer",
           deferred: frozenset = frozenset()) -> list[Stage]:
    """Every stage in pipeline order (forward, then loss and backward in reverse layer order);
    ``units`` maps (layer, unit) to its folding (default 1 x 1), ``deferred`` holds dense layers whose
    gradient is formed in the batch epilogue."""
    weighted = net.weighted_layers()
    first = weighted[0].name if weighted else None
    fwd, bwd = [], []
    for i, layer in enumerate(net.layers):
        if layer.weighted:
            f = units.get((layer.name, "fwd"), LayerFolding())
            fwd.append(Stage(layer.name, "fwd", unit_cycles(layer, f), unit_fill(layer, f, "fwd")))
        elif layer.op in FIXED_OPS or (layer.op == "relu" and not fused_relu(net, i)):
            fwd.append(Stage(layer.name, layer.op, layer.in_shape[1] * layer.in_shape[2] if len(layer.in_shape) == 3
                             else 1, _fixed_fill(layer)))
    if mode != "train" or not weighted:
        return fwd
    classes = int(np.prod(net.layers[-1].out_shape))
    chain = [Stage(net.layers[-1].name, "loss", 2 * classes, classes + PIPELINE_DEPTH)]
    for i in reversed(range(len(net.layers))):
        layer = net.layers[i]
        if layer.weighted:
            if layer.name != first:
                g = units.get((layer.name, "grad"), LayerFolding())
                cycles = 0 if layer.name in deferred else unit_cycles(layer, g, "grad")
                bwd.append(Stage(layer.name, "grad", cycles, unit_fill(layer, g, "grad"), on_path=False))
                key = (layer.name, "err")
                e = units.get(key, LayerFolding())
                if tied_error(layer, False, mode):
                    fw = units.get((layer.name, "fwd"), LayerFolding())
                    e = LayerFolding(fw.simd, fw.pe)
                chain.append(Stage(layer.name, "err", unit_cycles(layer, e, "err"), unit_fill(layer, e, "err")))
            else:
                g = units.get((layer.name, "grad"), LayerFolding())
                cycles = 0 if layer.name in deferred else unit_cycles(layer, g, "grad")
                chain.append(Stage(layer.name, "grad", cycles, unit_fill(layer, g, "grad")))
                break
        elif layer.op in FIXED_OPS or (layer.op == "relu" and not fused_relu(net, i)):
            chain.append(Stage(layer.name, f"{layer.op}_bwd", layer.in_shape[1] * layer.in_shape[2]
                               if len(layer.in_shape) == 3 else 1, _fixed_fill(layer)))
    return fwd + chain + bwd


def stash_depths(net: Network) -> dict[str, int]:
    """Samples in flight between a layer's forward stage and its backward stage in the training
    pipeline: its input (and ReLU mask, pool argmax) must be kept that long. A sample spends one II in
    each stage, so the depth is the number of stages from the forward one to the backward one."""
    order = [(s.layer, s.unit) for s in stages(net, {}, "train") if s.on_path]
    depths = {}
    for name, unit in order:
        if unit in ("fwd",) + FIXED_OPS + ("relu",):
            back = [j for j, (n, u) in enumerate(order) if n == name and u in ("err", "grad", f"{unit}_bwd")]
            if back:
                depths[name] = back[0] - order.index((name, unit)) + 1
    return depths


def transfer_cycles(nbytes: float, bytes_per_cycle: float) -> int:
    return math.ceil(nbytes / bytes_per_cycle)


def readout_cycles(net: Network, bytes_per_cycle: float) -> int:
    """Cycles for every weight and bias gradient to leave the chip as a 32-bit word."""
    return transfer_cycles(sum(l.param_count for l in net.weighted_layers()) * GRAD_OUT_BYTES, bytes_per_cycle)


def epilogue_cycles(net: Network, units: dict[tuple[str, str], LayerFolding], deferred: frozenset, batch: int,
                    bytes_per_cycle: float, bits: int = 8) -> int:
    """Cycles between two training batches: every gradient leaves as a 32-bit word while the deferred
    units compute theirs (``batch * fold`` each, in parallel), then the updated weights come back."""
    readout = readout_cycles(net, bytes_per_cycle)
    compute = max([batch * fold(net.layer(n), units.get((n, "grad"), LayerFolding()), "grad") for n in deferred],
                  default=0)
    weights = sum(l.params["weight"].size * bits / 8 + l.params["bias"].size * BIAS_BYTES
                  for l in net.weighted_layers())
    return max(readout, compute) + transfer_cycles(weights, bytes_per_cycle)


@dataclass(frozen=True)
class Performance:
    ii_cycles: int  # initiation interval of the pipeline
    latency_cycles: int  # one sample through the empty pipeline (training: forward and backward)
    freq_mhz: float
    mode: str = "infer"
    batch: int = 1  # training: samples between two weight updates
    epilogue_cycles: int = 0  # training: per batch, gradients out and weights in

    @property
    def batch_cycles(self) -> int:
        """Training: one batch from its first sample in to its updated weights loaded."""
        return (self.batch - 1) * self.ii_cycles + self.latency_cycles + self.epilogue_cycles

    @property
    def pipeline_samples_per_s(self) -> float:
        """Steady state of the pipeline, f / II (no batch boundaries)."""
        return self.freq_mhz * 1e6 / self.ii_cycles

    @property
    def samples_per_s(self) -> float:
        """Inference: f / II. Training: B samples per batch time, drain and epilogue included."""
        if self.mode != "train":
            return self.pipeline_samples_per_s
        return self.batch * self.freq_mhz * 1e6 / self.batch_cycles

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.freq_mhz


def performance(net: Network, units: dict[tuple[str, str], LayerFolding], freq_mhz: float,
                mode: str = "infer", floor_cycles: int = 0, deferred: frozenset = frozenset(), batch: int = 32,
                bytes_per_cycle: float | None = None, bits: int = 8) -> Performance:
    """II, latency and (training, when ``bytes_per_cycle`` of the DMA is given) the batch epilogue.
    ``floor_cycles`` is a lower bound on II from outside the stages: the DDR traffic of a sample (its
    input, and stashes kept in DDR) at the DMA's bytes per cycle."""
    st = stages(net, units, mode, deferred)
    ii = max([s.cycles for s in st] + [floor_cycles, 1])
    latency = sum(s.fill for s in st if s.on_path) + ii
    if mode != "train":
        return Performance(ii, latency, freq_mhz)
    epi = 0 if bytes_per_cycle is None else epilogue_cycles(net, units, deferred, batch, bytes_per_cycle, bits)
    return Performance(ii, latency, freq_mhz, mode, batch, epi)


def macs_per_sample(net: Network, mode: str = "infer") -> int:
    """MACs one sample costs: forward, or forward + error propagation (not layer 1) + weight gradients."""
    w = net.weighted_layers()
    if mode == "infer":
        return net.macs
    return 3 * net.macs - (w[0].macs if w else 0)


def packed_share(net: Network, mode: str) -> float:
    """Fraction of a sample's MACs that are int8 x int8 (the forward ones): only those can share a DSP
    two to one; errors are 16-bit."""
    return net.macs / max(1, macs_per_sample(net, mode))


def physical_limit(net: Network, board, freq_mhz: float, mode: str, bits: int = 8) -> float:
    """MAC/s of all the board's DSPs at f for this model's MAC mix: a share p of packable MACs at m per
    DSP and the rest at one give ``DSPs * f / (p / m + 1 - p)`` (infer, int8: DSPs * f * m)."""
    m = board.macs_per_dsp if bits <= 8 else 1
    p = packed_share(net, mode)
    return board.resources["dsp"] * freq_mhz * 1e6 / (p / m + 1 - p)
