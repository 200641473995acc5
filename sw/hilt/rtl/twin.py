"""Run the RTL twin of a quantized model through the cocotb bench and compare it with the golden model.

``simulate`` builds the twin (cached), sends a sequence of calls through the real AXI interfaces
(load weights, infer, train-forward, optionally a reset in the middle of a transfer and a clean run
after it) and returns per call the bench's checks, the golden comparison (integer ==, on the packed
bytes) and the cycles; ``cycles_per_sample`` turns output-beat times into the measured initiation
interval and latency, next to the DSE performance model's figures for the same folding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import golden
from ..accel import interface as itf
from ..quant import QModel
from . import design, sim

BENCH = "hilt.rtl.bench"


def rtl_sources(rtl_dir: str | Path) -> tuple[list[Path], str, Path | None]:
    """(sources, top, lint waivers) of a folder written by ``design.write_rtl``."""
    rtl_dir = Path(rtl_dir)
    info = json.loads((rtl_dir / "rtl.json").read_text())
    waivers = rtl_dir / info["waivers"] if info.get("waivers") else None
    return [rtl_dir / s for s in info["sources"]], info["top"], waivers


def build(rtl_dir: str | Path) -> Path:
    """The folder's Verilator build: strict for the twin, lenient (``"lint": false`` in rtl.json) for
    exported Verilog."""
    sources, top, waivers = rtl_sources(rtl_dir)
    strict = json.loads((Path(rtl_dir) / "rtl.json").read_text()).get("lint", True)
    return sim.build(sources, top, waivers=waivers, strict=strict)


def _stream(q: QModel, taps: list[np.ndarray], which: list[int]) -> list[np.ndarray]:
    """Per sample, per tap index in ``which``: the values in stream order."""
    layouts = design.tap_layouts(q)
    n = len(taps[which[0]]) if which else 0
    return [design.to_stream(taps[t][s], *layouts[t]) for s in range(n) for t in which]


def _expected(q: QModel, x_int: np.ndarray, labels: np.ndarray | None) -> dict:
    """The golden model's taps, and for MODE_BACKWARD the logits error (the host's softmax - one-hot for
    ``labels``; default seeded random labels) with the errors and gradients it gives."""
    ref = golden.run(q, x_int)
    out = {"taps": ref}
    if design.has_backward(q):
        if labels is None:
            labels = np.random.default_rng(len(x_int)).integers(0, ref[-1].shape[1], len(x_int))
        err = golden.error_at_logits(q, ref[-1], np.asarray(labels))
        out.update(err=err, bp=golden.backward(q, ref, err))
    return out


def _mode_call(q: QModel, name: str, mode: str, x_int: np.ndarray, ref: dict | None, beat_bits: int,
               backward: bool) -> dict:
    """One call in ``mode`` on all of ``x_int`` with the golden model's output bytes (``ref``: None, no
    comparison)."""
    taps_t, blocks = design.taps_of(q), design.blocks_of(q)
    m = itf.Mode[mode.upper()]
    n = len(x_int)
    taps = ref["taps"] if ref is not None else [np.asarray(x_int, np.int64)]
    ins, outs = itf.layout(m, taps_t, blocks, n, backward)
    call = {"name": name, "mode": int(m), "samples": n, "output_beats": itf.total_beats(outs, beat_bits),
            "status": int(itf.Status.OK if m != itf.Mode.BACKWARD or backward else itf.Status.UNSUPPORTED_MODE)}
    if m == itf.Mode.BACKWARD:
        per_in = list(range(len(taps_t)))
        per_out = list(range(len(taps_t) - 2, 0, -1))
        arrays = []
        if ref is not None and backward:
            per = _stream(q, taps, per_in)
            for s in range(n):
                arrays += per[s * len(per_in):(s + 1) * len(per_in)] + [ref["err"][s]]
        expect = None if ref is None else [] if not backward else \
            _stream(q, ref["bp"].errors, per_out) + design.gradient_arrays(q, ref["bp"].grads)
        call["beats_per_sample"] = itf.total_beats(outs[: len(per_out)], beat_bits) if n else 0
    else:
        which = [len(taps_t) - 1] if m == itf.Mode.INFER else list(range(len(taps_t)))
        arrays = _stream(q, taps, [0])
        expect = None if ref is None else _stream(q, taps, which)
        call["beats_per_sample"] = itf.total_beats(outs, beat_bits) // max(1, n)
    call["input"] = itf.pack_sections(ins, arrays, beat_bits).tobytes().hex() if arrays or not ins else ""
    call["expect"] = None if expect is None else itf.pack_sections(outs, expect, beat_bits).tobytes().hex()
    return call


def _load_call(q: QModel, name: str, beat_bits: int) -> dict:
    ins, _ = itf.layout(itf.Mode.LOAD_WEIGHTS, design.taps_of(q), design.blocks_of(q), 0)
    return {"name": name, "mode": int(itf.Mode.LOAD_WEIGHTS), "samples": 0, "output_beats": 0,
            "input": itf.pack_sections(ins, design.weight_arrays(q), beat_bits).tobytes().hex(), "expect": ""}


def calls(q: QModel, x_int: np.ndarray, beat_bits: int, modes=("infer", "train_forward"),
          reset_midway: bool = False, expect: bool = True, backward: bool | None = None,
          labels: np.ndarray | None = None, reload: QModel | None = None, reload_modes=None) -> list[dict]:
    """The bench's calls: load the weights, then each mode on all of ``x_int`` (with the golden model's
    bytes to compare unless ``expect`` is false); with ``reset_midway`` a train-forward call cut by a
    reset after a few input beats comes first. ``backward``: whether the design has the backward pipeline
    (default: as ``design.has_backward``; without it MODE_BACKWARD must answer UNSUPPORTED_MODE and send
    nothing). ``reload``: the same model with other weights, loaded after the modes (MODE_LOAD_WEIGHTS at
    run time), then each of ``reload_modes`` (default ``modes``) again against its golden model
    (``<mode>_after_load``)."""
    backward = design.has_backward(q) if backward is None else backward
    if "backward" in modes and backward and x_int.size == 0:
        raise ValueError("a backward call needs samples")
    out = [_load_call(q, "load_weights", beat_bits)]
    if reset_midway:
        taps_t = design.taps_of(q)
        ins, _ = itf.layout(itf.Mode.TRAIN_FORWARD, taps_t, design.blocks_of(q), len(x_int))
        out.append({"name": "reset_midway", "mode": int(itf.Mode.TRAIN_FORWARD), "samples": len(x_int),
                    "input": itf.pack_sections(ins, _stream(q, [np.asarray(x_int, np.int64)], [0]),
                                               beat_bits).tobytes().hex(),
                    "reset_after_beats": max(1, ins[0].beats(beat_bits) // 2)})
    ref = _expected(q, x_int, labels) if expect else None
    out += [_mode_call(q, mode, mode, x_int, ref, beat_bits, backward) for mode in modes]
    if reload is not None:
        ref = _expected(reload, x_int, labels) if expect else None
        out.append(_load_call(reload, "load_weights_again", beat_bits))
        out += [_mode_call(reload, f"{mode}_after_load", mode, x_int, ref, beat_bits, backward)
                for mode in (modes if reload_modes is None else reload_modes)]
    return out


def simulate(q: QModel, rtl_dir: str | Path, x_int: np.ndarray, modes=("infer", "train_forward"),
             backpressure: bool = True, reset_midway: bool = False, seed: int = 0,
             timeout_cycles: int = 2_000_000, expect: bool = True, labels: np.ndarray | None = None,
             reload: QModel | None = None, reload_modes=None) -> dict:
    """Build and run the bench on ``rtl_dir`` (see ``calls``); modes may include "backward"."""
    rtl_dir = Path(rtl_dir)
    info = json.loads((rtl_dir / "rtl.json").read_text())
    folder = build(rtl_dir)
    job = {"beat_bits": info["beat_bits"], "seed": seed, "backpressure": backpressure,
           "timeout_cycles": timeout_cycles,
           "calls": calls(q, x_int, info["beat_bits"], modes, reset_midway, expect,
                          info.get("backward", False), labels, reload, reload_modes)}
    result = sim.run(folder, info["top"], BENCH, job)
    for call, res in zip(job["calls"], result.get("calls", [])):
        if call.get("beats_per_sample") and res.get("beat_cycles"):
            res.update(cycles_per_sample(res["beat_cycles"], call["beats_per_sample"], call["samples"]))
    result["build"] = str(folder)
    return result


def lint(rtl_dir: str | Path) -> list[str]:
    """``verilator --lint-only -Wall`` of a generated folder with its documented waivers: the warnings."""
    import subprocess

    sources, top, waivers = rtl_sources(rtl_dir)
    sim.tool_env()
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", top] + ([str(waivers)] if waivers else []) + \
        [str(s) for s in sources]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%")]


def decode(q: QModel, output_hex: str, mode: str, samples: int, beat_bits: int) -> list[np.ndarray]:
    """A call's output bytes -> per tap (all taps for train_forward, the logits for infer) an int64
    array (N, ...) in the model's layout."""
    taps_t = design.taps_of(q)
    _, outs = itf.layout(itf.Mode[mode.upper()], taps_t, design.blocks_of(q), samples)
    values = itf.unpack_sections(outs, np.frombuffer(bytes.fromhex(output_hex), np.uint8), beat_bits)
    layouts = design.tap_layouts(q)
    which = [len(taps_t) - 1] if mode == "infer" else list(range(len(taps_t)))
    per = len(which)
    return [np.stack([design.from_stream(values[s * per + j], *layouts[t]) for s in range(samples)])
            for j, t in enumerate(which)]


