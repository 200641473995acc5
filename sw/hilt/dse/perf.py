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

Latency of one sample through an empty pipeline: in inference, the forward stages walked with each
stage's input at its producer's pixel rate (``stream_latency``, checked against the RTL twin); in
training, the sum of the fills of the stages on its path (forward stages, the loss, the error chain and
the first layer's gradient unit) plus the slowest stage's II. A fill is the cycles from a stage's first
input to its first output: a window needs ``(kh - 1)`` input rows plus ``kw`` pixels; a unit one fold
plus its adder tree and requantizer.

Training runs in batches (the host applies the SGD step between them, docs/numerics.md). The step is
elementwise per parameter, so the boundary is scheduled layer by layer (``batch_schedule``): a layer's
gradients leave (32-bit words, DMA S2MM) as soon as its gradient unit has the batch's last sample, its
updated weights come back (MM2S) as soon as they are out and its units are done with the old batch,
and the next batch starts once the first layer's weights are in, provided every later layer's land
before the next batch's first sample reaches it. A dense layer's gradient unit may be *deferred*: it
stashes the batch's inputs and errors and forms the outer product after the last sample, ``B * fold``
cycles, streaming the gradient out as it goes, instead of keeping 48-bit accumulators of every weight
on chip. These are the numbers the RTL twin checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..ir import Layer, Network
from ..ir.folding import LayerFolding
from ..ir.graph import padded_hw
from ..ops import FIXED_OPS, op_of
from ..plan.hardware import TARGETS, Folding, HardwarePlan, pe_rows, tied_error, unit_kinds, unit_matrix

UnitFolding = Folding  # a unit's folding in the search: pe x simd x ppc (see hilt.plan)
units_of = unit_kinds

PIPELINE_DEPTH = 4  # multiplier, requantize, saturate, output register
UNITS = ("fwd", "err", "grad")
GRAD_OUT_BYTES = 4  # gradients leave the chip as 32-bit words (docs/numerics.md)
BIAS_BYTES = 4  # biases live at accumulator width
WINDOW_PPC = (1, 2, 4)  # input pixels per cycle a first-stage window generator may take


def fold(layer: Layer, f: LayerFolding, unit: str) -> int:
    rows, cols = unit_matrix(layer, unit)
    return (rows // f.pe) * (cols // f.simd)


def ppc_of(f: LayerFolding) -> int:
    return getattr(f, "ppc", 1)


def ppc_choices(layer: Layer, unit: str, first_stage: bool, beat: str = "pixel") -> list[int]:
    """Pixels per cycle a conv's window generator may take. Only where it reads from memory that can
    deliver several pixels a cycle (the first stage, fed by the DMA, and its gradient unit, reading its
    stash), and only where the window floor can bind (more input than output pixels: an unpadded conv);
    elsewhere the stream from the stage before carries one pixel per cycle. ``ppc`` must divide the
    input width (the line buffer is banked by column).

    With one value per beat (``beat="value"``, the generated HLS) ``ppc`` multiplies the generator's
    rate the same way: ``ppc`` values a cycle, which the DMA's beats carry (8 or 16 of them). The
    generator takes a padded row ``ppc`` positions a cycle; ``ppc`` divides an image row's values, so
    no beat straddles two rows. Only the forward unit takes them (the HLS gradient unit is not folded)."""
    if not op_of(layer).windowed or unit == "err" or not first_stage:
        return [1]
    c, h, w = layer.in_shape
    _, ho, wo = layer.out_shape
    if beat == "value":
        if unit != "fwd":
            return [1]
        hp, wp = padded_hw(layer)
        return [p for p in WINDOW_PPC if p == 1 or (hp * wp * c > ho * wo and (w * c) % p == 0)]
    return [p for p in WINDOW_PPC if p == 1 or (h * w > ho * wo and w % p == 0)]


def unit_work(layer: Layer, f: LayerFolding, unit: str = "fwd", beat: str = "pixel") -> tuple[int, int]:
    """(stream cycles, compute cycles) per sample of a unit; it takes the larger of the two.

    Compute: a conv's forward and gradient units produce one output pixel per fold, its error unit one
    input pixel per fold; a dense unit one fold. Stream, with pixel-wide beats (``beat="pixel"``): a
    conv's forward and gradient units slide a window over their input (the gradient unit over the stashed
    one) taking ``ppc`` pixels per cycle, its error unit reads one error pixel per cycle; a dense unit's
    input vector arrives while it computes. With one value per beat (``beat="value"``, the generated HLS):
    a window generator takes one value per cycle over the padded input (``ppc`` values for the first
    stage's, ``ppc_choices``; the error unit over the zero-inserted error map), a dense unit reads its
    input vector first. The generated window generator reads the next row while it emits the windows of
    the current output row: its count is ``generator_steps``, ``max(reads, beats)`` summed over rows."""
    n = fold(layer, f, unit)
    rows, cols = unit_matrix(layer, unit)
    if not op_of(layer).windowed:  # dense
        return (cols if beat == "value" else 0), n
    c, h, w = layer.in_shape
    o, ho, wo = layer.out_shape
    kh, kw = layer.attrs["kernel"]
    if unit == "err":  # a conv over the zero-inserted error map: o channels, stride 1, h x w outputs
        hz, wz = h + kh - 1, w + kw - 1
        return (generator_steps(hz, wz * o, kh, 1, h, w, o * kh * kw // f.simd) if beat == "value" else ho * wo), \
            h * w * n
    if beat == "value":  # the gradient unit's generator emits one window value a beat
        hp, wp = padded_hw(layer)
        lanes = f.simd if unit == "fwd" else 1
        return generator_steps(hp, math.ceil(wp * c / ppc_of(f)), kh, layer.attrs["stride"][0], ho, wo,
                               c * kh * kw // lanes), ho * wo * n
    return math.ceil(h * w / ppc_of(f)), ho * wo * n


@lru_cache(maxsize=None)
def generator_steps(rows: int, groups: int, kh: int, sh: int, ho: int, wo: int, beats: int) -> int:
    """Steps of the generated window generator (hw/hls/hilt/layers.h ``slide``), one a cycle: one loop per
    padded input row and one more, each step reading a group of ``groups`` a row (one value, or ``ppc``)
    and emitting one of the ``beats`` per output pixel of the output row whose ``kh`` rows are complete."""
    total = 0
    for r in range(rows + 1):
        top = r - kh
        emits = wo * beats if top >= 0 and top % sh == 0 and top // sh < ho else 0
        total += max(groups if r < rows else 0, emits)
    return total


def unit_out(layer: Layer, unit: str) -> int:
    """Values a unit writes onto its output stream per sample: the forward unit its output, the error unit
    the error at its input, the gradient unit none (it accumulates in its memory)."""
    return 0 if unit == "grad" else int(np.prod(layer.out_shape if unit == "fwd" else layer.in_shape))


def unit_cycles(layer: Layer, f: LayerFolding, unit: str = "fwd", beat: str = "pixel") -> int:
    """Cycles per sample of a unit: its stream or its compute, whichever is longer (``unit_work``); with
    one value per beat also at least one cycle per output value (the generated unit's output
    serializer, however wide its PE); a dense gradient unit reads its whole input vector (the error
    comes after it), then computes: the sum."""
    if beat == "value" and unit == "grad" and not op_of(layer).windowed:  # reads its vector, then computes
        return sum(unit_work(layer, f, unit, beat))
    cycles = max(unit_work(layer, f, unit, beat))
    return max(cycles, unit_out(layer, unit)) if beat == "value" else cycles


def fixed_cycles(layer: Layer, beat: str = "pixel") -> int:
    """A pool, LRN or unfused ReLU stage: one pixel per cycle, or (one value per beat) one value per
    cycle over the padded map (pools) or the map (ReLU, LRN)."""
    if len(layer.in_shape) != 3:
        return 1 if beat == "pixel" else int(np.prod(layer.in_shape))
    c, h, w = layer.in_shape
    if beat == "pixel":
        return h * w
    if op_of(layer).windowed:  # the window generator, emitting a channel's window value a beat
        hp, wp = padded_hw(layer)
        _, ho, wo = layer.out_shape
        return generator_steps(hp, wp * c, layer.attrs["kernel"][0], layer.attrs["stride"][0], ho, wo, c)
    return c * h * w


def unit_fill(layer: Layer, f: LayerFolding, unit: str) -> int:
    depth = PIPELINE_DEPTH + math.ceil(math.log2(max(1, f.simd)))
    n = fold(layer, f, unit)
    if not op_of(layer).windowed:
        return n + depth
    _, _, w = layer.in_shape if unit != "err" else layer.out_shape
    kh, kw = layer.attrs["kernel"]
    ppc = ppc_of(f)
    return (kh - 1) * w // ppc + math.ceil(kw / ppc) + n + depth


def _fixed_fill(layer: Layer) -> int:
    kh = layer.attrs.get("kernel", (1, 1))[0]
    return (kh - 1) * layer.in_shape[-1] + PIPELINE_DEPTH


def fused_relu(net: Network, i: int) -> bool:
    """A ReLU right after a conv/dense is part of that unit's requantizer (and, backward, a mask)."""
    return op_of(net.layers[i]).fuses and i > 0 and net.layers[i - 1].weighted


def own_stage(net: Network, i: int) -> bool:
    """A weightless layer with a fixed-rate stage of its own: a pool, an LRN, a ReLU not fused."""
    op = op_of(net.layers[i])
    return op.fixed_stage or (op.fuses and not fused_relu(net, i))


def stream_latency(net: Network, units: dict[tuple[str, str], LayerFolding], beat: str = "pixel") -> int:
    """Cycles from a sample's first input beat to its last output through the empty forward pipeline
    (pixel-wide beats), each stage's input arriving at its producer's pixel rate.

    Summing every stage's fill at one input pixel per cycle and adding the II (``stages``' fills, kept
    for training) misses two things: a stage fed by a slow producer waits that producer's pixel period
    for each pixel of its first window (a conv behind a 1 x 1 conv waits 150 cycles per pixel in
    LeNet-5), and the last stage rarely takes a whole II to emit a sample (it ends soon after its
    producer's last pixel). So per windowed stage, with input period ``q`` (cycles per input beat,
    averaged over the producer's output span; 1 from the DMA) and ``n`` compute cycles per output pixel:
    the first output comes ``(window beats - 1) * q + n + depth`` after the producer's first; the last
    either ``n`` per remaining pixel after the first, or after the producer's last pixel once the last
    output row is computed (its ``Wo * n`` overlap the last input row's arrival). A dense unit computes
    its first PE group as its input arrives and the other groups after the last input."""
    first_out, last_out, q = 0.0, 0.0, 1.0  # the image: one beat per cycle from the DMA
    for i, layer in enumerate(net.layers):
        op = op_of(layer)
        if layer.weighted:
            f = units.get((layer.name, "fwd"), LayerFolding())
            n = fold(layer, f, "fwd")
            depth = PIPELINE_DEPTH + math.ceil(math.log2(max(1, f.simd)))
            if not op.windowed:  # dense: one output vector
                rows, cols = unit_matrix(layer, "fwd")
                groups, chunks = rows // f.pe, cols // f.simd
                last_out = max(first_out + n, last_out + (groups - 1) * chunks + 1) + depth
                first_out, q = last_out, 1.0
                continue
            ppc = ppc_of(f)
        elif own_stage(net, i):
            ppc, n, depth = 1, 1, 1
        else:
            continue  # flatten, a fused ReLU: wires
        if len(layer.in_shape) != 3 or not op.windowed:  # an unfused ReLU, LRN: pixel in, pixel out
            first_out, last_out = first_out + n + depth, last_out + n + depth
            continue
        _, h, w = layer.in_shape
        _, ho, wo = layer.out_shape
        (kh, kw), (pt, pl) = layer.attrs["kernel"], layer.attrs["pads"][:2]
        window = max(0, min(kh - 1 - pt, h - 1)) * w + max(1, min(kw - pl, w))  # pixels to the first window's end
        first = first_out + (math.ceil(window / ppc) - 1) * q + n + depth
        tail = max(n, wo * n - max(0, w - kw) * q / ppc)  # the last output row after the last input pixel
        last_out = max(first + (ho * wo - 1) * n, last_out + tail + depth)
        first_out, q = first, (last_out - first) / max(1, ho * wo - 1)
    return math.ceil(last_out) + 1


@dataclass(frozen=True)
class Stage:
    layer: str
    unit: str  # "fwd", "err", "grad", "loss", the op of a fixed-rate stage, or "<op>_bwd"
    cycles: int  # per sample in the pipeline (0: a deferred gradient unit, busy at the batch boundary only)
    fill: int  # cycles from the first input to the first output
    on_path: bool = True  # False: a gradient unit other than the first layer's (a sink off the path)


def stages(net: Network, units: dict[tuple[str, str], LayerFolding], mode: str = "infer",
           deferred: frozenset = frozenset(), beat: str = "pixel") -> list[Stage]:
    """Every stage in pipeline order (forward, then loss and backward in reverse layer order);
    ``units`` maps (layer, unit) to its folding (default 1 x 1), ``deferred`` holds dense layers whose
    gradient is formed at the batch boundary."""
    weighted = net.weighted_layers()
    first = weighted[0].name if weighted else None
    fwd, bwd = [], []
    for i, layer in enumerate(net.layers):
        if layer.weighted:
            f = units.get((layer.name, "fwd"), LayerFolding())
            fwd.append(Stage(layer.name, "fwd", unit_cycles(layer, f, "fwd", beat), unit_fill(layer, f, "fwd")))
        elif own_stage(net, i):
            fwd.append(Stage(layer.name, layer.op, fixed_cycles(layer, beat), _fixed_fill(layer)))
    if mode != "train" or not weighted:
        return fwd
    classes = int(np.prod(net.layers[-1].out_shape))
    chain = [Stage(net.layers[-1].name, "loss", 2 * classes, classes + PIPELINE_DEPTH)]
    for i in reversed(range(len(net.layers))):
        layer = net.layers[i]
        if layer.weighted:
            if layer.name != first:
                g = units.get((layer.name, "grad"), LayerFolding())
                cycles = 0 if layer.name in deferred else unit_cycles(layer, g, "grad", beat)
                bwd.append(Stage(layer.name, "grad", cycles, unit_fill(layer, g, "grad"), on_path=False))
                key = (layer.name, "err")
                e = units.get(key, LayerFolding())
                if tied_error(layer, False, mode):
                    fw = units.get((layer.name, "fwd"), LayerFolding())
                    e = LayerFolding(fw.simd, fw.pe)
                chain.append(Stage(layer.name, "err", unit_cycles(layer, e, "err", beat), unit_fill(layer, e, "err")))
            else:
                g = units.get((layer.name, "grad"), LayerFolding())
                cycles = 0 if layer.name in deferred else unit_cycles(layer, g, "grad", beat)
                chain.append(Stage(layer.name, "grad", cycles, unit_fill(layer, g, "grad")))
                break
        elif own_stage(net, i):
            chain.append(Stage(layer.name, f"{layer.op}_bwd", fixed_cycles(layer, beat), _fixed_fill(layer)))
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


@dataclass(frozen=True)
class Dma:
    """What the parameter exchange can move per PL cycle: each AXI DMA channel one beat (``channel``
    bytes), all of them together at most the DDR's ``ddr`` bytes less ``stream``, the pipeline's own
    DDR traffic (inputs, stashes kept in DDR), which keeps its share throughout."""

    channel: float
    ddr: float = math.inf
    stream: float = 0.0

    def rates(self, demands: dict[str, float]) -> dict[str, float]:
        """Max-min fair split of the DDR between the active channels, each at most its demand."""
        left = max(self.ddr - self.stream, 1e-9)
        rates = {}
        ordered = sorted(demands.items(), key=lambda kv: kv[1])
        for n, (key, demand) in enumerate(ordered):
            rates[key] = min(demand, self.channel, left / (len(ordered) - n))
            left -= rates[key]
        return rates


@dataclass(frozen=True)
class LayerEvents:
    """One weighted layer at a batch boundary, in cycles from the batch's first sample entering the
    pipeline (float: channels sharing the DDR move fractional bytes per cycle)."""

    layer: str
    grad_ready: float  # its gradient unit has the batch's last sample (deferred: starts its outer products)
    grad_out: float  # its last gradient word has left on the S2MM channel
    in_use: float  # its forward and error units are done with the batch's last sample
    loaded: float  # its updated weights are in (MM2S), into the single bank the old batch used
    weights_due: int  # offset at which the next batch's first sample reaches its forward unit
    grads_due: int  # offset at which that sample reaches its gradient unit (accumulators must be free)


@dataclass
class _Job:
    key: str
    rank: int  # forward layer order: the earlier the layer, the earlier it is needed by the next batch
    nbytes: float
    release: float
    max_rate: float = math.inf  # a deferred gradient unit produces its words no faster
    end: float | None = None


def _channel_schedule(out_jobs: list[_Job], in_jobs: dict[str, _Job], in_use: dict[str, float], dma: Dma) -> None:
    """Fluid simulation of the two DMA channels: gradients out on S2MM, weights in on MM2S. Each
    channel serves the released job of the earliest layer (strict priority by forward order, preempted
    at burst granularity: one AXI MCDMA channel per layer); a layer's weights are released once its
    gradients are out and its units are done with the old batch. Fills in every job's ``end``."""
    t = 0.0
    channels = {"out": out_jobs, "in": list(in_jobs.values())}
    done = {id(j): 0.0 for j in out_jobs + channels["in"]}
    while any(j.end is None for jobs in channels.values() for j in jobs):
        active = {}
        for name, jobs in channels.items():
            ready = [j for j in jobs if j.end is None and j.release <= t + 1e-9]
            if ready:
                active[name] = min(ready, key=lambda j: j.rank)
        pending = [j.release for jobs in channels.values() for j in jobs if j.end is None and j.release > t + 1e-9]
        if not active:
            t = min(pending)
            continue
        rates = dma.rates({name: j.max_rate for name, j in active.items()})
        left = {name: (j.nbytes - done[id(j)]) / rates[name] for name, j in active.items()}
        step = min(list(left.values()) + [r - t for r in pending])
        t += step
        for name, j in active.items():
            if left[name] > step * (1 + 1e-12):
                done[id(j)] += rates[name] * step
                continue
            j.end = t
            if name == "out":
                in_jobs[j.key].release = max(t, in_use[j.key])


def _ceil(x: float) -> int:
    return math.ceil(x - 1e-6)


def stage_offsets(st: list[Stage]) -> dict[tuple[str, str], int]:
    """Cycles from a sample entering the pipeline to its first element reaching each stage: the fills
    of the stages before it on the path. A gradient unit off the path takes the same error as its
    layer's error unit."""
    offsets, t = {}, 0
    for s in st:
        if s.on_path:
            offsets[(s.layer, s.unit)] = t
            t += s.fill
    for s in st:
        if not s.on_path:
            offsets[(s.layer, s.unit)] = offsets[(s.layer, "err")]
    return offsets


def batch_schedule(net: Network, st: list[Stage], ii: int, batch: int, dma: Dma,
                   deferred_cycles: dict[str, int], bits: int = 8) -> tuple[int, list[LayerEvents]]:
    """The batch period (first sample of one batch to the first of the next) and each layer's events.

    A sample is done with stage s at ``b * II + offset(s) + fill(s) + II`` (the last stage of the path
    at ``b * II + latency``). Layer L's gradient leaves once its gradient unit has the last sample
    (a deferred unit then forms it, ``deferred_cycles`` = B * fold, streaming it out as it goes); its
    updated weights come back once they are out (the host's SGD step is elementwise; its own time is not
    modelled) and its forward and error units are done with the old batch, into the same bank (one copy:
    no sample of the old batch reads it any more, and none of the new one may read it before). The next
    batch starts at the earliest time at which every layer's weights are in before the first sample
    reaches it and every gradient unit's accumulators are read out before that sample's error does;
    never before the first stage has taken the last sample, B * II."""
    offsets = stage_offsets(st)
    fills = {(s.layer, s.unit): s.fill for s in st}
    last = (batch - 1) * ii
    weighted = net.weighted_layers()
    out_jobs, in_jobs, in_use = [], {}, {}
    for rank, layer in enumerate(weighted):
        name = layer.name
        grad_bytes = layer.param_count * GRAD_OUT_BYTES
        if name in deferred_cycles:  # it only stashed the last sample's error; it computes from now on
            ready = last + offsets[(name, "grad")] + ii
            rate = grad_bytes / deferred_cycles[name]
        else:
            ready = last + offsets[(name, "grad")] + fills[(name, "grad")] + ii
            rate = math.inf
        out_jobs.append(_Job(name, rank, grad_bytes, ready, rate))
        users = [u for u in ("fwd", "err") if (name, u) in offsets]
        in_use[name] = last + max(offsets[(name, u)] + fills[(name, u)] + ii for u in users)
        in_jobs[name] = _Job(name, rank, weight_bytes(layer, bits), math.inf)
    _channel_schedule(out_jobs, in_jobs, in_use, dma)
    events = [LayerEvents(j.key, j.release, j.end, in_use[j.key], in_jobs[j.key].end,
                          offsets[(j.key, "fwd")], offsets[(j.key, "grad")]) for j in out_jobs]
    start = max([batch * ii] + [e.loaded - e.weights_due for e in events] + [e.grad_out - e.grads_due for e in events])
    return _ceil(start), events


def weight_bytes(layer: Layer, bits: int = 8) -> float:
    """What a layer's updated parameters take on the way back: weights at operand width, biases at
    accumulator width."""
    return layer.params["weight"].size * bits / 8 + layer.params["bias"].size * BIAS_BYTES


@dataclass(frozen=True)
class Performance:
    ii_cycles: int  # initiation interval of the pipeline
    latency_cycles: int  # one sample through the empty pipeline (training: forward and backward)
    freq_mhz: float
    mode: str = "infer"
    batch: int = 1  # training: samples between two weight updates
    period_cycles: int = 0  # training: first sample of a batch to the first of the next (0: steady state)
    events: tuple = ()  # training: LayerEvents of the batch boundary

    @property
    def batch_cycles(self) -> int:
        """Training: one batch period, the boundary included."""
        return self.period_cycles or self.batch * self.ii_cycles

    @property
    def boundary_cycles(self) -> int:
        """Training: cycles per batch in which the pipeline takes no new sample (drain and exchange)."""
        return self.batch_cycles - self.batch * self.ii_cycles

    @property
    def pipeline_samples_per_s(self) -> float:
        """Steady state of the pipeline, f / II (no batch boundaries)."""
        return self.freq_mhz * 1e6 / self.ii_cycles

    @property
    def samples_per_s(self) -> float:
        """Inference: f / II. Training: B samples per batch period."""
        if self.mode != "train":
            return self.pipeline_samples_per_s
        return self.batch * self.freq_mhz * 1e6 / self.batch_cycles

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.freq_mhz


def performance(net: Network, units: dict[tuple[str, str], LayerFolding], freq_mhz: float,
                mode: str = "infer", floor_cycles: int = 0, deferred: frozenset = frozenset(), batch: int = 32,
                bytes_per_cycle: float | None = None, bits: int = 8, ddr_bytes_per_cycle: float = math.inf,
                stream_bytes: float = 0.0, beat: str = "pixel") -> Performance:
    """II, latency and (training) the batch period, with DMA channels of ``bytes_per_cycle`` each
    (None: the parameter exchange takes no time) sharing ``ddr_bytes_per_cycle``.
    ``floor_cycles`` is a lower bound on II from outside the stages: the DDR traffic of a sample (its
    input, and stashes kept in DDR, ``stream_bytes``) at the DMA's bytes per cycle."""
    st = stages(net, units, mode, deferred, beat)
    ii = max([s.cycles for s in st] + [floor_cycles, 1])
    if mode != "train":
        return Performance(ii, stream_latency(net, units, beat) if beat == "pixel" else
                           sum(s.fill for s in st) + ii, freq_mhz)
    latency = sum(s.fill for s in st if s.on_path) + ii
    dma = Dma(bytes_per_cycle or math.inf, ddr_bytes_per_cycle, stream_bytes / ii)
    work = {n: batch * fold(net.layer(n), units.get((n, "grad"), LayerFolding()), "grad") for n in deferred}
    period, events = batch_schedule(net, st, ii, batch, dma, work, bits)
    return Performance(ii, latency, freq_mhz, mode, batch, period, tuple(events))


def plan_performance(net: Network, plan: HardwarePlan, floor_cycles: int = 0, bytes_per_cycle: float | None = None,
                     ddr_bytes_per_cycle: float = math.inf, stream_bytes: float = 0.0) -> Performance:
    """``performance`` of a hardware plan: its units, deferred gradients, stream beat, mode, clock, batch
    and operand width all come from the plan; the DMA figures from the board it runs on."""
    return performance(net, plan.units(), plan.freq_mhz, plan.mode, floor_cycles, plan.deferred(), plan.batch,
                       bytes_per_cycle, plan.bits, ddr_bytes_per_cycle, stream_bytes, TARGETS[plan.target].beat)


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
