"""Quantized model + folding -> the RTL twin's per-model top (templates/rtl) beside the kernel library.

This module only computes the values the template lays out: per layer the unit and its parameters,
per tap (the image, then every layer's output) the pixels and bits on the stream, per weighted layer
the MODE_LOAD_WEIGHTS sections. The stream layout is hilt.accel.interface's; the folding is that of the
forward units of the hardware plan the HLS project is generated with (hilt.plan), or a plain folding.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jinja2
import numpy as np

from ..accel import interface as itf
from ..accel import order
from ..accel.order import weight_arrays, weighted_pairs  # noqa: F401 (the twin's load stream)
from ..codegen.project import c_name
from ..errors import HiltError
from ..ir.folding import LayerFolding, check_folding, default_folding, folding_to_json
from ..plan import HardwarePlan
from ..quant import QModel
from ..reference import windows as win

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "rtl"
LIBRARY = ROOT / "hw" / "rtl"
DEFAULT_BEAT = 64


def bias_bits(q: QModel) -> int:
    """Biases travel at 32 bits for 8-bit operands, 64 (the 48-bit accumulator sign-extended) for 16."""
    return 32 if q.acc_bits <= 32 else 64


def _pixel(shape) -> tuple[int, int]:
    """(pixels, values per pixel) of a tensor on a link: a map moves one pixel (all channels) per beat,
    a vector as one beat."""
    return (shape[1] * shape[2], shape[0]) if len(shape) == 3 else (1, int(np.prod(shape)))


def _unit(q: QModel, ql, layer, folding: dict[str, LayerFolding], lanes_in: int) -> dict:
    op, a = layer.op, layer.attrs
    ctx = {"name": c_name(layer.name), "op": op, "in_shape": "x".join(map(str, layer.in_shape)),
           "out_shape": "x".join(map(str, layer.out_shape)),
           "onnx_nodes": ", ".join(n for n in layer.onnx_nodes if n) or layer.name}
    if op in ("conv", "dense"):
        f = folding[layer.name]
        o = layer.params["weight"].shape[0]
        if op == "conv":
            if int(a.get("groups", 1)) != 1:
                raise HiltError(f"layer {layer.name}: the RTL twin has no grouped convolution (groups="
                                f"{a['groups']}); generate the HLS project instead")
            c, h, w = layer.in_shape
            (kh, kw), (sh, sw), (pt, pl, _, _) = a["kernel"], a["stride"], a["pads"]
            ho, wo = win.out_hw(h, w, a)
        else:
            c, h, w, kh, kw, sh, sw, pt, pl, ho, wo = int(np.prod(layer.in_shape)), 1, 1, 1, 1, 1, 1, 0, 0, 1, 1
        if (w * c) % lanes_in:
            raise HiltError(f"layer {layer.name}: the RTL twin's line buffer takes whole beats per row, but a row of "
                            f"{w * c} values is not a multiple of the {lanes_in} values per beat (choose a ppc that "
                            f"divides the width {w})")
        p = {"C": c, "H": h, "W": w, "KH": kh, "KW": kw, "SH": sh, "SW": sw, "PT": pt, "PL": pl, "HO": ho, "WO": wo,
             "O": o, "PE": f.pe, "SIMD": f.simd, "SHIFT": ql.shift, "IN_LANES": lanes_in}
        k = c * kh * kw
        return {**ctx, "kind": "mvu", "p": p, "waddr_bits": max(1, (o * k - 1).bit_length()),
                "baddr_bits": max(1, (o - 1).bit_length())}
    if op == "maxpool":
        (kh, kw), (sh, sw), pads = a["kernel"], a["stride"], a["pads"]
        if not (kh == kw == sh == sw) or any(pads) or a.get("ceil_mode"):
            raise HiltError(f"layer {layer.name}: the RTL twin's max pool needs a square kernel equal to its stride "
                            f"and no padding (got kernel {kh}x{kw}, stride {sh}x{sw}, pads {pads})")
        c, h, w = layer.in_shape
        return {**ctx, "kind": "maxpool", "p": {"C": c, "H": h, "W": w, "K": kh}}
    if op == "relu":
        return {**ctx, "kind": "relu", "lanes": lanes_in}
    if op == "flatten":
        return {**ctx, "kind": "flatten"}
    raise HiltError(f"layer {layer.name}: the RTL twin has no unit for {op} (it has conv, dense, relu, max pool, "
                    f"flatten)")


def plan_folding(plan: HardwarePlan, net) -> tuple[dict[str, LayerFolding], int]:
    """The twin's folding from a hardware plan: its forward units' pe x simd, and the first unit's ppc."""
    weighted = net.weighted_layers()
    fwd = plan.layer(weighted[0].name).unit("fwd") if weighted else None
    return plan.folding(), fwd.ppc if fwd else 1


