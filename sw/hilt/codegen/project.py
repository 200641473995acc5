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
from dataclasses import replace
from pathlib import Path

import jinja2
import numpy as np

from ..accel import interface
from ..accel.interface import Mode
from ..accel.order import hwc_columns, weight_arrays, weight_rows, weighted_pairs  # noqa: F401 (re-exported)
from ..dse.boards import packed_macs
from ..errors import HiltError
from ..ir import Layer
from ..ir.folding import LayerFolding, check_folding, default_folding, folding_to_json
from ..ops import HLS_BACKWARD_OPS, op_of
from ..plan import HLS, HardwarePlan, default_plan
from ..plan.hardware import check_plan
from ..plan.memory import backward_taps, c_name, describe, memory_plan
from ..quant import QModel
from .streams import backward_plan, beat_bits, bias_bits, forward_depths
from ..validate import atomic_dir

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "hls"
LIBRARY = ROOT / "hw" / "hls" / "hilt"
INIT_HEADER_MAX_PARAMS = 1_000_000  # larger models start from MODE_LOAD_WEIGHTS only (a header would be huge)
MODES = {m.name.lower(): int(m) for m in Mode}  # the accelerator interface's modes (hilt.accel.interface)
MODE_DOCS = {"infer": "images in, logits out",
             "train_forward": "images in, every layer's output (taps) out, input first, logits last",
             "backward": "per sample taps + logits error in, errors out (last layer first); then the gradients",
             "load_weights": "weights and biases in, in the manifest's order"}
FIELD_DOCS = {"PE": "plan: output channels in parallel", "SIMD": "plan: inputs per output in parallel",
              "PPC": "plan: input pixels per cycle into the window generator", "WEIGHT_MEMORY": "plan: weight memory",
              "IN_BEAT": "plan: values per beat on the input stream", "OUT_BEAT": "plan: values per output beat",
              "FIFO_DEPTH": "plan: beats of the output FIFO (not yet applied by the top function)",
              "ACC_BITS": "accumulator width (wrapped)", "SHIFT": "requantization shift", "BITS": "output word width",
              "K": "inputs per output (one group's window)", "G": "groups", "O": "outputs",
              "PACK": "plan: multiplies per DSP slice (2: PE rows paired, layers.h mul_pair)"}
MEMORIES = {"bram": 0, "uram": 1, "lutram": 2, "deferred": 3, "tied": 4}  # the plan's memory kinds in params.h
BACKWARD_OPS = HLS_BACKWARD_OPS  # ops with a BP kernel (hilt.ops: hls_backward)


def _shape(s) -> str:
    return "x".join(map(str, s))


def _init_context(q: QModel) -> list[dict]:
    """Initial values for the weights header: the stored integers, dense columns in stream order."""
    out = []
    for ql, layer, src in weighted_pairs(q):
        w = weight_rows(ql.arrays["weight"], src)
        name = c_name(layer.name)
        out.append({"name": name, "macro": name.upper(), "rows": w.shape[0], "cols": w.shape[1],
                    "hwc": src is not None, "weight": w.reshape(-1).tolist(),
                    "bias": [f"{int(b)}LL" for b in ql.arrays["bias"]]})
    return out


def stream_weights(q: QModel, beat_bits_: int = 128) -> np.ndarray:
    """The MODE_LOAD_WEIGHTS stream as bytes (the interface's sections at ``beat_bits_``-bit beats)."""
    blocks = [interface.WeightBlock(layer.name, int(np.prod(ql.arrays["weight"].shape)), q.bits,
                                    int(ql.arrays["weight"].shape[0]), bias_bits(q.bits)) for ql, layer, _ in weighted_pairs(q)]
    ins, _ = interface.layout(interface.Mode.LOAD_WEIGHTS, [], blocks, 0)
    return interface.pack_sections(ins, weight_arrays(q), beat_bits_)


def _flattened_from(q: QModel) -> list:
    """Per layer: the map shape a dense layer's input was flattened from (None otherwise)."""
    by_name = {layer.name: src for _, layer, src in weighted_pairs(q)}
    return [by_name.get(layer.name) for layer in q.network.layers[: len(q.compute_layers())]]


