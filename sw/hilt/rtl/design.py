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
from ..dse.boards import packed_macs
from ..errors import HiltError
from ..ir.folding import LayerFolding, check_folding, default_folding, folding_to_json
from ..plan import HardwarePlan
from ..quant import GRAD_ACC_BITS, QModel
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


def _unit(q: QModel, ql, layer, folding: dict[str, LayerFolding], lanes_in: int, pack: int) -> dict:
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
        if c % lanes_in and lanes_in % c:
            raise HiltError(f"layer {layer.name}: the RTL twin's line buffer holds whole beats of one pixel's channels "
                            f"or of whole pixels, but {lanes_in} values per beat neither divide nor are a multiple of "
                            f"its {c} channels")
        p = {"C": c, "H": h, "W": w, "KH": kh, "KW": kw, "SH": sh, "SW": sw, "PT": pt, "PL": pl, "HO": ho, "WO": wo,
             "O": o, "PE": f.pe, "SIMD": f.simd, "SHIFT": ql.shift, "IN_LANES": lanes_in, "PACK": pack}
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


GEOMETRY = ("C", "H", "W", "KH", "KW", "SH", "SW", "PT", "PL", "HO", "WO", "O")


def has_backward(q: QModel) -> bool:
    """The twin gets the backward pipeline exactly when the HLS project does (backward formats calibrated,
    every layer with a BP kernel)."""
    from ..codegen.project import _has_backward

    return _has_backward(q)


def backward_units(net, plan: HardwarePlan | None, folding: dict[str, LayerFolding]) -> dict[tuple[str, str], tuple]:
    """(layer, "err"/"grad") -> (pe, simd) of the backward units: the plan's, else as the HLS project
    fills a plan without them (codegen.project._tied): a dense error unit tied to its forward unit (pe and
    simd swapped), everything else 1 x 1."""
    out = {}
    for j, layer in enumerate(net.weighted_layers()):
        lp = plan.layer(layer.name) if plan is not None else None
        fwd = folding[layer.name]
        for kind in ("err", "grad")[1 if j == 0 else 0:]:  # the first layer's input needs no error
            u = lp.unit(kind) if lp is not None else None
            if u is not None:
                out[(layer.name, kind)] = (u.pe, u.simd)
            elif kind == "err" and layer.op == "dense":
                out[(layer.name, kind)] = (fwd.simd, fwd.pe)
            else:
                out[(layer.name, kind)] = (1, 1)
    return out