def cycles_per_sample(beat_cycles: list[int], beats_per_sample: int, samples: int) -> dict:
    """Measured latency (start to a sample's last output beat, first sample) and initiation interval
    (between consecutive samples' last output beats, averaged)."""
    ends = [beat_cycles[(s + 1) * beats_per_sample - 1] for s in range(samples)
            if (s + 1) * beats_per_sample - 1 < len(beat_cycles)]
    if not ends:
        return {}
    ii = (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else None
    return {"latency_cycles": ends[0], "ii_cycles": ii}


def model_units(q: QModel, folding: dict, backward_units: dict | None = None, ppc: int = 1) -> dict:
    """rtl.json's foldings (forward per layer, ``backward_units`` as "layer.err" / "layer.grad") as the
    performance model's units; the first layer's forward and gradient units take ``ppc`` pixels a cycle."""
    from ..dse import perf

    first = q.network.weighted_layers()[0].name
    units = {}
    for name, f in folding.items():
        pe, simd = (f["pe"], f["simd"]) if isinstance(f, dict) else (f.pe, f.simd)
        units[(name, "fwd")] = perf.UnitFolding(pe, simd, ppc if name == first else 1)
    for key, f in (backward_units or {}).items():
        name, kind = key.rsplit(".", 1)
        units[(name, kind)] = perf.UnitFolding(f["pe"], f["simd"], ppc if name == first and kind == "grad" else 1)
    return units


def predicted(q: QModel, folding: dict, ppc: int = 1) -> dict:
    """The DSE performance model's II and latency for the forward pipeline at ``folding``
    (``ppc``: the first unit's input pixels per cycle)."""
    from ..dse import perf

    units = model_units(q, folding, None, ppc)
    st = perf.stages(q.network, units, "infer")
    p = perf.performance(q.network, units, 1.0, "infer")
    return {"ii_cycles": p.ii_cycles, "latency_cycles": p.latency_cycles,
            "stages": {f"{s.layer}.{s.unit}": s.cycles for s in st}}


def predicted_backward(q: QModel, folding: dict, backward_units: dict, ppc: int = 1, beat_bits: int = 128) -> dict:
    """The DSE's figures for MODE_BACKWARD at this folding (``backward_units``: "layer.err" / "layer.grad" ->
    pe, simd, as rtl.json lists them): II and latency from ``dse.backward_mode`` (taps streamed in, tap
    FIFOs one sample deep; ``bound`` names what sets the II), and ``pipeline_ii_cycles``, the slowest
    backward stage of the training pipeline (``perf.stages``), what the mode would reach if the taps never
    waited."""
    from ..dse import perf
    from ..dse.backward_mode import backward_call

    units = model_units(q, folding, backward_units, ppc)
    st = [s for s in perf.stages(q.network, units, "train") if s.unit in ("err", "grad") or s.unit.endswith("_bwd")]
    return {**backward_call(q.network, units, ppc, beat_bits, q.bits),
            "pipeline_ii_cycles": max(s.cycles for s in st), "stages": {f"{s.layer}.{s.unit}": s.cycles for s in st}}