def context(q: QModel, folding: dict[str, LayerFolding] | HardwarePlan | None = None, beat_bits: int = DEFAULT_BEAT,
            name: str | None = None, source: str = "", ppc: int = 1) -> dict:
    """``folding``: per layer pe x simd, or a hardware plan (its forward units and first ppc; ``ppc`` is then
    ignored). ``ppc``: input pixels the first unit takes per cycle (the DSE's multi-pixel window generator):
    the image moves ``ppc`` pixels per beat of the first link."""
    net = q.network
    if isinstance(folding, HardwarePlan):
        folding, ppc = plan_folding(folding, net)
    folding = {**default_folding(net), **(folding or {})}
    check_folding(net, folding)
    if beat_bits % 8 or beat_bits <= 0:
        raise HiltError(f"beat width {beat_bits} must be a positive multiple of 8")
    layers, taps = [], []
    pixels, lanes = _pixel(net.input_shape)
    if ppc < 1 or pixels % ppc:
        raise HiltError(f"ppc={ppc} must divide the input's {pixels} pixels")
    pixels, lanes = pixels // ppc, lanes * ppc
    taps.append({"pixels": pixels, "lanes": lanes})
    widx = 0
    for ql, layer in zip(q.compute_layers(), net.layers):
        unit = _unit(q, ql, layer, folding, lanes)
        if unit["kind"] == "mvu":
            unit["widx"] = widx
            widx += 1
        layers.append(unit)
        if layer.op != "flatten":  # a flatten keeps the map's pixels: the stream order is already flat
            pixels, lanes = _pixel(layer.out_shape)
        taps.append({"pixels": pixels, "lanes": lanes})
    for t in taps:
        t["pixel_bits"] = t["lanes"] * q.bits
        t["pad"] = -(t["pixels"] * t["pixel_bits"]) % beat_bits
    bb = bias_bits(q)
    weighted = []
    for ql, layer, _ in weighted_pairs(q):
        o = layer.params["weight"].shape[0]
        k = int(np.prod(layer.params["weight"].shape[1:]))
        weighted.append({"wcount": o * k, "wpad": -(o * k * q.bits) % beat_bits, "bcount": o,
                         "bpad": -(o * bb) % beat_bits})
    name = c_name(name or net.name)
    return {"name": name, "top": f"{name}_rtl", "source": source or net.name, "beat": beat_bits, "bits": q.bits,
            "acc_bits": q.acc_bits, "bias_bits": bb, "layers": layers, "taps": taps, "weighted": weighted,
            "in_maxw": max(beat_bits, taps[0]["pixel_bits"], bb), "out_maxw": max(t["pixel_bits"] for t in taps),
            "folding": folding_to_json(folding), "ppc": ppc}


def render(ctx: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=False)
    return env.get_template("top.sv.j2").render(**ctx)


def library_sources() -> list[Path]:
    return sorted(LIBRARY.glob("*.sv"))


def write_rtl(q: QModel, out_dir: str | Path, folding=None, beat_bits: int = DEFAULT_BEAT, name: str | None = None,
              source: str = "", ppc: int = 1) -> dict:
    """Write ``out_dir``: the generated top, a copy of the kernel library and the lint waivers; returns
    the description that goes into the design's manifest (``rtl``)."""
    ctx = context(q, folding, beat_bits, name, source, ppc)
    ppc = ctx["ppc"]
    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.part")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / f"{ctx['top']}.sv").write_text(render(ctx))
    for src in library_sources():
        shutil.copy(src, tmp / src.name)
    shutil.copy(LIBRARY / "lint.vlt", tmp / "lint.vlt")
    info = {"top": ctx["top"], "beat_bits": beat_bits, "folding": ctx["folding"], "ppc": ppc,
            "sources": [f"{ctx['top']}.sv"] + [p.name for p in library_sources()], "waivers": "lint.vlt",
            "interface": itf.describe(beat_bits)}
    (tmp / "rtl.json").write_text(json.dumps(info, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return info


# ---- what travels on the streams (hilt.accel.interface's layout, filled from the model) ----------
def taps_of(q: QModel) -> list[itf.Tensor]:
    net = q.network
    names = ["input"] + [layer.name for layer in net.layers[: len(q.compute_layers())]]
    shapes = [net.input_shape] + [layer.out_shape for layer in net.layers[: len(q.compute_layers())]]
    return [itf.Tensor(n, int(np.prod(s)), q.bits) for n, s in zip(names, shapes)]


def blocks_of(q: QModel) -> list[itf.WeightBlock]:
    out = []
    for ql, layer, _ in weighted_pairs(q):
        o = layer.params["weight"].shape[0]
        out.append(itf.WeightBlock(layer.name, o * int(np.prod(layer.params["weight"].shape[1:])), q.bits, o,
                                   bias_bits(q)))
    return out


def tap_layouts(q: QModel) -> list[tuple[tuple, bool]]:
    """Per tap: the shape its stream is read with and whether it is a flatten's output (hilt.accel.order)."""
    return order.tap_layouts(q.network, len(q.compute_layers()))


def to_stream(a: np.ndarray, shape, flat: bool) -> np.ndarray:
    """One sample's tensor in the model's layout -> stream order (HWC for maps)."""
    return order.tap_to_stream(np.asarray(a)[None], shape, flat)[0]


def from_stream(v: np.ndarray, shape, flat: bool) -> np.ndarray:
    return order.tap_from_stream(np.asarray(v).reshape(1, -1), shape, flat)[0]
