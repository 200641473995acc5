"""The quantized-model file: one format for `hilt quantize`, the build flow's cache and the overlay folder.

One numpy ``.npz`` archive, readable with numpy alone (a PYNQ board's Python 3.10 and numpy 1.21):

- ``header``: JSON bytes: ``format`` ("hilt.qmodel"), ``version``, the network (name, input name and shape,
  output name) and, per layer, its op, shapes, attributes, the ONNX nodes it implements, the initializer names
  its parameters export under, fixed-point formats, shifts and the names of its arrays;
- ``<layer index>/<array>``: the integer arrays (weights, accumulator-scale biases, LRN tables) at their
  narrowest signed width (int8 weights for an 8-bit model);
- ``float/<layer index>/<param>``: the float master weights, when written with ``floats=True`` (what
  `hilt quantize` and training write). Without them (the overlay folder and the build cache: AlexNet 61 MB,
  not a quarter of a gigabyte more) the float parameters are the integers scaled by their formats, the values
  the chip computes with, which re-quantize to the same integers.

No ONNX graph is stored: the header rebuilds the same network the ONNX importer would (tested). Files of
version 1 (`hilt quantize`'s ``__header__``/``__network__``/``__onnx__`` archive, and the build flow's
compact ``header`` archive) are still read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import HiltError
from ..ir import DirectSources, Layer, Network
from ..ir.sources import param_names
from .formats import Format

FORMAT = "hilt.qmodel"
VERSION = 2
HINT = "write one with `hilt quantize` (or `hilt build`)"


def narrow(v: np.ndarray) -> np.ndarray:
    """The smallest signed integer type that holds every value (weights: int8 or int16)."""
    for t in (np.int8, np.int16, np.int32):
        if v.size == 0 or (v.min() >= np.iinfo(t).min and v.max() <= np.iinfo(t).max):
            return v.astype(t)
    return v.astype(np.int64)


def _jsonable(value):
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _tuples(value):
    """JSON lists back to the tuples the IR keeps in shapes and layer attributes."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def write_qmodel(q, path: str | os.PathLike, floats: bool = True) -> None:
    """``q`` as one archive; ``floats=False`` leaves the float master weights out (the compact form)."""
    net = q.network
    layers, arrays = [], {}
    for i, ql in enumerate(q.layers):  # every layer, a final softmax included (each QLayer refers to its IR layer)
        layer = ql.layer
        entry = {**ql.header(), "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape),
                 "attrs": _jsonable(layer.attrs), "onnx_nodes": list(layer.onnx_nodes), "arrays": sorted(ql.arrays)}
        if layer.weighted:
            entry["param_names"] = list(param_names(layer))
        layers.append(entry)
        arrays.update({f"{i}/{k}": narrow(np.asarray(v)) for k, v in ql.arrays.items()})
        if floats:
            arrays.update({f"float/{i}/{k}": np.asarray(v, np.float32) for k, v in layer.params.items()})
    header = {"format": FORMAT, "version": VERSION, "name": net.name, "input_name": net.input_name,
              "input_shape": list(net.input_shape), "output_name": net.output_name, "bits": q.bits,
              "acc_bits": q.acc_bits, "input_format": q.input_fmt.to_json(),
              "err_out_fmt": q.err_out_fmt.to_json() if q.err_out_fmt else None, "floats": bool(floats),
              "layers": layers}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # uncompressed: AlexNet's 61 M weights save in a second, not a minute


