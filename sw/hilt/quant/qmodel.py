"""QModel: a network with per-tensor fixed-point formats, integer weights and per-layer shifts.

It is everything an integer implementation needs and nothing it must re-derive: the golden model,
the emulator and the generated HLS/RTL read the same QModel. Saved as one ``.npz`` in the format of
:mod:`hilt.quant.qfile` (a JSON header, the integer arrays, optionally the float master weights), which a
PYNQ board reads with numpy alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import HiltError
from ..ir import Layer, Network
from .formats import ACC_BITS, Format


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

    # ---- persistence (one file format: hilt.quant.qfile) ----------------------------------------
    def save(self, path: str | os.PathLike, floats: bool = True) -> None:
        """One ``.npz``, numpy only; ``floats=False``: without the float master weights (the overlay's form)."""
        from .qfile import write_qmodel

        write_qmodel(self, path, floats)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "QModel":
        from .qfile import load_qmodel

        return load_qmodel(path)