def _layer_context(q: QModel, ql, layer: Layer, plan: HardwarePlan, cname: str, inp: str, outp: str) -> dict:
    op, lp = op_of(layer), plan.layer(layer.name)
    fields = op.hls_fields(q, ql, layer)
    if op.weighted:
        f = lp.unit("fwd")
        fields.update(PE=f.pe, SIMD=f.simd, PPC=f.ppc, WEIGHT_MEMORY=f"MEM_{f.storage.upper()}", BITS=q.bits,
                      ACC_BITS=plan.acc_bits, SHIFT=ql.shift, PACK=packed_macs(plan.board, q.bits))
    lut, call = op.hls_lut(ql), op.hls_call(cname, inp, outp)
    fields.update(IN_BEAT=lp.in_beat, OUT_BEAT=lp.out_beat, FIFO_DEPTH=lp.fifo_depth)
    return {"name": cname, "op": layer.op, "in_shape": _shape(layer.in_shape), "out_shape": _shape(layer.out_shape),
            "onnx_nodes": ", ".join(n for n in layer.onnx_nodes if n) or layer.name, "fields": list(fields.items()),
            "docs": FIELD_DOCS,
            "asserts": _asserts(cname, fields), "lut": lut, "call": call, "out_size": int(np.prod(layer.out_shape)),
            "deferred": layer.name in plan.deferred()}


def _asserts(name: str, fields: dict) -> list[tuple[str, str]]:
    """``static_assert``s of one config struct: the plan's folding fits the layer, and the plan asks for
    nothing the kernels do not build (``HLS`` target)."""
    p = f"{name}_p::"
    out = []
    if "PE" in fields:
        out += [(f"{p}O % {p}G == 0 && ({p}O / {p}G) % {p}PE == 0", f"{name}: PE must divide the outputs per group"),
                (f"{p}K % {p}SIMD == 0", f"{name}: SIMD must divide the inputs per output"),
                (f"{p}ACC_BITS <= 64", f"{name}: accumulators are computed in 64 bits")]
    if "PPC" in fields and "HP" in fields:
        out.append((f"({p}W * {p}C) % {p}PPC == 0", f"{name}: PPC must divide an image row's values"))
    elif "PPC" in fields:
        out.append((f"{p}PPC == 1", f"{name}: only a window generator takes several values per cycle"))
    if "KH" in fields and "O" in fields:
        out.append((f"{p}K == {p}C / {p}G * {p}KH * {p}KW", f"{name}: K is one group's window"))
    if "HP" in fields:
        out += [(f"({p}HO - 1) * {p}SH + {p}KH <= {p}HP", f"{name}: every window row lies in the padded map"),
                (f"({p}WO - 1) * {p}SW + {p}KW <= {p}WP", f"{name}: every window column lies in the padded map")]
    if "IN_BEAT" in fields:
        out.append((f"{p}IN_BEAT == 1 && {p}OUT_BEAT == 1", f"{name}: the kernels stream one value per beat"))
    return out


