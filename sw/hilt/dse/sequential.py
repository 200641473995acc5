"""The layer-sequential engine's plan and its performance and resource models (docs/engine.md).

The engine (hw/hls/hilt/engine.h) runs one *step* per descriptor: a conv or dense layer (with a following
ReLU fused when ``fuse_relu``), a max-pool, an LRN, or a ReLU of its own (a 1x1 max-pool with the ReLU
flag). Flatten is free (activations are CHW in DDR) and a final softmax is left to the host. This module
maps a network onto steps, chooses each step's band of rows for the engine's on-chip buffers
(``EngineConfig``), and predicts each step's cycles from the loops of engine.h; the program writer
(``hilt.engine``) reads the same plan, so a reported figure is a property of the descriptors it writes.

Cycles per step, as engine.h's processes run them (one loop iteration per cycle, II = 1):

- conv/dense, per group, band and lane block: ``npix * kv`` MAC cycles (kv = ceil(Cg / VEC) * kh * kw
  vectors per pixel), or the transpose's drain of the block before, ``valid * npix`` cycles, if longer
  (the two overlap: the FIFO between them holds a block); plus, per band, the input tile's burst load,
  one aligned bus word (the HP port's width) per cycle;
- max-pool: the input planes' load (a bus word per cycle), then one window element of VEC channels per
  cycle, ``ceil(C / VEC) * Ho * Wo * kh * kw``, or the output's bytes if more (written one per cycle);
  LRN: the load, then ``size`` channel vectors per VEC outputs, ``ceil(C / VEC) * H * W * size``, or
  the output bytes if more, plus the 1,024-entry table;
- memory: input tiles, weights (once per band and lane block) and biases, and outputs, over the board's
  DDR bandwidth at ``BURST_EFFICIENCY``, and the weights alone over one master's width.

A step takes the larger of compute and memory (roofline) plus ``STEP_OVERHEAD`` cycles (descriptor
fetch, pipeline fills, the region's start and end).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

from ..errors import HiltError
from ..ir import Network

BURST_EFFICIENCY = 0.85  # share of DDR bandwidth long AXI bursts reach (refresh, page misses, turnarounds)
STEP_OVERHEAD = 2000  # cycles per descriptor: fetch, region start/end, pipeline fills
LUT_SIZE = 1024
BRAM18_BITS = 18 * 1024
BRAM18_WIDTH = 36  # widest port of a BRAM18 (512 x 36)
VEC_CHOICES = (4, 8, 16)
LANE_CHOICES = (8, 16, 32, 64, 128)
TILE_CHOICES = (32768, 65536, 131072)
WPORT_CHOICES = (1, 2, 4)  # weight masters: a Zynq PS has four HP ports


@dataclass(frozen=True)
class EngineConfig:
    """Synthesis parameters of one engine bitstream (the HILT_ENGINE_* macros of engine.h)."""

    vec: int = 8
    lane: int = 16
    tile_bytes: int = 65536
    obuf_pix: int = 4096
    wbuf_vecs: int = 512
    port_bytes: int = 16  # an AXI4 master's data width: the board's HP port (dma_width_bits / 8)
    wports: int = 1  # weight masters, each reading LANE / wports lanes' weights

    def defines(self) -> dict[str, int]:
        return {"HILT_ENGINE_VEC": self.vec, "HILT_ENGINE_LANE": self.lane, "HILT_ENGINE_TILE_BYTES": self.tile_bytes,
                "HILT_ENGINE_OBUF_PIX": self.obuf_pix, "HILT_ENGINE_WBUF_VECS": self.wbuf_vecs,
                "HILT_ENGINE_PORT_BYTES": self.port_bytes, "HILT_ENGINE_WPORTS": self.wports}

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Step:
    """One descriptor: ``layers`` are the IR layer indices it computes (a conv and its fused ReLU)."""

    op: str  # conv (conv and dense), maxpool, lrn
    layers: list[int]
    c: int
    h: int
    w: int
    o: int
    ho: int
    wo: int
    kh: int = 1
    kw: int = 1
    sh: int = 1
    sw: int = 1
    pt: int = 0
    pl: int = 0
    groups: int = 1
    relu: bool = False
    lrn_size: int = 0
    band: int = 1
    name: str = ""
    stats: dict = field(default_factory=dict)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def steps(net: Network, fuse_relu: bool = True) -> list[Step]:
    """The engine's steps for ``net`` (shapes only; bands are chosen by ``plan``)."""
    out: list[Step] = []
    layers = net.layers
    i = 0
    while i < len(layers):
        layer = layers[i]
        op, a = layer.op, layer.attrs
        if op in ("conv", "dense"):
            if op == "conv":
                c, h, w = layer.in_shape
                o, ho, wo = layer.out_shape
                (kh, kw), (sh, sw), pads = a["kernel"], a["stride"], a["pads"]
                s = Step("conv", [i], c, h, w, o, ho, wo, kh, kw, sh, sw, pads[0], pads[1], int(a.get("groups", 1)))
            else:
                s = Step("conv", [i], int(layer.in_shape[0]), 1, 1, int(layer.out_shape[0]), 1, 1)
            if fuse_relu and i + 1 < len(layers) and layers[i + 1].op == "relu":
                s.relu = True
                s.layers.append(i + 1)
                i += 1
        elif op == "maxpool":
            c, h, w = layer.in_shape
            _, ho, wo = layer.out_shape
            (kh, kw), (sh, sw), pads = a["kernel"], a["stride"], a["pads"]
            s = Step("maxpool", [i], c, h, w, c, ho, wo, kh, kw, sh, sw, pads[0], pads[1])
        elif op == "relu":  # a 1x1 max-pool with the ReLU flag
            shape = layer.in_shape if len(layer.in_shape) == 3 else (layer.in_shape[0], 1, 1)
            c, h, w = shape
            s = Step("maxpool", [i], c, h, w, c, h, w, relu=True)
        elif op == "lrn":
            c, h, w = layer.in_shape
            s = Step("lrn", [i], c, h, w, c, h, w, lrn_size=int(a["size"]))
        elif op == "flatten" or (op == "softmax" and i == len(layers) - 1):
            i += 1
            continue
        else:
            raise HiltError(f"layer {layer.name}: the layer-sequential engine has no {op} unit "
                            f"(it runs conv, dense, relu, maxpool, lrn, flatten)")
        s.name = "+".join(layers[j].name for j in s.layers)
        out.append(s)
        i += 1
    return out


