"""What every op kind states about itself, once: the default answers of :class:`Op`.

An op module (conv.py, dense.py, ...) subclasses ``Op`` and overrides what differs. The stage folders
keep their vectorised kernels (``reference.windows``, ``golden.forward``, ``hw/hls/hilt``) and call them
through the op, so adding an op kind is one new module here plus its kernels, and no branch elsewhere.
Kernels are imported inside the methods: the ops sit beside every stage, not before or after one.
"""

from __future__ import annotations

import numpy as np


class Op:
    name = ""
    weighted = False  # a weight matrix (conv, dense): matrix-vector units, parameters, gradients
    windowed = False  # a window sweep over a map (kernel, stride, pads attributes)
    fixed_stage = False  # a pipeline stage of its own at a fixed rate (pools, LRN); an unfused ReLU is one too
    int_backward = False  # the golden model propagates an integer error through it
    hls_backward = False  # the generated BP pipeline has a kernel for its error
    last_only = False  # only as the network's last layer (softmax)
    keeps_format = False  # its output has its input's fixed-point format (no requantization of its own)
    error_keeps_format = False  # backward never grows an error through it: its input error keeps the format
    fuses = False  # right after a conv/dense it is part of that unit's requantizer (ReLU)
    hls_buffers_tap = False  # its backward kernel reads its whole forward tap into a buffer of its own first
    stage_resources: dict = {}  # what its fixed-rate stage needs beyond line buffer and logic (LRN: its table)

    # ---- IR -----------------------------------------------------------------------------------------
    def out_shape(self, layer) -> tuple[int, ...]:
        return tuple(layer.in_shape)

    def macs(self, layer) -> int:
        return 0

    # ---- float reference (hilt.reference) ----------------------------------------------------------
    def forward(self, layer, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"layer {layer.name}: no reference for op {self.name}")

    def backward(self, layer, x, y, dy, need_dx: bool = True):
        """(dx, {param: grad}) given the layer's input x, output y and output gradient dy."""
        raise NotImplementedError(f"layer {layer.name}: no reference backward for op {self.name}")

    # ---- quantization (hilt.quant) -----------------------------------------------------------------
    def calibrate(self, ql, layer, in_max: float) -> None:
        """Fill in what the integer form needs beyond the formats (LRN: its table), given the input range."""

    # ---- golden integer model (hilt.golden) --------------------------------------------------------
    def int_forward(self, q, ql, layer, x: np.ndarray) -> np.ndarray:
        raise ValueError(f"layer {layer.name}: no integer forward for op {self.name}")

    def int_error(self, layer, x: np.ndarray, y: np.ndarray, e: np.ndarray) -> np.ndarray:
        """The integer error at the input of a weightless op, from the error at its output."""
        from ..errors import HiltError

        raise HiltError(f"layer {layer.name}: {self.name} has no integer backward in the BP pipeline; "
                        f"train this model with the host backward")

    # ---- HLS code generation (hilt.codegen) --------------------------------------------------------
    def hls_fields(self, q, ql, layer) -> dict[str, int]:
        """The layer's geometry and formats in its config struct (the plan's fields are added apart)."""
        return {"N": int(np.prod(layer.out_shape))}

    def hls_lut(self, ql) -> list[int] | None:
        return None

    def hls_call(self, cname: str, inp: str, outp: str) -> str:
        return f"hilt::{self.name}<{cname}_p>({inp}, {outp})"

    def hls_error_step(self, cname: str, i: int, e_out: str, e_in: str) -> tuple[str, tuple | None]:
        """(the BP pipeline's call for this op's error, the forward tap it reads: ("x", i) or ("y", i + 1))."""
        raise NotImplementedError(self.name)

    # ---- design-space exploration (hilt.dse) -------------------------------------------------------
    def stash_bits(self, layer, bits: int) -> int:
        """Bits per sample its backward stage keeps (a weighted layer adds its fused ReLU's mask)."""
        return 0


def window_fields(layer) -> dict[str, int]:
    """A window sweep's geometry: input C x H x W, kernel, stride, padding (before and after), the
    padded size the sweep covers (ceil-mode overhang included) and the output size."""
    from ..ir.graph import padded_hw

    c, h, w = layer.in_shape
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = layer.attrs["kernel"], layer.attrs["stride"], layer.attrs["pads"]
    hp, wp = padded_hw(layer)
    _, ho, wo = window_out_shape(layer, c)
    return {"C": c, "H": h, "W": w, "KH": kh, "KW": kw, "SH": sh, "SW": sw, "PT": pt, "PL": pl, "PB": pb, "PR": pr,
            "HP": hp, "WP": wp, "HO": ho, "WO": wo}


def window_out_shape(layer, channels: int) -> tuple[int, int, int]:
    from ..ir.graph import pool_out_size

    _, h, w = layer.in_shape
    a = layer.attrs
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = a["kernel"], a["stride"], a["pads"]
    ceil = bool(a.get("ceil_mode", False))
    return channels, pool_out_size(h, kh, sh, pt, pb, ceil), pool_out_size(w, kw, sw, pl, pr, ceil)


class Linear(Op):
    """conv and dense: a weight matrix, an integer product wrapped to the accumulator and requantized."""

    weighted = True
    int_backward = True
    hls_backward = True

    def int_forward(self, q, ql, layer, x):
        from ..golden.forward import accumulate_and_requantize, int_matmul_terms, linear

        w, bias = ql.arrays["weight"], ql.arrays["bias"]
        acc = linear(layer, x, w, -ql.in_fmt.qmin)
        bound = int_matmul_terms(layer) * -ql.in_fmt.qmin * int(np.abs(w).max(initial=0)) + \
            int(np.abs(bias).max(initial=0))
        return accumulate_and_requantize(acc, bias, ql.shift, q.acc_bits, q.bits, bound)

    def hls_fields(self, q, ql, layer):
        w = layer.params["weight"]
        return {"O": w.shape[0], "G": int(layer.attrs.get("groups", 1)), "K": int(np.prod(w.shape[1:]))}

    def hls_call(self, cname, inp, outp):
        return f"hilt::{self.name}<{cname}_p, wgt_t>({inp}, {outp}, {cname}_w, {cname}_b)"

    def stash_bits(self, layer, bits):
        return int(np.prod(layer.in_shape)) * bits
