"""A quantized model as the engine's DDR image: descriptors, packed int8 parameters, activation regions.

Layout of the image (byte offsets from the buffer's base, each region aligned to ``ALIGN``):

    [descriptors: DESC_WORDS x uint32 per step] [parameters: per conv/dense step packed int8 weights, then
    int32 biases; per LRN step its int16 table] [activations: the input, then each step's output]

Weights are packed in the order the engine's weight masters read them: per group, lane block, master
(a share of the lanes), weight vector k = (channel vector, i, j), lane, VEC channels; lanes beyond a group's outputs and channels beyond
its inputs are zero. Activations are int8 in CHW order, so a dense layer reads a flatten's input map as
its vector. Every layer's output stays in DDR (``taps``): training reads them back and rewrites only the
parameter regions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dse.sequential import EngineConfig, Step, ceil_div, plan
from ..errors import HiltError
from ..quant import QModel

ALIGN = 64
DESC_WORDS = 32
OPS = {"conv": 1, "maxpool": 2, "lrn": 3}
FLAG_RELU = 1
FIELDS = ("op", "flags", "c", "h", "w", "o", "ho", "wo", "kh", "kw", "sh", "sw", "pt", "pl", "g", "shift",
          "lut_shift", "lrn_size", "band", "in", "wt", "bias", "out")  # engine.h's Field order


def _align(n: int) -> int:
    return ceil_div(n, ALIGN) * ALIGN


@dataclass
class Region:
    offset: int
    size: int


@dataclass
class Program:
    config: EngineConfig
    steps: list[Step]
    descriptors: np.ndarray  # (steps, DESC_WORDS) uint32
    params: dict[str, Region]  # "<layer>/weight", "<layer>/bias", "<layer>/lut"
    input: Region
    taps: list[tuple[Region, tuple[int, ...]] | None]  # per activation index (golden.run's list)
    act_region: Region  # every activation, read back in one transfer
    size: int
    param_region: Region
    image: np.ndarray = field(repr=False, default=None)  # uint8, the whole DDR image


def pack_weights(w: np.ndarray, groups: int, vec: int, lane: int, parts: int = 1) -> np.ndarray:
    """OIHW integer weights -> the engine's packed int8 order (groups, blocks, parts, kv, LANE / parts, VEC):
    each weight master reads one part of a block, contiguous."""
    o, cg, kh, kw = w.shape
    og, cv, blocks = o // groups, ceil_div(cg, vec), ceil_div(o // groups, lane)
    p = np.zeros((groups, blocks * lane, cv * vec, kh, kw), np.int8)
    p[:, :og, :cg] = w.reshape(groups, og, cg, kh, kw)
    p = p.reshape(groups, blocks, parts, lane // parts, cv, vec, kh, kw).transpose(0, 1, 2, 4, 6, 7, 3, 5)
    return np.ascontiguousarray(p).reshape(-1)


def unpack_weights(packed: np.ndarray, shape, groups: int, vec: int, lane: int, parts: int = 1) -> np.ndarray:
    """The inverse of :func:`pack_weights`: the packed int8 bytes back to OIHW weights of ``shape``."""
    o, cg, kh, kw = shape
    og, cv, blocks = o // groups, ceil_div(cg, vec), ceil_div(o // groups, lane)
    p = np.asarray(packed).view(np.int8).reshape(groups, blocks, parts, cv, kh, kw, lane // parts, vec)
    p = p.transpose(0, 1, 2, 6, 3, 7, 4, 5).reshape(groups, blocks * lane, cv * vec, kh, kw)
    return p[:, :og, :cg].reshape(o, cg, kh, kw).astype(np.int64)


def pack_bias(b: np.ndarray, groups: int, lane: int) -> np.ndarray:
    og = len(b) // groups
    blocks = ceil_div(og, lane)
    p = np.zeros((groups, blocks * lane), "<i4")
    p[:, :og] = b.reshape(groups, og)
    return p.reshape(-1)


def _weights_oihw(q: QModel, s: Step) -> np.ndarray:
    w = q.layers[s.layers[0]].arrays["weight"]
    return w.reshape(w.shape[0], -1, 1, 1) if w.ndim == 2 else w


def _check_ranges(q: QModel) -> None:
    if q.bits != 8:
        raise HiltError(f"the layer-sequential engine computes int8 activations and weights; quantize with "
                        f"--bits 8 (this model has {q.bits})")
    for ql in q.compute_layers():
        for key, (lo, hi) in (("weight", (-128, 127)), ("bias", (-(1 << 31), (1 << 31) - 1)),
                              ("lut", (-(1 << 15), (1 << 15) - 1))):
            a = ql.arrays.get(key)
            if a is not None and a.size and (a.min() < lo or a.max() > hi):
                raise HiltError(f"layer {ql.name}: {key} values outside {lo}..{hi} cannot be packed for the engine")


def param_bytes(q: QModel, s: Step, cfg: EngineConfig) -> dict[str, np.ndarray]:
    """The packed parameter arrays of one step (bytes of each region)."""
    ql = q.layers[s.layers[0]]
    if s.op == "conv":
        return {"weight": pack_weights(_weights_oihw(q, s), s.groups, cfg.vec, cfg.lane, cfg.wports).view(np.uint8),
                "bias": pack_bias(ql.arrays["bias"], s.groups, cfg.lane).view(np.uint8)}
    if s.op == "lrn":
        return {"lut": ql.arrays["lut"].astype("<i2").view(np.uint8)}
    return {}


def build(q: QModel, cfg: EngineConfig = EngineConfig(), fuse_relu: bool = True, with_image: bool = True) -> Program:
    """Plan ``q`` on an engine with ``cfg`` and lay out its DDR image."""
    _check_ranges(q)
    net = q.network
    steps = plan(net, cfg, fuse_relu)
    offset = _align(len(steps) * DESC_WORDS * 4)
    params: dict[str, Region] = {}
    packed: dict[str, np.ndarray] = {}
    param_start = offset
    for s in steps:
        name = net.layers[s.layers[0]].name
        for key, data in param_bytes(q, s, cfg).items():
            params[f"{name}/{key}"] = Region(offset, data.size)
            packed[f"{name}/{key}"] = data
            offset = _align(offset + data.size)
    param_region = Region(param_start, offset - param_start)
    act_start = offset
    n_acts = len(q.compute_layers()) + 1
    taps: list = [None] * n_acts
    shape = tuple(net.input_shape)
    taps[0] = (Region(offset, int(np.prod(shape))), shape)
    offset = _align(offset + int(np.prod(shape)))
    step_of = {s.layers[-1]: s for s in steps}
    for i, layer in enumerate(net.layers[: n_acts - 1]):
        if layer.op == "flatten":  # CHW in DDR: the flattened vector is the map itself
            region = taps[i][0]
            taps[i + 1] = (region, tuple(layer.out_shape))
        elif i in step_of:
            size = int(np.prod(layer.out_shape))
            taps[i + 1] = (Region(offset, size), tuple(layer.out_shape))
            offset = _align(offset + size)
    desc = np.zeros((len(steps), DESC_WORDS), np.uint32)
    for k, s in enumerate(steps):
        first, last = s.layers[0], s.layers[-1]
        src = _source(taps, first)
        ql = q.layers[first]
        name = net.layers[first].name
        values = {"op": OPS[s.op], "flags": FLAG_RELU if s.relu else 0, "c": s.c, "h": s.h, "w": s.w, "o": s.o,
                  "ho": s.ho, "wo": s.wo, "kh": s.kh, "kw": s.kw, "sh": s.sh, "sw": s.sw, "pt": s.pt, "pl": s.pl,
                  "g": s.groups, "shift": ql.shift if s.op in ("conv", "lrn") else 0,
                  "lut_shift": ql.lut_shift if s.op == "lrn" else 0, "lrn_size": s.lrn_size, "band": s.band,
                  "in": src.offset, "wt": params.get(f"{name}/weight", params.get(f"{name}/lut", Region(0, 0))).offset,
                  "bias": params.get(f"{name}/bias", Region(0, 0)).offset, "out": taps[last + 1][0].offset}
        for j, key in enumerate(FIELDS):
            desc[k, j] = np.uint32(int(values[key]) & 0xFFFFFFFF)
    prog = Program(cfg, steps, desc, params, taps[0][0], taps, Region(act_start, offset - act_start), offset,
                   param_region)
    if with_image:
        image = np.zeros(offset, np.uint8)
        image[: desc.size * 4] = desc.astype("<u4").view(np.uint8).reshape(-1)
        for key, data in packed.items():
            image[params[key].offset: params[key].offset + data.size] = data
        prog.image = image
    return prog


def _source(taps: list, layer_index: int):
    """The DDR region a step reads: the activation entering layer ``layer_index``."""
    entry = taps[layer_index]
    if entry is None:
        raise HiltError(f"activation {layer_index} is not stored (fused into the step before)")
    return entry[0]


def read_params(prog: Program, q: QModel, image: np.ndarray) -> QModel:
    """The inverse of :func:`write_params`: a copy of ``q`` with the integer parameters the image holds (what the
    engine computes with)."""
    import copy

    out = copy.copy(q)
    out.layers = [copy.copy(ql) for ql in q.layers]
    cfg = prog.config
    for s in prog.steps:
        ql = out.layers[s.layers[0]]
        name = q.network.layers[s.layers[0]].name

        def region(key: str) -> np.ndarray:
            r = prog.params[f"{name}/{key}"]  # noqa: B023 (used within this iteration)
            return image[r.offset:r.offset + r.size]

        if s.op == "conv":
            w = ql.arrays["weight"]
            oihw = _weights_oihw(q, s).shape
            weight = unpack_weights(region("weight"), oihw, s.groups, cfg.vec, cfg.lane, cfg.wports).reshape(w.shape)
            bias = region("bias").view("<i4").reshape(s.groups, -1)[:, :len(ql.arrays["bias"]) // s.groups]
            ql.arrays = dict(ql.arrays, weight=weight, bias=bias.reshape(-1).astype(np.int64))
        elif s.op == "lrn":
            ql.arrays = dict(ql.arrays, lut=region("lut").view("<i2").astype(np.int64))
    return out


def write_params(prog: Program, q: QModel, image: np.ndarray) -> None:
    """Re-pack ``q``'s integer parameters into ``image`` in place (a training step's reload: only the
    parameter regions change; descriptors and activations stay)."""
    _check_ranges(q)
    net = q.network
    for s in prog.steps:
        name = net.layers[s.layers[0]].name
        for key, data in param_bytes(q, s, prog.config).items():
            r = prog.params[f"{name}/{key}"]
            if data.size != r.size:
                raise HiltError(f"layer {name}: {key} no longer matches the engine program ({data.size} != {r.size})")
            image[r.offset: r.offset + r.size] = data
