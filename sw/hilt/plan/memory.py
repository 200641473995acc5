"""The memory plan: every on-chip array of the generated HLS design, with its size, memory and blocks.

One function, :func:`memory_plan`, lists the arrays the generated code declares for a hardware plan
(``HLS`` target): weights and biases, the error units' weight copies, the gradient accumulators (or a
deferred gradient's stash of the batch's inputs and errors), the window generators' line buffers and
windows, the dense units' input vectors, the backward kernels' maps, and the FIFOs deeper than the
Vitis default (the taps). The DSE's resource model sums it (``dse.resources``), the templates render
``BIND_STORAGE`` from it, ``hilt compile`` refuses a design it does not fit on the board, and the
manifest carries it; ``tests/test_memory_plan.py`` counts the arrays the compiled C-sim really declares
and compares them with this list.

Sizes are those of the declarations (``words`` elements of ``width`` bits, the C type's width). The block
count takes the plan's folding into account: a unit's weights or accumulators are ``pe`` banks of
``simd``-wide words (partitioned by PE, reshaped by SIMD), a line buffer ``KH`` banks (one per window
row). Depth-2 FIFOs are shift registers (SRL), not memories, and are not listed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..ir import Layer, Network
from ..ops import op_of
from ..quant.formats import ERR_BITS, GRAD_ACC_BITS
from .hardware import HardwarePlan, UnitPlan, tied_error

BRAM18_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
URAM_SHAPE = (4096, 72)
LUTRAM_MAX_BITS = 4096  # memories up to this size may go to LUTRAM
MEMORY_RESOURCES = ("bram18", "uram", "lut")
DEFAULT_DEPTH = 2  # a FIFO without a declared depth (Vitis' default): a shift register, not a memory
# the C types the generated code stores (hw/hls/hilt/numerics.h): data_t words in the kernels, acc_t biases
DATA_BITS = 32
ACC_T_BITS = 64


def c_name(name: str) -> str:
    """A layer or model name as a C identifier (the generated code's, the RTL twin's module and signal names)."""
    out = "".join(ch if ch.isalnum() else "_" for ch in name)
    return out if out[:1].isalpha() else "l_" + out


def memory_cost(words: int, width: int, storage: str) -> dict[str, int]:
    """Blocks one memory of ``words`` x ``width`` bits takes in the given storage."""
    if words == 0 or width == 0:
        return {}
    if storage == "lutram":
        return {"lut": math.ceil(words * width / 64)}
    if storage == "uram":
        return {"uram": math.ceil(width / URAM_SHAPE[1]) * math.ceil(words / URAM_SHAPE[0])}
    return {"bram18": min(math.ceil(width / w) * math.ceil(words / d) for d, w in BRAM18_SHAPES)}


@dataclass(frozen=True)
class Array:
    """One on-chip array of the generated design."""

    name: str  # the C name: a top-level array (conv1_w), a FIFO (tap1), or struct:array for a kernel's local
    # (the kernel's layer struct without _p: conv1:line, conv2_e:window, conv2_z:e)
    layer: str  # the layer it belongs to ("" for the design's own, e.g. the error units' zero biases)
    unit: str  # fwd, err, grad; "" for what no unit owns (biases, taps, pool line buffers)
    role: str  # weights, biases, error weights, gradients, stash, line buffer, window, vector, map, fifo, rom
    words: int  # elements declared
    width: int  # bits per element (the C type)
    storage: str  # bram, uram or lutram
    banks: int = 1  # separate memories after partitioning (PE, window rows)
    bank_width: int = 0  # bits per memory word after reshaping (SIMD); 0: the element width
    bound: bool = True  # a BIND_STORAGE pragma applies the storage (else the tool's choice: small LUTRAM, else BRAM)

    @property
    def bits(self) -> int:
        return self.words * self.width

    @property
    def blocks(self) -> dict[str, int]:
        width = self.bank_width or self.width
        words = math.ceil(self.words * self.width / (width * self.banks))
        return {k: v * self.banks for k, v in memory_cost(words, width, self.storage).items()}

    def to_json(self) -> dict:
        return {**asdict(self), "bits": self.bits, "blocks": self.blocks}


def auto_storage(bits: int) -> str:
    """What the tool picks for an array without BIND_STORAGE: LUTRAM when small, else BRAM."""
    return "lutram" if bits <= LUTRAM_MAX_BITS else "bram"


def placed(words: int, width: int, board) -> str:
    """A memory the plan places (FIFOs, a stash): LUTRAM when small, else BRAM or URAM, whichever takes the
    smaller share of the board (BRAM without a board or where it has no URAM)."""
    if words * width <= LUTRAM_MAX_BITS:
        return "lutram"
    res = getattr(board, "resources", None)
    if not res or not res.get("uram"):
        return "bram"
    b, u = memory_cost(words, width, "bram")["bram18"], memory_cost(words, width, "uram")["uram"]
    return "uram" if u / res["uram"] < b / res["bram18"] else "bram"


def _local(name: str, layer: str, unit: str, role: str, words: int, width: int = DATA_BITS, banks: int = 1) -> Array:
    return Array(name, layer, unit, role, words, width, auto_storage(words * width // banks), banks, 0, False)


def _window_arrays(struct: str, geometry: tuple, layer: str, unit: str, window: str | None) -> list[Array]:
    """``slide``'s line buffer (KH + 1 rows: KH for the windows, one being read; partitioned by row) over a
    C x (W-wide padded) map, and the window of C x KH x KW values its unit keeps (``window``: its name, the
    MVAU's ``x`` or the gradient unit's ``v``; None for a pool)."""
    c, wp, kh, kw = geometry
    out = [_local(f"{struct}:line", layer, unit, "line buffer", (kh + 1) * wp * c, banks=kh + 1)]
    if window:
        out.append(_local(f"{struct}:{window}", layer, unit, "window", c * kh * kw))
    return out


def _slide_geometry(layer: Layer) -> tuple:
    """(C, WP, KH, KW) of a windowed layer's forward window generator (WP: the padded width with any
    ceil-mode overhang, as the generated struct's WP)."""
    from ..ir.graph import padded_hw

    c = layer.in_shape[0]
    kh, kw = layer.attrs["kernel"]
    return c, padded_hw(layer)[1], kh, kw