def _backward_context(q: QModel, ctx_layers: list[dict], plan: HardwarePlan) -> dict | None:
    """The BP pipeline's steps, last layer first, or None when a layer has no integer backward kernel."""
    from ..golden import error_format

    net = q.network
    layers = q.compute_layers()
    steps, structs, chain, producers = [], [], [], []
    tap_sizes = [int(np.prod(net.input_shape))] + [c["out_size"] for c in ctx_layers]
    for i in range(len(layers) - 1, -1, -1):
        ql, layer, c = layers[i], layers[i].layer, ctx_layers[i]
        n, e_out, e_in = c["name"], f"e{i + 1}", f"e_raw{i}"
        chain.append(e_out)
        fe_out, fe_in = error_format(q, i + 1), error_format(q, i)
        if layer.weighted:
            c["fields"] += [("GRAD_SHIFT", fe_out.frac + ql.in_fmt.frac - ql.grad_fmt.frac),
                            ("BIAS_GRAD_SHIFT", fe_out.frac - ql.bias_grad_fmt.frac), ("ERR_BITS", plan.err_bits)]
            grad = f"hilt::{layer.op}_grad<{n}_p>(tx{i}, {{err}}, {n}_g, {n}_gb)"
            if layer.name in plan.deferred():  # the batch's inputs and errors, gradients at the boundary
                grad = f"hilt::dense_grad_deferred<{n}_p, DEFERRED_BATCH>(tx{i}, {{err}}, {n}_xs, {n}_es, sample)"
            if i == 0:
                steps.append(grad.format(err=e_out))
                continue
            shift = fe_out.frac + ql.w_fmt.frac - fe_in.frac
            err = plan.layer(layer.name).unit("err") or _tied(plan.layer(layer.name).unit("fwd"), layer)
            steps.append(f"hilt::fork<{ctx_layers[i]['name']}_n>({e_out}, ea{i}, eb{i})")
            chain += [f"ea{i}", f"eb{i}"] + ([f"z{i}"] if layer.op == "conv" else [])
            steps.append(grad.format(err=f"ea{i}"))
            unit_structs, unit_steps = op_of(layer).hls_error_unit(layer, n, f"eb{i}", e_in, f"z{i}", err, shift,
                                                                   plan.err_bits, plan.grad_acc_bits)
            structs += unit_structs
            steps += unit_steps
        else:
            step, _ = op_of(layer).hls_error_step(n, i, e_out, e_in)
            steps.append(step)
        chain.append(e_in)
        src = ctx_layers[i - 1]["name"] + "_n" if i > 0 else "in_p"
        if i == 0:  # the error at the image is not sent (interface.layout)
            steps.append(f"hilt::drain<{src}>({e_in})")
            continue
        steps.append(f"hilt::tee<{src}>({e_in}, e{i}, eo{i}, true)")
        producers.append(i)
    # the conv error units' zero biases: one per output row of the widest of them (dense ones have none)
    rows = [dict(st["fields"])["O"] for st in structs if st["name"].endswith("_e")]
    return {"steps": steps, "structs": structs, "chain": chain, "max_rows": max([0] + rows),
            **backward_plan(tap_sizes, *backward_taps(net), producers)}


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
            "statuses": [(st.name, int(st)) for st in interface.Status], "fifo_depths": {"forward": depths}}


def _folded_arrays(weighted: list[dict], backward: dict | None) -> list[dict]:
    """The weight matrices a matrix-vector unit reads, each with the config struct whose PE x SIMD it is
    partitioned by: the forward weights (and biases), and the conv error units' rotated copies (_wr)."""
    out = [{"array": f"{c['name']}_w", "bias": f"{c['name']}_b", "p": f"{c['name']}_p"} for c in weighted]
    for st in (backward or {}).get("structs", []):
        if st["name"].endswith("_e"):  # no bias: the conv error units share one zero ROM; a dense layer's
            # tied error unit (_t) reads the forward weights, partitioned for its swapped folding already
            out.append({"array": st["name"][:-2] + "_wr", "bias": None, "p": f"{st['name']}_p"})
    return out


def _tied(fwd, layer: Layer):
    """A unit the plan does not list (an inference plan in a project with a backward pipeline): 1 x 1, or
    a dense layer's error unit tied to its forward unit (pe and simd swapped)."""
    from ..plan import UnitPlan

    return UnitPlan("err", fwd.simd, fwd.pe, 1, "tied") if not op_of(layer).windowed else UnitPlan("err")


def project_plan(q: QModel, board=None, freq_mhz: float = 200.0, folding: dict[str, LayerFolding] | None = None,
                 plan: HardwarePlan | None = None, forward_only: bool = False) -> HardwarePlan:
    """The plan a project is generated from: the given one (checked against the model and against what
    the HLS kernels build), or the HLS plan of ``folding`` (default 1 x 1) with the project's settings.
    The plan's mode decides the backward pipeline: a ``train`` plan gets one where the model has an integer
    backward (else its backward units are dropped), an ``infer`` plan (or ``forward_only``) none."""
    net = q.network
    if plan is None:
        folding = {**default_folding(net), **(folding or {})}
        check_folding(net, folding)
        mode = "train" if design_mode(q) == "train" and not forward_only else "infer"
        return default_plan(net, folding, target=HLS, mode=mode, bits=q.bits, acc_bits=q.acc_bits,
                            freq_mhz=freq_mhz, board=getattr(board, "key", "generic"))
    check_plan(net, plan)
    check_hls_builds(plan, net)
    if plan.bits != q.bits:
        raise HiltError(f"the plan is for {plan.bits}-bit operands, the model is quantized to {q.bits} bits")
    if plan.mode == "train" and (forward_only or design_mode(q) != "train"):
        plan = forward_plan(plan)
    return plan