def _conv_dims(s: Step, cfg: EngineConfig) -> tuple[int, int, int, int]:
    cg, og = s.c // s.groups, s.o // s.groups
    return cg, og, ceil_div(cg, cfg.vec) * s.kh * s.kw, ceil_div(og, cfg.lane)


def odd(n: int) -> int:
    """A channel's stride in the tile (engine.h's odd())."""
    return n | 1


def burst_cycles(n: int, cfg: EngineConfig) -> int:
    """Cycles of one burst of n bytes: aligned bus words, one per cycle (at most one partial word each end)."""
    return ceil_div(n, cfg.port_bytes) + 1


def _rows_in(s: Step, band: int) -> int:
    """The most input rows any band of ``band`` output rows reads."""
    return min(s.h, (band - 1) * s.sh + s.kh)


def choose_band(s: Step, cfg: EngineConfig) -> int:
    """The most output rows per band the engine's buffers hold; HiltError naming the limit if none."""
    if s.op == "maxpool":
        if min(cfg.vec, s.c) * odd(s.h * s.w) > cfg.tile_bytes:
            raise HiltError(f"layer {s.name}: {min(cfg.vec, s.c)} channel planes of {s.h}x{s.w} exceed the engine's "
                            f"{cfg.tile_bytes}-byte input tile; build the engine with a larger tile")
        return s.ho
    if s.op == "lrn":
        band = min(s.h, cfg.tile_bytes // max(1, s.c * s.w))
        while band > 0 and s.c * odd(band * s.w) > cfg.tile_bytes:
            band -= 1
        if band < 1:
            raise HiltError(f"layer {s.name}: one row of {s.c} channels exceeds the engine's input tile")
        return band
    cg, _, kv, _ = _conv_dims(s, cfg)
    if s.ho * s.wo > 1 and kv > cfg.wbuf_vecs:
        raise HiltError(f"layer {s.name}: {kv} weight vectors per lane exceed the engine's weight buffer "
                        f"({cfg.wbuf_vecs}); build the engine with a larger one or a wider VEC")
    for band in range(s.ho, 0, -1):
        if cg * odd(_rows_in(s, band) * s.w) <= cfg.tile_bytes and band * s.wo <= cfg.obuf_pix:
            return band
    raise HiltError(f"layer {s.name}: one output row needs {cg * _rows_in(s, 1) * s.w} input bytes, more than the "
                    f"engine's {cfg.tile_bytes}-byte tile; build the engine with a larger tile")


def band_rows(s: Step, r0: int, r1: int) -> tuple[int, int]:
    """Input rows [lo, hi) of output rows [r0, r1), as engine.h's band_rows."""
    lo = max(0, r0 * s.sh - s.pt)
    hi = min(s.h, (r1 - 1) * s.sh - s.pt + s.kh)
    return lo, hi


def step_stats(s: Step, cfg: EngineConfig) -> dict:
    """Compute cycles and bytes moved of one step, following engine.h's loops."""
    if s.op == "conv":
        cg, og, kv, blocks = _conv_dims(s, cfg)
        compute = in_bytes = w_bytes = 0
        for r0 in range(0, s.ho, s.band):
            r1 = min(s.ho, r0 + s.band)
            npix = (r1 - r0) * s.wo
            lo, hi = band_rows(s, r0, r1)
            load = cg * burst_cycles((hi - lo) * s.w, cfg)
            # the transpose drains a block while the MAC unit computes the next (lv_s is a block deep)
            blocks_cycles = sum(max(npix * kv, min(cfg.lane, og - b * cfg.lane) * npix) for b in range(blocks))
            compute += s.groups * (load + blocks_cycles)
            in_bytes += s.groups * cg * (hi - lo) * s.w
            w_bytes += s.groups * blocks * (kv * cfg.lane * cfg.vec + 4 * cfg.lane)
        macs = s.o * cg * s.kh * s.kw * s.ho * s.wo
        out_bytes = s.o * s.ho * s.wo
    elif s.op == "maxpool":  # per VEC channels: the planes' load, then one window element per cycle; the
        # write unit stores one byte per cycle alongside
        cv = ceil_div(s.c, cfg.vec)
        compute = s.c * burst_cycles(s.h * s.w, cfg) + max(cv * s.ho * s.wo * s.kh * s.kw, cv * cfg.vec * s.ho * s.wo)
        in_bytes, w_bytes, out_bytes, macs = s.c * s.h * s.w, 0, s.c * s.ho * s.wo, 0
    else:  # per band: every channel's rows, then `size` channel vectors per VEC outputs; writes alongside
        cv = ceil_div(s.c, cfg.vec)
        loads = sum(s.c * burst_cycles(min(s.band, s.h - r0) * s.w, cfg) for r0 in range(0, s.h, s.band))
        compute = LUT_SIZE + loads + max(cv * s.h * s.w * s.lrn_size, cv * cfg.vec * s.h * s.w)
        in_bytes, w_bytes, out_bytes, macs = s.c * s.h * s.w, 2 * LUT_SIZE, s.c * s.h * s.w, 0
    return {"compute_cycles": int(compute), "in_bytes": int(in_bytes), "weight_bytes": int(w_bytes),
            "out_bytes": int(out_bytes), "macs": int(macs)}


def plan(net: Network, cfg: EngineConfig, fuse_relu: bool = True) -> list[Step]:
    """Steps with their bands and statistics; HiltError if a layer exceeds the engine's limits."""
    out = steps(net, fuse_relu)
    for s in out:
        s.band = choose_band(s, cfg)
        s.stats = step_stats(s, cfg)
    return out


# ---- performance (roofline per step) ------------------------------------------------------------------
def master_bytes_per_cycle(board) -> float:
    """One AXI4 master's data width (the board's HP port width) in bytes."""
    return board.dma_width_bits / 8


def step_time(s: Step, board, freq_mhz: float, cfg: EngineConfig) -> dict:
    st = s.stats
    ddr = board.ddr_bytes_per_cycle(freq_mhz) * BURST_EFFICIENCY
    total = st["in_bytes"] + st["weight_bytes"] + st["out_bytes"]
    memory = max(total / ddr, st["weight_bytes"] / (master_bytes_per_cycle(board) * cfg.wports))
    cycles = max(st["compute_cycles"], memory) + STEP_OVERHEAD
    return {"step": s.name, "op": s.op, "band": s.band, **st, "memory_cycles": int(math.ceil(memory)),
            "cycles": int(math.ceil(cycles)), "ms": cycles / (freq_mhz * 1e3),
            "bound": "memory" if memory > st["compute_cycles"] else "compute"}


def resources(cfg: EngineConfig, board) -> dict[str, int]:
    """DSP/BRAM18/LUT of the engine: VEC x LANE MACs (two int8 MACs per DSP48E2 on UltraScale+), the
    LRN multiplier; the input tile in max(VEC, port bytes) banks, the output buffer in LANE banks, the weight buffer one
    LANE*VEC-byte word wide. LUTs: adder trees and control (a coarse linear model, docs/engine.md)."""
    macs = cfg.vec * cfg.lane
    dsp = ceil_div(macs, board.macs_per_dsp) + 1
    banks = max(cfg.vec, cfg.port_bytes)  # cyclic by the port's bytes; VEC reads at an odd stride
    tile = banks * ceil_div(cfg.tile_bytes * 8 // banks, BRAM18_BITS)
    obuf = cfg.lane * ceil_div(cfg.obuf_pix * 8, BRAM18_BITS)
    wbuf = ceil_div(cfg.lane * cfg.vec * 8, BRAM18_WIDTH) * ceil_div(cfg.wbuf_vecs, 512)
    lut_rom = cfg.vec  # one copy of the LRN table per channel of a vector
    lv_fifo = ceil_div(cfg.lane * 8, BRAM18_WIDTH) * ceil_div(cfg.obuf_pix, 512)  # the transpose's ping-pong half
    bram = tile + obuf + wbuf + lut_rom + lv_fifo + 4 * (3 + cfg.wports)  # + the masters' burst FIFOs
    lut = 15000 + 40 * macs + 200 * cfg.lane + 3000 * (cfg.wports - 1)  # + an AXI4 master each
    return {"dsp": int(dsp), "bram18": int(bram), "lut": int(lut), "uram": 0, "ff": int(2 * lut)}


def performance(net: Network, board, freq_mhz: float, cfg: EngineConfig, fuse_relu: bool = True) -> dict:
    rows = [step_time(s, board, freq_mhz, cfg) for s in plan(net, cfg, fuse_relu)]
    cycles = sum(r["cycles"] for r in rows)
    return {"config": cfg.to_json(), "steps": rows, "cycles": cycles, "ms": cycles / (freq_mhz * 1e3),
            "resources": resources(cfg, board), "macs": net.macs}


def fits(res: dict, board, cap: float) -> bool:
    return all(res[k] <= cap * board.resources[k] for k in ("dsp", "bram18", "lut"))


def search(net: Network, board, freq_mhz: float, cap: float = 0.8, fuse_relu: bool = True) -> dict:
    """The fastest VEC x LANE x tile x weight masters that fits within ``cap`` of every resource."""
    best, best_key = None, None
    tried = []
    for vec, lane, tile, wports in itertools.product(VEC_CHOICES, LANE_CHOICES, TILE_CHOICES, WPORT_CHOICES):
        cfg = EngineConfig(vec, lane, tile, wbuf_vecs=max(512, _max_kv(net, vec)),
                           port_bytes=board.dma_width_bits // 8, wports=wports)
        res = resources(cfg, board)
        if not fits(res, board, cap):
            continue
        try:
            perf = performance(net, board, freq_mhz, cfg, fuse_relu)
        except HiltError:
            continue
        tried.append({**cfg.to_json(), "ms": perf["ms"], **res})
        # fastest, then fewest DSPs, BRAMs and masters
        key = (round(perf["ms"], 6), res["dsp"], res["bram18"], wports)
        if best is None or key < best_key:
            best, best_key = perf, key
    if best is None:
        raise HiltError(f"no engine configuration fits {board.name} within {cap:.0%} of its resources")
    best["tried"] = tried
    return best


def _max_kv(net: Network, vec: int) -> int:
    """The largest weight-vector count per lane of a conv with more than one output pixel (the weight
    buffer's depth, rounded up to BRAM depth 512)."""
    kv = [ceil_div(s.c // s.groups, vec) * s.kh * s.kw for s in steps(net) if s.op == "conv" and s.ho * s.wo > 1]
    return ceil_div(max(kv, default=1), 512) * 512


def physical_limits(net: Network, board, freq_mhz: float) -> dict:
    """The board's bounds on one image: every DSP busy at f on the model's MACs (compute) and the
    weights of the dense layers read once at the DDR's full bandwidth (memory)."""
    mac_rate = board.resources["dsp"] * board.macs_per_dsp * freq_mhz * 1e6
    dense_bytes = sum(l.params["weight"].size + 4 * l.params["bias"].size for l in net.layers if l.op == "dense")
    return {"compute_ms": net.macs / mac_rate * 1e3, "dense_weights_ms": dense_bytes / (board.ddr_bandwidth_gbps * 1e9) * 1e3,
            "dense_weight_bytes": int(dense_bytes)}


# PipeCNN's published AlexNet figures (Wang et al., PipeCNN, FPT 2017 and the project's README).
PIPECNN = ({"board": "DE5-net (Stratix-V A7)", "ms": 15.0, "mhz": 198.0, "dsp": 247},
           {"board": "DE5a-net (Arria-10 1150)", "ms": 5.0, "mhz": 218.0, "dsp": 683})


# ---- `hilt dse MODEL --engine sequential` ------------------------------------------------------------
def report_lines(net: Network, board, freq_mhz: float, best: dict) -> list[str]:
    """The per-step roofline table, the total, PipeCNN's figures per DSP and the board's limits."""
    from ..commands.common import table

    cfg, res = best["config"], best["resources"]
    rows = [[r["step"], r["op"], str(r["band"]), f"{r['macs'] / 1e6:,.1f}", f"{r['compute_cycles']:,}",
             f"{r['memory_cycles']:,}", r["bound"], f"{r['ms']:.3f}"] for r in best["steps"]]
    rows.append(["total", "", "", f"{net.macs / 1e6:,.1f}", "", "", "", f"{best['ms']:.3f}"])
    lines = [f"{net.name} on the layer-sequential engine, {board.name} at {freq_mhz:g} MHz: VEC {cfg['vec']} x LANE "
             f"{cfg['lane']} ({cfg['vec'] * cfg['lane']} MACs/cycle), {cfg['tile_bytes'] // 1024} KiB input tile, "
             f"{cfg['wports']} weight master{'s' if cfg['wports'] > 1 else ''} of {cfg['port_bytes'] * 8} bits; "
             f"{res['dsp']} DSP, {res['bram18']} BRAM18, {res['lut']:,} LUT",
             table(rows, ["step", "op", "band", "MMAC", "compute cyc", "memory cyc", "bound", "ms"],
                   right={2, 3, 4, 5, 7})]
    gmacs = net.macs / (best["ms"] * 1e-3) / 1e9
    lines.append(f"{best['ms']:.2f} ms per image ({1e3 / best['ms']:.1f} images/s, {gmacs:.1f} GMAC/s, "
                 f"{gmacs * 1e3 / max(1, res['dsp']):.2f} GMAC/s per 1,000 DSP)")
    for p in PIPECNN:
        pg = net.macs / (p["ms"] * 1e-3) / 1e9
        lines.append(f"  PipeCNN on {p['board']}: {p['ms']:g} ms at {p['mhz']:g} MHz with {p['dsp']} DSP "
                     f"({pg * 1e3 / p['dsp']:.2f} GMAC/s per 1,000 DSP); this design is {p['ms'] / best['ms']:.2f}x "
                     f"its speed, {(gmacs / res['dsp']) / (pg / p['dsp']):.2f}x per DSP")
    lim = physical_limits(net, board, freq_mhz)
    lines.append(f"  board limits: all {board.resources['dsp']:,} DSPs at {freq_mhz:g} MHz: {lim['compute_ms']:.2f} ms "
                 f"per image ({lim['compute_ms'] / best['ms']:.0%} of this design's time); the dense weights "
                 f"({lim['dense_weight_bytes'] / 2**20:.1f} MiB) at the full {board.ddr_bandwidth_gbps:g} GB/s DDR: "
                 f"{lim['dense_weights_ms']:.2f} ms")
    return lines


def report_json(net: Network, board, freq_mhz: float, best: dict) -> dict:
    lim = physical_limits(net, board, freq_mhz)
    return {"engine": "sequential", "model": net.name, "board": board.name, "freq_mhz": freq_mhz, **best,
            "limits": lim, "pipecnn": list(PIPECNN)}
