"""The overlay folder a PYNQ board loads: bitstream, hardware hand-off, manifest.json, quantized model.

The manifest holds everything the board needs and nothing it must recompute (the overlay contract):
the interface of ``hilt.accel.interface`` at the board's DMA width, the address map the block design
assigned, the clock wizard, the taps and weight blocks of the model (the arguments of
``interface.layout``), the timing sign-off and the plan.

The quantized model travels as ``NAME.qmodel.npz``: integer arrays at their narrowest width (int8
weights for an 8-bit model, not int32 words), the accumulator-scale biases, LRN tables, and a JSON
header with each layer's op, shapes, attributes and fixed-point formats. It holds no float weights
and no ONNX graph, so the board reads it with numpy alone (:func:`read_qmodel`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..quant.qmodel import _narrow  # the same narrowing the project's .npz files use

QMODEL_VERSION = 1


def _jsonable(value):
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_qmodel(q, path: str | Path) -> None:
    """The integer model as one numpy archive with a JSON header (no ONNX, no float weights)."""
    net = q.network
    layers = []
    for ql in q.layers:  # every layer, a final softmax included (each QLayer refers to its IR layer)
        layer = ql.layer
        layers.append({**ql.header(), "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape),
                       "attrs": _jsonable(layer.attrs), "arrays": sorted(ql.arrays)})
    header = {"version": QMODEL_VERSION, "name": net.name, "input_name": net.input_name, "bits": q.bits,
              "acc_bits": q.acc_bits,
              "input_shape": list(net.input_shape), "input_format": q.input_fmt.to_json(),
              "err_out_fmt": q.err_out_fmt.to_json() if q.err_out_fmt else None, "layers": layers}
    arrays = {f"{i}/{k}": _narrow(np.asarray(v)) for i, ql in enumerate(q.layers) for k, v in ql.arrays.items()}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def read_qmodel(path: str | Path) -> tuple[dict, list[dict[str, np.ndarray]]]:
    """(header, per-layer arrays as int64) of a file written by :func:`write_qmodel`; numpy only."""
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(bytes(z["header"]).decode())
        arrays = [{k: z[f"{i}/{k}"].astype(np.int64) for k in layer["arrays"]}
                  for i, layer in enumerate(header["layers"])]
    return header, arrays


def f_safe_from_manifest(path: str | Path) -> float:
    """The timing-closed frequency an overlay's manifest records (from its Vivado timing report)."""
    from ..validate import finite, mapping, read_json

    hint = "`hilt build` writes DIR/overlay/manifest.json"
    manifest = mapping(read_json(path, "overlay manifest", hint), f"{path}", required=("f_safe_mhz",))
    return finite(manifest["f_safe_mhz"], f"{path}: f_safe_mhz", 0, 10_000, lo_open=True, hint=hint)


def _tuples(value):
    """JSON lists back to the tuples the IR keeps in layer attributes."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def load_qmodel(path: str | Path):
    """A :class:`hilt.quant.QModel` from a file written by :func:`write_qmodel`, without ONNX: the network is
    rebuilt from the header, its float parameters are the integer ones scaled by their formats (the values
    the chip computes with, which re-quantize to the same integers), so the golden model and the host
    training loop run on the board from this file alone."""
    from ..ir import Layer, Network
    from ..quant import QModel
    from ..quant.formats import Format
    from ..quant.qmodel import QLayer

    header, arrays = read_qmodel(path)
    layers, qlayers = [], []
    for h, arr in zip(header["layers"], arrays):
        fields = {k: h[k] for k in ("name", "op", "shift", "lut_shift") if k in h}
        fields.update({k: v for k, v in h.items() if k.endswith("_fmt")})
        ql = QLayer.from_header(fields, arr)
        params = {}
        if "weight" in arr:
            params["weight"] = (arr["weight"] * 2.0 ** -ql.w_fmt.frac).astype(np.float32)
            params["bias"] = (arr["bias"] * 2.0 ** -(ql.in_fmt.frac + ql.w_fmt.frac)).astype(np.float32)
        layers.append(Layer(h["name"], h["op"], tuple(h["in_shape"]), tuple(h["out_shape"]), _tuples(h["attrs"]),
                            params))
        qlayers.append(ql)
    net = Network(header["name"], header.get("input_name", "input"), tuple(header["input_shape"]), layers)
    err = header.get("err_out_fmt")
    return QModel(net, header["bits"], qlayers, Format(*err) if err else None)


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
        "qmodel_format": "numpy .npz: 'header' (JSON bytes) and '<layer index>/<array>' narrowest signed ints",
        "interface": interface, "ips": ips, "clock": clock,
        "taps": taps, "weight_blocks": blocks, "backward": backward,
        "cycles_per_sample": plan.cycles_per_sample, "latency_cycles": plan.latency_cycles, "plan": plan.plan,
        "hls": {"top": hls.get("top"), "modes": hls.get("modes"), "tap_sizes": hls.get("tap_sizes")},
        "hashes": hashes,
    }
