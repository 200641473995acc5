"""QModel: a network with per-tensor fixed-point formats, integer weights and per-layer shifts.

It is everything an integer implementation needs and nothing it must re-derive: the golden model,
the emulator and the generated HLS/RTL read the same QModel. Saved as one ``.npz`` (arrays, a JSON
header, the float network as ONNX, and the same network as JSON + float arrays), so a quantized model
travels as a single file. Loading uses the ONNX copy (which keeps the initializer names gradients map back
to) where onnx is installed, and the JSON copy where it is not: a PYNQ board loads it with numpy alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import HiltError
from ..ir import Layer, Network
from .formats import ACC_BITS, Format

FORMAT_VERSION = 1


def _narrow(v: np.ndarray) -> np.ndarray:
    """The smallest signed integer type that holds every value (weights: int8 or int16)."""
    for t in (np.int8, np.int16, np.int32):
        if v.size == 0 or (v.min() >= np.iinfo(t).min and v.max() <= np.iinfo(t).max):
            return v.astype(t)
    return v.astype(np.int64)


@dataclass
class QLayer:
    """One layer's integer view. ``in_fmt``/``out_fmt`` are the activation formats around it.

    conv/dense: ``weight`` (int, w_fmt), ``bias`` (int at frac_in + frac_w, accumulator scale) and
    ``shift`` = frac_in + frac_w - frac_out. lrn: ``lut`` (int, lut_fmt), ``lut_shift``.
    Backward (16-bit errors): ``err_in_fmt`` for the error arriving at the layer's input,
    ``grad_shift`` and ``grad_fmt`` / ``bias_grad_fmt`` for its weight and bias gradients.
    """

    name: str
    op: str
    in_fmt: Format
    out_fmt: Format
    w_fmt: Format | None = None
    shift: int = 0
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    lut_shift: int = 0
    lut_fmt: Format | None = None
    err_in_fmt: Format | None = None
    grad_fmt: Format | None = None
    bias_grad_fmt: Format | None = None
    layer: Layer | None = field(default=None, repr=False, compare=False)  # the IR layer it implements (QModel links)

    def header(self) -> dict:
        fmts = {k: getattr(self, k).to_json() for k in ("in_fmt", "out_fmt", "w_fmt", "lut_fmt", "err_in_fmt",
                                                          "grad_fmt", "bias_grad_fmt") if getattr(self, k)}
        return {"name": self.name, "op": self.op, "shift": self.shift, "lut_shift": self.lut_shift, **fmts}

    @classmethod
    def from_header(cls, h: dict, arrays: dict) -> "QLayer":
        fmts = {k: Format(*v) for k, v in h.items() if k.endswith("_fmt")}
        return cls(h["name"], h["op"], shift=h["shift"], lut_shift=h["lut_shift"], arrays=arrays, **fmts)


@dataclass
class QModel:
    network: Network
    bits: int
    layers: list[QLayer]
    err_out_fmt: Format | None = None  # error at the logits (host: softmax - one-hot, not divided by N)

    def __post_init__(self):
        self._link()

    def _link(self) -> None:
        """Each QLayer refers to the IR layer it implements (the network's layer of the same position)."""
        for ql, layer in zip(self.layers, self.network.layers):
            if ql.name != layer.name:
                raise HiltError(f"quantized layer {ql.name} does not match network layer {layer.name}")
            ql.layer = layer

    def pairs(self) -> list[tuple[QLayer, Layer]]:
        """(QLayer, Layer) of every layer the integer pipeline runs."""
        return [(ql, ql.layer) for ql in self.compute_layers()]

    @property
    def acc_bits(self) -> int:
        return ACC_BITS[self.bits]

    @property
    def input_fmt(self) -> Format:
        return self.layers[0].in_fmt

    @property
    def logits_fmt(self) -> Format:
        return self.compute_layers()[-1].out_fmt

    def compute_layers(self) -> list[QLayer]:
        """The layers the integer pipeline runs: all but a final softmax (the host applies it)."""
        return self.layers[:-1] if self.network.has_softmax else self.layers

    def layer(self, name: str) -> QLayer:
        return next(q for q in self.layers if q.name == name)

    def requantize_weights(self, params: dict[str, dict[str, np.ndarray]]) -> "QModel":
        """New float master weights -> integer weights in the same formats (one training step's reload)."""
        for q in self.layers:
            if q.name in params:
                p = params[q.name]
                q.arrays["weight"] = q.w_fmt.to_int(p["weight"])
                q.arrays["bias"] = Format(self.acc_bits, q.in_fmt.frac + q.w_fmt.frac).to_int(p["bias"])
        self.network = self.network.with_params(params)
        self._link()
        return self

    def summary(self) -> str:
        lines = [f"{self.network.name}: int{self.bits}, accumulators {self.acc_bits} bits"]
        for q in self.layers:
            extra = f" weights {q.w_fmt} shift {q.shift}" if q.w_fmt else ""
            lines.append(f"  {q.name:12s} {q.op:8s} in {q.in_fmt!s:8s} out {q.out_fmt!s:8s}{extra}")
        return "\n".join(lines)

    # ---- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        from ..frontend.export import to_onnx

        header = {"version": FORMAT_VERSION, "bits": self.bits, "layers": [q.header() for q in self.layers],
                  "err_out_fmt": self.err_out_fmt.to_json() if self.err_out_fmt else None,
                  "input_name": self.network.input_name, "name": self.network.name}
        arrays = {f"{i}/{k}": _narrow(v) for i, q in enumerate(self.layers) for k, v in q.arrays.items()}
        arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
        arrays["__network__"] = np.frombuffer(json.dumps(_network_json(self.network)).encode(), np.uint8)
        arrays.update({f"net/{i}/{k}": v for i, l in enumerate(self.network.layers) for k, v in l.params.items()})
        arrays["__onnx__"] = np.frombuffer(to_onnx(self.network).SerializeToString(), np.uint8)
        with open(path, "wb") as f:
            np.savez(f, **arrays)  # uncompressed: AlexNet's 61 M weights save in a second, not a minute

    @classmethod
    def load(cls, path: str | os.PathLike) -> "QModel":
        try:
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # f: closed even if np.load fails
                data = {k: z[k] for k in z.files}
            header = json.loads(bytes(data.pop("__header__")).decode())
            net = _load_network(data)
        except FileNotFoundError:
            raise HiltError(f"{path}: no such quantized model; write one with `hilt quantize`") from None
        except Exception as err:
            raise HiltError(f"{path}: not a quantized model written by `hilt quantize` ({err})") from None
        if header.get("version") != FORMAT_VERSION:
            raise HiltError(f"{path}: quantized-model version {header.get('version')} is not {FORMAT_VERSION}")
        net.name = header["name"]
        layers = []
        for i, h in enumerate(header["layers"]):
            arrays = {k.split("/", 1)[1]: v.astype(np.int64) for k, v in data.items()
                      if k.split("/", 1)[0] == str(i)}
            layers.append(QLayer.from_header(h, arrays))
        err = header.get("err_out_fmt")
        return cls(net, header["bits"], layers, Format(*err) if err else None)


def _network_json(net: Network) -> dict:
    """The network without its parameters, as JSON (tuples become lists)."""
    def plain(v):
        return [plain(x) for x in v] if isinstance(v, (list, tuple)) else v

    return {"name": net.name, "input_name": net.input_name, "input_shape": list(net.input_shape),
            "output_name": net.output_name,
            "layers": [{"name": l.name, "op": l.op, "in_shape": list(l.in_shape), "out_shape": list(l.out_shape),
                        "attrs": {k: plain(v) for k, v in l.attrs.items()}, "onnx_nodes": list(l.onnx_nodes)}
                       for l in net.layers]}


def _load_network(data: dict) -> Network:
    """The float network: from the ONNX copy where onnx is installed, else from the JSON copy."""
    onnx_bytes = data.pop("__onnx__", None)
    described = data.pop("__network__", None)
    params = {k: data.pop(k) for k in [k for k in data if k.startswith("net/")]}
    try:
        import onnx
    except ImportError:
        onnx = None
    if onnx is not None and onnx_bytes is not None:
        from ..frontend import import_onnx

        return import_onnx(onnx.load_model_from_string(bytes(onnx_bytes)))
    if described is None:
        raise ValueError("written before the JSON network description; load it where onnx is installed")
    d = json.loads(bytes(described).decode())

    def tup(v):
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    layers = []
    for i, l in enumerate(d["layers"]):
        mine = {k.split("/")[2]: v.astype(np.float32) for k, v in params.items() if k.split("/")[1] == str(i)}
        layers.append(Layer(l["name"], l["op"], tuple(l["in_shape"]), tuple(l["out_shape"]),
                            {k: tup(v) for k, v in l["attrs"].items()}, mine, onnx_nodes=tuple(l["onnx_nodes"])))
    return Network(d["name"], d["input_name"], tuple(d["input_shape"]), layers, d["output_name"])