def _backward(q: QModel, layers: list[dict], taps: list[dict], units: dict, beat_bits: int) -> dict:
    """The backward region: per layer (last first) its units and parameters, per input section of a
    sample (every tap, then the logits error) its beats (a tap's pixels), bits per beat, padding and
    consumers, and the output sections (per sample the errors at taps L-1 .. 1, after the batch every
    layer's gradients, one 32-bit word per beat). Errors move as the forward taps do: a pixel (or a whole
    vector) per beat, ``taps[t]["lanes"]`` values."""
    from ..golden import error_format

    net, qls = q.network, q.compute_layers()
    n = len(qls)
    lanes = [t["lanes"] for t in taps]
    pixels = [t["pixels"] for t in taps]
    consumers: list[list[str]] = [[] for _ in range(n + 1)]
    chain = []
    for i in range(n - 1, -1, -1):
        ql, layer, u = qls[i], net.layers[i], layers[i]
        d = {"i": i, "name": u["name"], "kind": u["kind"], "op": layer.op}
        fe_out, fe_in = error_format(q, i + 1), error_format(q, i)
        if u["kind"] == "mvu":
            geo = {k: u["p"][k] for k in GEOMETRY}
            pe, simd = units[(layer.name, "grad")]
            d["widx"] = u["widx"]
            d["grad"] = {**geo, "PE": pe, "SIMD": simd, "XL": lanes[i], "EL": lanes[i + 1], "GSHIFT": fe_out.frac + ql.in_fmt.frac - ql.grad_fmt.frac,
                         "BSHIFT": fe_out.frac - ql.bias_grad_fmt.frac}
            d["wk"] = geo["O"] * geo["C"] * geo["KH"] * geo["KW"]
            consumers[i].append(f"g{i}x")
            if i > 0:
                pe, simd = units[(layer.name, "err")]
                d["err"] = {**geo, "PE": pe, "SIMD": simd, "IL": lanes[i + 1], "OL": lanes[i], "SHIFT": fe_out.frac + ql.w_fmt.frac - fe_in.frac}
                d["waddr_bits"] = u["waddr_bits"]
        elif i > 0 and u["kind"] == "relu":
            if lanes[i] != lanes[i + 1]:
                raise HiltError(f"layer {layer.name}: the RTL twin's ReLU backward needs its input and output "
                                f"streamed alike ({lanes[i]} and {lanes[i + 1]} values per beat)")
            consumers[i + 1].append(f"r{i}y")
            d["lanes"] = lanes[i]
        elif i > 0 and u["kind"] == "maxpool":
            consumers[i].append(f"m{i}x")
            d["p"] = u["p"]
        chain.append(d)
    ins = [{"count": p, "bits": l * q.bits, "pad": -(p * l * q.bits) % beat_bits, "consumers": consumers[t]}
           for t, (p, l) in enumerate(zip(pixels, lanes))]
    ins.append({"count": pixels[n], "bits": lanes[n] * itf.ERR_BITS, "pad": -(pixels[n] * lanes[n] * itf.ERR_BITS)
                % beat_bits, "consumers": []})
    outs = [{"kind": "err", "t": t, "count": pixels[t], "bits": lanes[t] * itf.ERR_BITS,
             "last_bits": lanes[t] * itf.ERR_BITS} for t in range(n - 1, 0, -1)]
    per_sample = len(outs)
    words = max(1, beat_bits // itf.GRAD_BITS)  # gradient words per field: a beat's worth
    for d in sorted((d for d in chain if "grad" in d), key=lambda d: d["widx"]):
        d["grad"]["RL"] = words
        for base, count in ((0, d["wk"]), (d["wk"], d["grad"]["O"])):
            outs.append({"kind": "grad", "i": d["i"], "base": base, "count": -(-count // words),
                         "bits": words * itf.GRAD_BITS, "last_bits": (count - 1) % words * itf.GRAD_BITS + itf.GRAD_BITS})
    return {"chain": chain, "ins": ins, "outs": outs, "per_sample": per_sample, "pixels": pixels, "lanes": lanes, "words": words,
            "err_bits": itf.ERR_BITS, "grad_bits": itf.GRAD_BITS, "grad_acc_bits": GRAD_ACC_BITS}


def plan_folding(plan: HardwarePlan, net) -> tuple[dict[str, LayerFolding], int]:
    """The twin's folding from a hardware plan: its forward units' pe x simd, and the first unit's ppc."""
    weighted = net.weighted_layers()
    fwd = plan.layer(weighted[0].name).unit("fwd") if weighted else None
    return plan.folding(), fwd.ppc if fwd else 1


def context(q: QModel, folding: dict[str, LayerFolding] | HardwarePlan | None = None, beat_bits: int = DEFAULT_BEAT,
            name: str | None = None, source: str = "", ppc: int = 1, backward: bool | None = None) -> dict:
    """``backward``: render the backward pipeline (default: when the HLS project has one, ``has_backward``;
    False renders a forward-only twin that answers MODE_BACKWARD with UNSUPPORTED_MODE, as such a project).
    ``folding``: per layer pe x simd, or a hardware plan (its forward units and first ppc; ``ppc`` is then
    ignored). ``ppc``: input pixels the first unit takes per cycle (the DSE's multi-pixel window generator):
    the image moves ``ppc`` pixels per beat of the first link."""
    net = q.network
    plan = folding if isinstance(folding, HardwarePlan) else None
    pack = 1
    if plan is not None:
        folding, ppc = plan_folding(plan, net)
        pack = packed_macs(plan.board, q.bits)
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
        unit = _unit(q, ql, layer, folding, lanes, pack)
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
    if backward is None:
        backward = has_backward(q)
    elif backward and not has_backward(q):
        raise HiltError(f"{net.name}: no backward pipeline (backward formats not calibrated, or a layer without a "
                        f"BP kernel)")
    bunits = backward_units(net, plan, folding) if backward else {}
    bwd = _backward(q, layers, taps, bunits, beat_bits) if backward else None
    out_maxw = max([t["pixel_bits"] for t in taps] + ([o["bits"] for o in bwd["outs"]] if bwd else []))
    in_maxw = max([beat_bits, taps[0]["pixel_bits"], bb] + ([s["bits"] for s in bwd["ins"]] if bwd else []))
    return {"bwd": bwd, "name": name, "top": f"{name}_rtl", "source": source or net.name, "beat": beat_bits, "bits": q.bits,
            "acc_bits": q.acc_bits, "bias_bits": bb, "layers": layers, "taps": taps, "weighted": weighted,
            "in_maxw": in_maxw, "out_maxw": out_maxw,
            "folding": folding_to_json(folding), "ppc": ppc, "pack": pack,
            "backward_units": {f"{n}.{k}": {"pe": pe, "simd": simd} for (n, k), (pe, simd) in bunits.items()}}


def render(ctx: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=False)
    return env.get_template("top.sv.j2").render(**ctx)


def library_sources() -> list[Path]:
    return sorted(LIBRARY.glob("*.sv"))


def write_rtl(q: QModel, out_dir: str | Path, folding=None, beat_bits: int = DEFAULT_BEAT, name: str | None = None,
              source: str = "", ppc: int = 1, backward: bool | None = None) -> dict:
    """Write ``out_dir``: the generated top, a copy of the kernel library and the lint waivers; returns
    the description that goes into the design's manifest (``rtl``)."""
    ctx = context(q, folding, beat_bits, name, source, ppc, backward)
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
    info = {"top": ctx["top"], "beat_bits": beat_bits, "folding": ctx["folding"], "ppc": ppc, "pack": ctx["pack"],
            "sources": [f"{ctx['top']}.sv"] + [p.name for p in library_sources()], "waivers": "lint.vlt",
            "backward": ctx["bwd"] is not None, "backward_units": ctx["backward_units"],
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


def gradient_arrays(q: QModel, grads: dict) -> list[np.ndarray]:
    """MODE_BACKWARD's gradient sections from the golden model's gradients (by layer name): per conv/dense
    layer the O x K weight gradients in the stream's order, then the bias gradients (the load order)."""
    out = []
    for ql, layer, src in weighted_pairs(q):
        out += [order.weight_rows(grads[layer.name]["weight"], src).reshape(-1),
                np.asarray(grads[layer.name]["bias"]).reshape(-1)]
    return out


def tap_layouts(q: QModel) -> list[tuple[tuple, bool]]:
    """Per tap: the shape its stream is read with and whether it is a flatten's output (hilt.accel.order)."""
    return order.tap_layouts(q.network, len(q.compute_layers()))


def to_stream(a: np.ndarray, shape, flat: bool) -> np.ndarray:
    """One sample's tensor in the model's layout -> stream order (HWC for maps)."""
    return order.tap_to_stream(np.asarray(a)[None], shape, flat)[0]


def from_stream(v: np.ndarray, shape, flat: bool) -> np.ndarray:
    return order.tap_from_stream(np.asarray(v).reshape(1, -1), shape, flat)[0]
