"""The overlay folder a PYNQ board loads: bitstream, hardware hand-off, manifest.json, quantized model.

The manifest holds everything the board needs and nothing it must recompute (the overlay contract):
the interface of ``hilt.accel.interface`` at the board's DMA width, the address map the block design
assigned, the clock wizard, the taps and weight blocks of the model (the arguments of
``interface.layout``), the timing sign-off and the plan.

The quantized model travels as ``NAME.qmodel.npz`` in the project's one quantized-model format
(:mod:`hilt.quant.qfile`), compact: integer arrays at their narrowest width (int8 weights for an 8-bit
model, not int32 words), the accumulator-scale biases, LRN tables, and a JSON header with each layer's op,
shapes, attributes and fixed-point formats; no float weights, no ONNX graph, so the board reads it with
numpy alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..quant import qfile

def f_safe_from_manifest(path: str | Path) -> float:
    """The timing-closed frequency an overlay's manifest records (from its Vivado timing report)."""
    from ..validate import finite, mapping, read_json

    hint = "`hilt build` writes DIR/overlay/manifest.json"
    manifest = mapping(read_json(path, "overlay manifest", hint), f"{path}", required=("f_safe_mhz",))
    return finite(manifest["f_safe_mhz"], f"{path}: f_safe_mhz", 0, 10_000, lo_open=True, hint=hint)


def taps_and_blocks(q) -> tuple[list[dict], list[dict]]:
    """The model's taps (input first, logits last) and weight blocks: exactly the arguments of
    ``hilt.accel.interface.layout``, as JSON."""
    net = q.network
    pairs = q.pairs()
    taps = [{"name": "input", "count": int(np.prod(net.input_shape)), "bits": q.bits}]
    taps += [{"name": l.name, "count": int(np.prod(l.out_shape)), "bits": q.bits} for _, l in pairs]
    blocks = []
    bias_bits = 32 if q.acc_bits <= 32 else 64
    for ql, layer in pairs:
        if layer.weighted:
            blocks.append({"name": layer.name, "weights": int(ql.arrays["weight"].size), "weight_bits": q.bits,
                           "biases": int(ql.arrays["bias"].size), "bias_bits": bias_bits})
    return taps, blocks


def manifest(*, name: str, model: str, kind: str, board, freq_mhz: float, timing: dict, interface: dict, ips: dict,
             clock: dict, q, plan, backward: bool, hashes: dict, hls: dict) -> dict:
    taps, blocks = taps_and_blocks(q)
    return {
        "name": name, "model": model, "kind": kind, "board": board.key, "board_name": board.name, "family": board.ps,
        "part": board.part, "pynq_board": board.pynq_board,
        "freq_mhz": freq_mhz, "f_safe_mhz": timing["f_safe_mhz"], "f_safe_source": timing["source"],
        "timing_closed": timing["closed"], "wns_ns": timing["wns_ns"], "tns_ns": timing.get("tns_ns"),
        "bitstream": f"{name}.bit", "hwh": f"{name}.hwh", "qmodel": f"{name}.qmodel.npz",
        "qmodel_format": f"{qfile.FORMAT} v{qfile.VERSION}, compact (see hilt.quant.qfile)",
        "interface": interface, "ips": ips, "clock": clock,
        "taps": taps, "weight_blocks": blocks, "backward": backward,
        "cycles_per_sample": plan.cycles_per_sample, "latency_cycles": plan.latency_cycles, "plan": plan.plan,
        "hls": {"top": hls.get("top"), "modes": hls.get("modes"), "tap_sizes": hls.get("tap_sizes")},
        "hashes": hashes,
    }