def forward_plan(plan: HardwarePlan) -> HardwarePlan:
    """The plan without its backward units (an inference or train-forward design)."""
    return replace(plan, mode="infer", layers=tuple(replace(lp, units=tuple(u for u in lp.units if u.kind == "fwd"),
                                                            stash=None) for lp in plan.layers))


def design_mode(q: QModel) -> str:
    """"train" where the generated project can carry the backward pipeline (the model was quantized with error
    formats and every layer has a backward kernel), else "infer"."""
    return "train" if _has_backward(q) else "infer"


def check_hls_builds(plan: HardwarePlan, net=None) -> None:
    """Refuse a plan asking for what the generated HLS does not build (a model-target plan's URAM, a ppc
    the window generator cannot take: ``hilt.dse.perf.ppc_choices`` with value beats)."""
    from ..dse.perf import ppc_choices

    unbuilt = plan.unbuilt(HLS)
    if net is not None and not unbuilt:
        for i, layer in enumerate(net.layers):
            lp = next((lp for lp in plan.layers if lp.name == layer.name), None)
            for u in lp.units if lp else ():
                if u.ppc not in ppc_choices(layer, u.kind, i == 0, HLS.beat):
                    unbuilt.append(f"{lp.name}.{u.kind}: ppc={u.ppc} (the HLS window generator takes "
                                   f"{'/'.join(map(str, ppc_choices(layer, u.kind, i == 0, HLS.beat)))} here)")
    if unbuilt:
        raise HiltError(f"the plan ({plan.target} target) asks for what the generated HLS does not build: "
                        f"{'; '.join(unbuilt[:4])}{' ...' if len(unbuilt) > 4 else ''}; search with "
                        f"`hilt dse --target hls`")


def _has_backward(q: QModel) -> bool:
    return q.err_out_fmt is not None and all(l.op in BACKWARD_OPS for l in q.network.layers[: len(q.compute_layers())])


def _plan_context(net, plan: HardwarePlan) -> dict:
    """What params.h states about the whole plan: widths and the performance model's figures for it."""
    from ..dse.perf import plan_performance, stages

    perf = plan_performance(net, plan)
    return {"target": plan.target, "mode": plan.mode, "fields": [
        ("BITS", plan.bits, "operand width"), ("ACC_BITS", plan.acc_bits, "forward accumulator width"),
        ("ERR_BITS", plan.err_bits, "error width"), ("GRAD_ACC_BITS", plan.grad_acc_bits, "gradient accumulators"),
        ("II_CYCLES", perf.ii_cycles, "performance model: cycles per sample (the slowest stage)"),
        ("LATENCY_CYCLES", perf.latency_cycles, "performance model: one sample through the empty pipeline")],
        "stages": [(s.layer, s.unit, s.cycles) for s in stages(net, plan.units(), plan.mode, plan.deferred(),
                                                               "value")]}


def shell_blocks(board) -> dict:
    """The block memory of the board's shell (DMA buffers), which the design shares the board with."""
    from ..dse.resources import Coefficients

    shell = Coefficients().shell.get(getattr(board, "ps", None), {})
    return {k: v for k, v in shell.items() if k in ("bram18", "uram")}


def _memory_context(arrays: list, board, cap: float | None) -> dict:
    """What the templates render from the memory plan: a BIND_STORAGE per top-level array and per FIFO the
    plan places, and the plan itself for the manifest."""
    bound = [a for a in arrays if a.bound]
    return {"bind": [(a.name, a.storage) for a in bound if a.role != "fifo"],
            "fifo_impl": {a.name: a.storage for a in bound if a.role == "fifo"},
            "memory": describe(arrays, board, cap, shell_blocks(board))}


