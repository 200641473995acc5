"""Quantized model -> a self-contained HLS project (sources, kernel library, Tcl, testbench, manifest).

Everything textual is rendered from the jinja2 templates in templates/hls; this module only computes
the values: per-layer parameter structs, the weight stream, and the stream layout. Streams carry one
32-bit signed word per value in pixel-major, channel-minor (HWC) order; dense layers that follow a
flatten get their weight columns reordered from ONNX's CHW order to match.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jinja2
import numpy as np

from ..accel import interface
from ..errors import HiltError
from ..ir import Layer
from ..ir.folding import LayerFolding, check_folding, default_folding, folding_to_json
from ..quant import QModel
from ..quant.calibrate import LUT_SIZE
from ..reference import windows as win
from ..reference.layers import lrn_extent
from .streams import backward_plan, beat_bits, bias_bits, forward_depths, layout

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "hls"
LIBRARY = ROOT / "hw" / "hls" / "hilt"
INIT_HEADER_MAX_PARAMS = 1_000_000  # larger models start from MODE_LOAD_WEIGHTS only (a header would be huge)
MODES = {"infer": 0, "train_forward": 1, "backward": 2, "load_weights": 3}
BACKWARD_OPS = ("conv", "dense", "relu", "maxpool", "flatten")


def _c_name(name: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in name)
    return out if out[0].isalpha() else "l_" + out


def _shape(s) -> str:
    return "x".join(map(str, s))


def _window_fields(layer: Layer) -> dict[str, int]:
    c, h, w = layer.in_shape
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = layer.attrs["kernel"], layer.attrs["stride"], layer.attrs["pads"]
    ho, wo = win.out_hw(h, w, layer.attrs)
    hp = max(h + pt + pb, (ho - 1) * sh + kh)
    wp = max(w + pl + pr, (wo - 1) * sw + kw)
    return {"C": c, "H": h, "W": w, "KH": kh, "KW": kw, "SH": sh, "SW": sw, "PT": pt, "PL": pl, "PB": pb, "PR": pr,
            "HP": hp, "WP": wp, "HO": ho, "WO": wo}


def hwc_columns(weight: np.ndarray, in_shape) -> np.ndarray:
    """Dense weight columns from ONNX's flatten order (c, h, w) to the stream's order (h, w, c)."""
    c, h, w = in_shape
    return weight.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def _init_context(q: QModel) -> list[dict]:
    """Initial values for the weights header: the stored integers, dense columns in stream order."""
    out = []
    for ql, layer, src in _weighted(q):
        w = ql.arrays["weight"].reshape(ql.arrays["weight"].shape[0], -1)
        if layer.op == "dense" and src is not None:
            w = hwc_columns(w, src)
        name = _c_name(layer.name)
        out.append({"name": name, "macro": name.upper(), "rows": w.shape[0], "cols": w.shape[1],
                    "hwc": layer.op == "dense" and src is not None, "weight": w.reshape(-1).tolist(),
                    "bias": [f"{int(b)}LL" for b in ql.arrays["bias"]]})
    return out


def weight_arrays(q: QModel) -> list[np.ndarray]:
    """The MODE_LOAD_WEIGHTS sections' values: per conv/dense layer O x K weights (dense columns in stream
    order), then its O biases."""
    parts = []
    for ql, layer, src in _weighted(q):
        w = ql.arrays["weight"].reshape(ql.arrays["weight"].shape[0], -1)
        if layer.op == "dense" and src is not None:
            w = hwc_columns(w, src)
        parts += [w.reshape(-1).astype(np.int64), ql.arrays["bias"].astype(np.int64)]
    return parts


def stream_weights(q: QModel, beat_bits_: int = 128) -> np.ndarray:
    """The MODE_LOAD_WEIGHTS stream as bytes (the interface's sections at ``beat_bits_``-bit beats)."""
    blocks = [interface.WeightBlock(layer.name, int(np.prod(ql.arrays["weight"].shape)), q.bits,
                                    int(ql.arrays["weight"].shape[0]), bias_bits(q.bits)) for ql, layer, _ in _weighted(q)]
    ins, _ = interface.layout(interface.Mode.LOAD_WEIGHTS, [], blocks, 0)
    return interface.pack_sections(ins, weight_arrays(q), beat_bits_)


def _flattened_from(q: QModel) -> list:
    """Per layer: the map shape a dense layer's input was flattened from (None otherwise)."""
    by_name = {layer.name: src for _, layer, src in _weighted(q)}
    return [by_name.get(layer.name) for layer in q.network.layers[: len(q.compute_layers())]]


def _weighted(q: QModel):
    """(QLayer, Layer, CHW shape the dense layer's input was flattened from, or None)."""
    flat_from = None
    out = []
    for ql, layer in zip(q.compute_layers(), q.network.layers):
        if layer.op == "flatten":
            flat_from = layer.in_shape
        if layer.weighted:
            out.append((ql, layer, flat_from if layer.op == "dense" else None))
            flat_from = None
        elif layer.op not in ("flatten", "relu"):
            flat_from = None
    return out


def _layer_context(q: QModel, ql, layer: Layer, folding: dict[str, LayerFolding], cname: str, inp: str,
                   outp: str) -> dict:
    bits, fields, lut, call = q.bits, {}, None, ""
    if layer.weighted:
        f = folding[layer.name]
        rows = layer.params["weight"].shape[0]
        k = int(np.prod(layer.params["weight"].shape[1:]))
        fields = {"O": rows, "G": int(layer.attrs.get("groups", 1)), "K": k, "PE": f.pe, "SIMD": f.simd, "BITS": bits,
                  "ACC_BITS": q.acc_bits, "SHIFT": ql.shift}
        if layer.op == "conv":
            fields = {**_window_fields(layer), **fields}
        call = f"hilt::{layer.op}<{cname}_p, wgt_t>({inp}, {outp}, {cname}_w, {cname}_b)"
    elif layer.op in ("maxpool", "avgpool"):
        fields = _window_fields(layer)
        if layer.op == "avgpool":
            fields.update(INCLUDE_PAD=int(bool(layer.attrs.get("count_include_pad"))), BITS=bits)
        call = f"hilt::{layer.op}<{cname}_p>({inp}, {outp})"
    elif layer.op == "lrn":
        before, after = lrn_extent(layer.attrs["size"])
        c, h, w = layer.in_shape
        fields = {"C": c, "H": h, "W": w, "BEFORE": before, "AFTER": after, "LUT_SHIFT": ql.lut_shift,
                  "LUT_SIZE": LUT_SIZE, "SHIFT": ql.shift, "BITS": bits}
        lut = [int(v) for v in ql.arrays["lut"]]
        call = f"hilt::lrn<{cname}_p>({inp}, {outp}, {cname}_lut)"
    elif layer.op in ("relu", "flatten"):
        fields = {"N": int(np.prod(layer.out_shape))}
        call = f"hilt::{layer.op}<{cname}_p>({inp}, {outp})"
    else:
        raise HiltError(f"layer {layer.name}: no HLS kernel for {layer.op}")
    return {"name": cname, "op": layer.op, "in_shape": _shape(layer.in_shape), "out_shape": _shape(layer.out_shape),
            "onnx_nodes": ", ".join(n for n in layer.onnx_nodes if n) or layer.name, "fields": list(fields.items()),
            "lut": lut, "call": call, "out_size": int(np.prod(layer.out_shape))}


def _backward_context(q: QModel, ctx_layers: list[dict]) -> dict | None:
    """The BP pipeline's steps, last layer first, or None when a layer has no integer backward kernel."""
    from ..golden import error_format

    net = q.network
    layers = q.compute_layers()
    if any(l.op not in BACKWARD_OPS for l in net.layers[: len(layers)]) or q.err_out_fmt is None:
        return None
    steps, structs, used, chain, producers = [], [], set(), [], []
    tap_sizes = [int(np.prod(net.input_shape))] + [c["out_size"] for c in ctx_layers]
    for i in range(len(layers) - 1, -1, -1):
        ql, layer, c = layers[i], net.layers[i], ctx_layers[i]
        n, e_out, e_in = c["name"], f"e{i + 1}", f"e_raw{i}"
        chain.append(e_out)
        fe_out, fe_in = error_format(q, i + 1), error_format(q, i)
        if layer.weighted:
            c["fields"] += [("GRAD_SHIFT", fe_out.frac + ql.in_fmt.frac - ql.grad_fmt.frac),
                            ("BIAS_GRAD_SHIFT", fe_out.frac - ql.bias_grad_fmt.frac)]
            used.add(("x", i))
            grad = f"hilt::{layer.op}_grad<{n}_p>(tx{i}, {{err}}, {n}_g, {n}_gb)"
            if i == 0:
                steps.append(grad.format(err=e_out))
                continue
            shift = fe_out.frac + ql.w_fmt.frac - fe_in.frac
            steps.append(f"hilt::fork<{ctx_layers[i]['name']}_n>({e_out}, ea{i}, eb{i})")
            chain += [f"ea{i}", f"eb{i}"]
            steps.append(grad.format(err=f"ea{i}"))
            if layer.op == "conv":
                o, cg, kh, kw = layer.params["weight"].shape
                g = int(layer.attrs.get("groups", 1))
                c_in, h, w = layer.in_shape
                _, ho, wo = layer.out_shape
                (sh, sw), (pt, pl, _, _) = layer.attrs["stride"], layer.attrs["pads"]
                zt, zl = kh - 1 - pt, kw - 1 - pl
                hz, wz = h + kh - 1, w + kw - 1
                structs.append({"name": f"{n}_z", "fields": [("C", o), ("HO", ho), ("WO", wo), ("SH", sh), ("SW", sw),
                                                             ("ZT", zt), ("ZL", zl), ("HZ", hz), ("WZ", wz)]})
                structs.append({"name": f"{n}_e", "fields": [
                    ("C", o), ("H", hz), ("W", wz), ("KH", kh), ("KW", kw), ("SH", 1), ("SW", 1), ("PT", 0), ("PL", 0),
                    ("HP", hz), ("WP", wz), ("HO", h), ("WO", w), ("O", c_in), ("G", g), ("K", (o // g) * kh * kw),
                    ("PE", 1), ("SIMD", 1), ("BITS", 16), ("ACC_BITS", 48), ("SHIFT", shift)]})
                steps.append(f"hilt::dilate_pad<{n}_z_p>(eb{i}, z{i})")
                chain.append(f"z{i}")
                steps.append(f"hilt::conv<{n}_e_p, wgt_t>(z{i}, {e_in}, {n}_wr, zeros)")
            else:
                rows, cols = layer.params["weight"].shape
                structs.append({"name": f"{n}_t", "fields": [("O", cols), ("G", 1), ("K", rows), ("PE", 1), ("SIMD", 1),
                                                             ("BITS", 16), ("ACC_BITS", 48), ("SHIFT", shift)]})
                steps.append(f"hilt::dense<{n}_t_p, wgt_t>(eb{i}, {e_in}, {n}_wt, zeros)")
        elif layer.op == "relu":
            used.add(("y", i + 1))
            steps.append(f"hilt::relu_bwd<{n}_p>({e_out}, ty{i + 1}, {e_in})")
        elif layer.op == "maxpool":
            used.add(("x", i))
            steps.append(f"hilt::maxpool_bwd<{n}_p>({e_out}, tx{i}, {e_in})")
        else:
            steps.append(f"hilt::flatten<{n}_p>({e_out}, {e_in})")
        chain.append(e_in)
        src = ctx_layers[i - 1]["name"] + "_n" if i > 0 else "in_p"
        if i == 0:  # the error at the image is not sent (interface.layout)
            steps.append(f"hilt::drain<{src}>({e_in})")
            continue
        steps.append(f"hilt::tee<{src}>({e_in}, e{i}, eo{i}, true)")
        producers.append(i)
    # the error units' zero biases: one per output row of the widest error unit
    rows = [dict(st["fields"])["O"] for st in structs if st["name"].endswith(("_e", "_t"))]
    return {"steps": steps, "structs": structs, "chain": chain, "max_rows": max([1] + rows),
            **backward_plan(tap_sizes, used, producers)}


def _stream_context(q: QModel, ctx_layers: list[dict], tap_sizes: list[int], beat: int) -> dict:
    """The top's AXI4-Stream sections (one struct each: N values of BITS bits at the beat width) and the
    forward region's FIFO depths (streams.py says why each is what it is)."""
    weighted = [c for c in ctx_layers if c["op"] in ("conv", "dense")]
    sections = [{"name": f"tap{t}", "n": n, "bits": q.bits} for t, n in enumerate(tap_sizes)]
    sections += [{"name": f"err{t}", "n": n, "bits": interface.ERR_BITS} for t, n in enumerate(tap_sizes)]
    for c in weighted:
        f = dict(c["fields"])
        sections += [{"name": f"{c['name']}_w", "n": f["O"] * f["K"], "bits": q.bits},
                     {"name": f"{c['name']}_b", "n": f["O"], "bits": bias_bits(q.bits)},
                     {"name": f"{c['name']}_gw", "n": f["O"] * f["K"], "bits": interface.GRAD_BITS},
                     {"name": f"{c['name']}_gb", "n": f["O"], "bits": interface.GRAD_BITS}]
    depths = forward_depths(tap_sizes)
    return {"beat_bits": beat, "sections": sections, "fwd_depths": depths, "bias_bits": bias_bits(q.bits),
            "modes": [(m.name, int(m)) for m in interface.Mode], "statuses": [(st.name, int(st)) for st in interface.Status],
            "fifo_depths": {"forward": depths}}


def compile_project(q: QModel, out_dir: str | Path, board=None, freq_mhz: float = 200.0,
                    folding: dict[str, LayerFolding] | None = None, name: str | None = None,
                    source: str = "") -> dict:
    """Write the HLS project for ``q`` into ``out_dir``; returns the manifest."""
    start = time.perf_counter()
    net = q.network
    folding = {**default_folding(net), **(folding or {})}
    check_folding(net, folding)
    name = _c_name(name or net.name)
    layers = q.compute_layers()
    ctx_layers = []
    for i, (ql, layer) in enumerate(zip(layers, net.layers)):
        ctx_layers.append(_layer_context(q, ql, layer, folding, _c_name(layer.name), f"s{i}", f"u{i + 1}"))
    backward = _backward_context(q, ctx_layers)
    init = _init_context(q) if net.param_count <= INIT_HEADER_MAX_PARAMS else None
    tap_sizes = [int(np.prod(net.input_shape))] + [c["out_size"] for c in ctx_layers]
    ctx = {"name": name, "ns": f"{name}_cfg", "guard": name.upper(), "top": f"{name}_top", "source": source or net.name,
           "bits": q.bits, "wgt_type": "int8_t" if q.bits <= 8 else "int16_t", "layers": ctx_layers,
           "weighted": [c for c in ctx_layers if c["op"] in ("conv", "dense")], "input_size": tap_sizes[0],
           "output_size": tap_sizes[-1], "tap_sizes": tap_sizes, "board": getattr(board, "name", "generic"),
           "part": getattr(board, "part", "xczu7ev-ffvc1156-2-e"), "freq_mhz": f"{freq_mhz:g}",
           "period_ns": f"{1000.0 / freq_mhz:.3f}", "dir_name": Path(out_dir).name, "backward": backward,
           "init": init, **_stream_context(q, ctx_layers, tap_sizes, beat_bits(board))}
    if backward:
        ctx["fifo_depths"]["backward"] = {name: depth for name, depth in backward["streams"]}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.part")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "include").mkdir(parents=True)
    files = {f"{name}_params.h": "params.h.j2", f"{name}_top.h": "top.h.j2", f"{name}_top.cpp": "top.cpp.j2",
             "tb.cpp": "tb.cpp.j2", "csynth.tcl": "csynth.tcl.j2", "README.md": "README.md.j2"}
    if init:
        files[f"{name}_weights.h"] = "weights.h.j2"
    for target, template in files.items():
        (tmp / target).write_text(env.get_template(template).render(**ctx))
    shutil.copytree(LIBRARY, tmp / "include" / "hilt")
    stream_weights(q, ctx["beat_bits"]).tofile(tmp / "weights.bin")
    manifest = {"name": name, "top": ctx["top"], "source": ctx["source"], "bits": q.bits, "acc_bits": q.acc_bits,
                "board": ctx["board"], "part": ctx["part"], "freq_mhz": freq_mhz, "modes": MODES,
                "beat_bits": ctx["beat_bits"], "interface": interface.describe(ctx["beat_bits"]),
                "fifo_depths": ctx["fifo_depths"],
                "input": {"shape": list(net.input_shape), "format": q.input_fmt.to_json()},
                "layers": [{"name": l.name, "op": l.op, "in_shape": list(l.in_shape), "out_shape": list(l.out_shape),
                            "out_format": ql.out_fmt.to_json(), "onnx_nodes": list(l.onnx_nodes),
                            **({"weight_shape": list(l.params["weight"].shape),
                                "flattened_from": list(flat) if flat else None} if l.weighted else {})}
                           for ql, l, flat in zip(layers, net.layers, _flattened_from(q))],
                "folding": folding_to_json(folding), "tap_sizes": tap_sizes, "backward": backward is not None,
                "weights_stream": "per conv/dense layer: O x K weights (dense columns in HWC order), then O biases "
                                  f"({bias_bits(q.bits)}-bit), each a section of the interface"}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    manifest["seconds"] = time.perf_counter() - start
    return manifest