def unit_arrays(layer: Layer, unit: UnitPlan, bits: int, tied: bool = False, batch: int = 1,
                board=None) -> list[Array]:
    """The arrays one matrix unit declares: its weights / copy / accumulators (in the plan's storage, pe banks
    of simd-wide words) and its window generator or input vector. A dense forward unit that hosts its tied
    error unit (``tied``) also holds that unit's input vector (the tied unit reads the forward weights: no
    copy); ``batch``: the samples a deferred gradient's stash holds."""
    n, s = layer.name, c_name(layer.name)
    w = layer.params["weight"]
    o = int(w.shape[0])
    k = int(np.prod(w.shape[1:]))
    windowed = op_of(layer).windowed
    out = []
    if unit.kind == "fwd":
        out.append(Array(f"{s}_w", n, "fwd", "weights", o * k, bits, unit.storage, unit.pe, unit.simd * bits))
        if windowed:
            out += _window_arrays(s, _slide_geometry(layer), n, "fwd", "x")
        else:
            out.append(_local(f"{s}:x", n, "fwd", "vector", k))
            if tied:  # the tied error unit's input vector
                out.append(_local(f"{s}_t:x", n, "err", "vector", o))
    elif unit.kind == "err" and windowed:
        c_in, h, wd = layer.in_shape
        _, ho, wo = layer.out_shape
        kh, kw = layer.attrs["kernel"]
        g = int(layer.attrs.get("groups", 1))
        ke = (o // g) * kh * kw
        out.append(Array(f"{s}_wr", n, "err", "error weights", c_in * ke, bits, unit.storage, unit.pe,
                         unit.simd * bits))
        out.append(_local(f"{s}_z:e", n, "err", "map", ho * wo * o))
        out += _window_arrays(f"{s}_e", (o, wd + kw - 1, kh, kw), n, "err", "x")
    elif unit.kind == "grad":
        if unit.storage == "deferred":  # a stash of the batch's inputs and output errors instead of O x K sums
            out.append(Array(f"{s}_xs", n, "grad", "stash", batch * k, bits, placed(batch * k, bits, board)))
            out.append(Array(f"{s}_es", n, "grad", "stash", batch * o, ERR_BITS, placed(batch * o, ERR_BITS, board)))
        else:
            out.append(Array(f"{s}_g", n, "grad", "gradients", o * k, GRAD_ACC_BITS, unit.storage, unit.pe,
                             unit.simd * GRAD_ACC_BITS))
            out.append(Array(f"{s}_gb", n, "grad", "gradients", o, GRAD_ACC_BITS, auto_storage(o * GRAD_ACC_BITS)))
            if windowed:  # conv_grad slides over the stored input with the forward struct
                out += _window_arrays(s, _slide_geometry(layer), n, "grad", "v")
            else:
                out.append(_local(f"{s}:v", n, "grad", "vector", k))
    return out


def backward_taps(net: Network) -> tuple[set, set]:
    """(used, buffered): the forward taps the backward region reads, ("x", i) a layer's input (weighted
    layers, max-pools) or ("y", t) a ReLU's output; and those whose reader takes the whole tap into a
    buffer of its own before any error arrives (a max-pool's map, a dense layer's input vector)."""
    used, buffered = set(), set()
    layers = [l for l in net.layers if l.op != "softmax"]
    for i, layer in enumerate(layers):
        op = op_of(layer)
        tap = ("x", i) if layer.weighted else op.hls_error_step("_", i, "_", "_")[1]
        if tap:
            used.add(tap)
            if op.hls_buffers_tap and tap[0] == "x":
                buffered.add(tap)
    return used, buffered


def forward_depths(tap_sizes: list[int]) -> dict:
    """Depths of the forward region's FIFOs: ``taps[t]`` for tap t (0 .. L-1), ``logits``."""
    return {"taps": [DEFAULT_DEPTH] + list(tap_sizes[1:-1]), "logits": tap_sizes[-1]}


def backward_depths(tap_sizes: list[int], used: set, buffered: set, producers: list[int]) -> list[tuple[str, int]]:
    """(FIFO, depth) of the backward region's taps (tx/ty: whole taps, since the error that starts the chain
    comes after all of them; 2 where the reader buffers the tap itself) and errors out (eo: whole maps but
    the first, since they leave in order): see codegen.streams."""
    last = len(tap_sizes) - 1
    streams = [(f"t{kind}{t}", DEFAULT_DEPTH if (kind, t) in buffered else tap_sizes[t])
               for t in range(last + 1) for kind in ("x", "y") if (kind, t) in used]
    streams += [(f"eo{i}", DEFAULT_DEPTH if n == 0 else tap_sizes[i]) for n, i in enumerate(producers)]
    return streams


def fixed_arrays(net: Network, mode: str, bits: int, board=None) -> list[Array]:
    """The arrays no search choice changes: biases, the pools' and LRN's buffers, the error units' zero
    biases, the backward kernels' maps and every FIFO deeper than two."""
    layers = [l for l in net.layers if l.op != "softmax"]
    tap_sizes = [int(np.prod(net.input_shape))] + [int(np.prod(l.out_shape)) for l in layers]
    out = []
    for i, layer in enumerate(layers):
        n, s = layer.name, c_name(layer.name)
        if layer.weighted:
            o = int(layer.params["weight"].shape[0])
            out.append(Array(f"{s}_b", n, "", "biases", o, ACC_T_BITS, auto_storage(o * ACC_T_BITS)))
        elif op_of(layer).windowed:  # pools: a line buffer, no window
            out += _window_arrays(s, _slide_geometry(layer), n, "", None)
        elif layer.op == "lrn":
            out.append(_local(f"{s}:x", n, "", "vector", layer.in_shape[0]))
        if mode == "train" and not layer.weighted and op_of(layer).hls_buffers_tap:  # max-pool backward: the
            # forward input at its own width, and the error sums
            size = int(np.prod(layer.in_shape))
            out += [_local(f"{s}:map", n, "", "map", size, bits), _local(f"{s}:acc", n, "", "map", size)]
    fifos = []
    depths = forward_depths(tap_sizes)
    fifos += [(f"tap{t}", d, bits) for t, d in enumerate(depths["taps"])]
    fifos.append((f"{c_name(layers[-1].name)}_out", depths["logits"], DATA_BITS))  # the logits, sent last
    if mode == "train":
        conv_err = [int(l.in_shape[0]) for i, l in enumerate(layers) if l.weighted and op_of(l).windowed
                    and i > next(j for j, m in enumerate(layers) if m.weighted)]
        if conv_err:
            rows = max(conv_err)
            out.append(Array("zeros", "", "", "rom", rows, ACC_T_BITS, auto_storage(rows * ACC_T_BITS)))
        producers = list(range(len(layers) - 1, 0, -1))
        for name, depth in backward_depths(tap_sizes, *backward_taps(net), producers):
            fifos.append((name, depth, ERR_BITS if name.startswith("eo") else bits))
    for name, depth, width in fifos:
        if depth > DEFAULT_DEPTH:
            out.append(Array(name, "", "", "fifo", depth, width, placed(depth, width, board)))
    return out


def memory_plan(net: Network, plan: HardwarePlan, board=None) -> list[Array]:
    """Every on-chip array of the design ``plan`` describes, as the generated HLS declares it."""
    weighted = net.weighted_layers()
    first = weighted[0].name if weighted else None
    out = fixed_arrays(net, plan.mode, plan.bits, board)
    for lp in plan.layers:
        layer = net.layer(lp.name)
        for u in lp.units:
            if u.storage != "tied":
                tied = u.kind == "fwd" and tied_error(layer, lp.name == first, plan.mode)
                out += unit_arrays(layer, u, plan.bits, tied, plan.batch, board)
    return out


def totals(arrays: list[Array]) -> dict[str, int]:
    out = {r: 0 for r in MEMORY_RESOURCES}
    for a in arrays:
        for k, v in a.blocks.items():
            out[k] += v
    return out


def overflow(arrays: list[Array], board, cap: float, extra: dict | None = None) -> str | None:
    """None when the arrays (plus ``extra``, e.g. the shell's blocks) fit ``board`` at ``cap``, else a
    phrase naming the resource, how much, and the array that takes most of it."""
    use = totals(arrays)
    for k, v in (extra or {}).items():
        if k in use:
            use[k] += v
    for r in MEMORY_RESOURCES:
        have = board.resources.get(r, 0)
        if use[r] > cap * have:
            worst = max((a for a in arrays if a.blocks.get(r)), key=lambda a: a.blocks[r])
            where = f"layer {worst.layer}'s" if worst.layer else "the"
            return (f"{use[r]:,} {r} of {have:,} (cap {cap:.0%}: {math.floor(cap * have):,}); {where} "
                    f"{worst.role} {worst.name} ({worst.words:,} x {worst.width} bits in {worst.storage}) alone "
                    f"take {worst.blocks[r]:,}")
    return None


def describe(arrays: list[Array], board=None, cap: float | None = None, shell: dict | None = None) -> dict:
    """The manifest's ``memory``: every array, the totals, and, on a board, its capacity and whether the
    design (with the shell's blocks: DMA buffers) fits it at ``cap``."""
    out = {"arrays": [a.to_json() for a in arrays], "totals": totals(arrays), "bits": sum(a.bits for a in arrays)}
    if board is not None and getattr(board, "resources", None):
        out["board"] = {r: board.resources.get(r, 0) for r in MEMORY_RESOURCES}
        out["shell"] = {r: v for r, v in (shell or {}).items() if r in MEMORY_RESOURCES}
        if cap is not None:
            why = overflow(arrays, board, cap, shell)
            out.update(cap=cap, fits=why is None, **({"overflow": why} if why else {}))
    return out