def _open(path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # f: closed even if np.load fails
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise HiltError(f"{path}: no such quantized model; {HINT}") from None
    except Exception as err:
        raise HiltError(f"{path}: not a quantized model written by hilt ({err}); {HINT}") from None


def _v1_full(data: dict) -> tuple[dict, dict]:
    """Version 1 of `hilt quantize`'s file: ``__header__`` + ``__network__`` (JSON) + ``net/i/k`` floats."""
    old = json.loads(bytes(data.pop("__header__")).decode())
    if old.get("version") != 1:
        raise ValueError(f"quantized-model version {old.get('version')} is not one this hilt reads")
    described = data.pop("__network__", None)
    onnx_bytes = data.pop("__onnx__", None)
    floats = {"float/" + k[4:]: v for k, v in data.items() if k.startswith("net/")}
    if described is None:  # written before the JSON description: only its ONNX copy has the network
        net = _network_from_onnx(onnx_bytes)
        d = {"name": net.name, "input_name": net.input_name, "input_shape": list(net.input_shape),
             "output_name": net.output_name,
             "layers": [{"in_shape": list(l.in_shape), "out_shape": list(l.out_shape), "attrs": _jsonable(l.attrs),
                         "onnx_nodes": list(l.onnx_nodes)} for l in net.layers]}
        floats = {f"float/{i}/{k}": v for i, l in enumerate(net.layers) for k, v in l.params.items()}
    else:
        d = json.loads(bytes(described).decode())
    layers = [{**h, **{k: l[k] for k in ("in_shape", "out_shape", "attrs", "onnx_nodes")},
               "arrays": sorted(k.split("/", 1)[1] for k in data if k.split("/", 1)[0] == str(i))}
              for i, (h, l) in enumerate(zip(old["layers"], d["layers"]))]
    header = {"version": 1, "name": old["name"], "input_name": d["input_name"], "input_shape": d["input_shape"],
              "output_name": d.get("output_name", "output"), "bits": old["bits"],
              "err_out_fmt": old.get("err_out_fmt"), "floats": True, "layers": layers}
    return header, {**{k: v for k, v in data.items() if not k.startswith("net/")}, **floats}


def _network_from_onnx(onnx_bytes):
    try:
        import onnx
    except ImportError:
        raise ValueError("written before the JSON network description; load it where onnx is installed") from None
    from ..frontend import import_onnx

    return import_onnx(onnx.load_model_from_string(bytes(onnx_bytes)))


def _read(path) -> tuple[dict, dict]:
    data = _open(path)
    try:
        if "__header__" in data:
            return _v1_full(data)
        header = json.loads(bytes(data.pop("header")).decode())
        if header.get("version") not in (1, VERSION):  # 1: the build flow's compact file, no format field
            raise ValueError(f"quantized-model version {header.get('version')} is not one this hilt reads "
                             f"(1 or {VERSION})")
        return header, data
    except HiltError:
        raise
    except Exception as err:
        raise HiltError(f"{path}: not a quantized model written by hilt ({err}); {HINT}") from None


def read_qmodel(path: str | os.PathLike) -> tuple[dict, list[dict[str, np.ndarray]]]:
    """(header, per-layer integer arrays as int64); numpy only."""
    header, data = _read(path)
    return header, [{k: data[f"{i}/{k}"].astype(np.int64) for k in h["arrays"]}
                    for i, h in enumerate(header["layers"])]


def load_qmodel(path: str | os.PathLike):
    """The :class:`hilt.quant.QModel` in a file of any version; numpy only (no ONNX needed for version 2)."""
    from .qmodel import QLayer, QModel

    header, data = _read(path)
    try:
        layers, qlayers = [], []
        for i, h in enumerate(header["layers"]):
            arr = {k: data[f"{i}/{k}"].astype(np.int64) for k in h["arrays"]}
            fields = {k: h[k] for k in ("name", "op", "shift", "lut_shift") if k in h}
            fields.update({k: v for k, v in h.items() if k.endswith("_fmt")})
            ql = QLayer.from_header(fields, arr)
            params = {k.split("/")[2]: v.astype(np.float32) for k, v in data.items()
                      if k.startswith(f"float/{i}/")}
            if not params and "weight" in arr:  # the compact form: the values the chip computes with
                params["weight"] = (arr["weight"] * 2.0 ** -ql.w_fmt.frac).astype(np.float32)
                params["bias"] = (arr["bias"] * 2.0 ** -(ql.in_fmt.frac + ql.w_fmt.frac)).astype(np.float32)
            layer = Layer(h["name"], h["op"], tuple(h["in_shape"]), tuple(h["out_shape"]), _tuples(h["attrs"]),
                          params, onnx_nodes=tuple(h.get("onnx_nodes", ())))
            if layer.weighted:  # where gradients map back to: the names the ONNX export writes
                layer.sources = DirectSources(*h.get("param_names", param_names(layer)))
            layers.append(layer)
            qlayers.append(ql)
        net = Network(header["name"], header.get("input_name", "input"), tuple(header["input_shape"]), layers,
                      header.get("output_name", "output"))
        err = header.get("err_out_fmt")
        return QModel(net, header["bits"], qlayers, Format(*err) if err else None)
    except HiltError:
        raise
    except Exception as err:
        raise HiltError(f"{path}: not a quantized model written by hilt ({err!r}); {HINT}") from None


def file_format(path: str | Path) -> dict:
    """``{"format", "version", "floats"}`` of a file (what `hilt` would read), for messages and tests."""
    header, _ = _read(path)
    return {"format": header.get("format", FORMAT), "version": header["version"],
            "floats": bool(header.get("floats", False))}