def compile_project(q: QModel, out_dir: str | Path, board=None, freq_mhz: float = 200.0,
                    folding: dict[str, LayerFolding] | None = None, name: str | None = None,
                    source: str = "", plan: HardwarePlan | None = None, extra=None, forward_only: bool = False,
                    cap: float | None = None) -> dict:
    """Write the HLS project for ``q`` into ``out_dir``; returns the manifest. The hardware comes from
    ``plan`` (a ``hilt dse --target hls`` plan) or, without one, from ``folding`` (forward pe x simd).
    ``extra(folder, manifest)`` writes more into the project before it is moved into place (the RTL twin)
    and returns the manifest fields that describe it. ``forward_only``: no backward pipeline even where the
    model has one; ``cap``: the utilisation cap the manifest's memory plan is stated against."""
    start = time.perf_counter()
    net = q.network
    plan = project_plan(q, board, freq_mhz, folding, plan, forward_only)
    folding = plan.folding()
    name = c_name(name or net.name)
    layers = q.compute_layers()
    ctx_layers = []
    pairs = q.pairs()
    for i, (ql, layer) in enumerate(pairs):  # streams named for what they carry: conv1_in, conv1_out, logits
        cname = c_name(layer.name)
        nxt = c_name(pairs[i + 1][1].name) + "_in" if i + 1 < len(pairs) else "logits"
        ctx = _layer_context(q, ql, layer, plan, cname, f"{cname}_in", f"{cname}_out")
        ctx_layers.append({**ctx, "in_stream": f"{cname}_in", "out_stream": f"{cname}_out", "next_stream": nxt})
    backward = _backward_context(q, ctx_layers, plan) if plan.mode == "train" else None
    arrays = memory_plan(net, plan, board if hasattr(board, "resources") else None)
    init = _init_context(q) if net.param_count <= INIT_HEADER_MAX_PARAMS else None
    tap_sizes = [int(np.prod(net.input_shape))] + [c["out_size"] for c in ctx_layers]
    ctx = {"name": name, "ns": f"{name}_cfg", "guard": name.upper(), "top": f"{name}_top", "source": source or net.name,
           "bits": q.bits, "wgt_type": "int8_t" if q.bits <= 8 else "int16_t", "layers": ctx_layers,
           "weighted": [c for c in ctx_layers if c["op"] in ("conv", "dense")], "input_size": tap_sizes[0],
           "output_size": tap_sizes[-1], "tap_sizes": tap_sizes, "board": getattr(board, "name", "generic"),
           "part": getattr(board, "part", "xczu7ev-ffvc1156-2-e"), "freq_mhz": f"{freq_mhz:g}",
           "period_ns": f"{1000.0 / freq_mhz:.3f}", "dir_name": Path(out_dir).name, "backward": backward,
           "init": init, "modes": [(m.upper(), v, MODE_DOCS[m]) for m, v in MODES.items()],
           "memories": [(m.upper(), v) for m, v in MEMORIES.items()], "plan": _plan_context(net, plan),
           "deferred_batch": plan.batch if plan.deferred() else 0, **_memory_context(arrays, board, cap),
           **_stream_context(q, ctx_layers, tap_sizes, beat_bits(board))}
    ctx["folded"] = _folded_arrays(ctx["weighted"], backward)
    ctx["lanes"] = dict(ctx_layers[0]["fields"]).get("PPC", 1)  # the image's values per beat into the first conv
    if backward:
        ctx["fifo_depths"]["backward"] = {name: depth for name, depth in backward["streams"]}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    with atomic_dir(out_dir) as tmp:  # written beside DIR, renamed into place only when complete
        manifest = _write_project(q, tmp, ctx, env, name, net, layers, folding, plan, tap_sizes, backward, init,
                                  freq_mhz)
        if extra is not None:
            manifest.update(extra(tmp, manifest))
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    manifest["seconds"] = time.perf_counter() - start
    return manifest


def _write_project(q, tmp, ctx, env, name, net, layers, folding, plan, tap_sizes, backward, init,
                   freq_mhz) -> dict:
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
                "folding": folding_to_json(folding), "plan": plan.to_json(), "memory": ctx["memory"],
                "max_backward_samples": ctx["deferred_batch"] or None,  # a deferred gradient's stash (None: any)
                "tap_sizes": tap_sizes, "backward": backward is not None,
                "weights_stream": "per conv/dense layer: O x K weights (dense columns in HWC order), then O biases "
                                  f"({bias_bits(q.bits)}-bit), each a section of the interface"}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    q.save(tmp / "qmodel.npz")
    return manifest
