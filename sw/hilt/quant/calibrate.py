"""Choosing formats on data: ``quantize(network, images) -> QModel``.

Activation formats come from the largest magnitude each tensor reaches on the calibration images
(power-of-two scales, so requantization is a shift). Formats flow unchanged through ops that cannot
grow a value (ReLU, max/average pooling, flatten). A conv/dense followed by ReLU takes the format of
the ReLU's output: its negative range is clipped by the ReLU anyway, so no bit is spent on it.
Backward formats come from the float backward pass on the same images (labels given, or seeded
random labels, which give the large errors of early training).
"""

from __future__ import annotations

import numpy as np

from ..ir import Network
from ..ops import REGISTRY, op_of
from ..reference import layers as ref_layers
from ..reference import run, softmax_cross_entropy
from .formats import ACC_BITS, ERR_BITS, GRAD_BITS, Format, frac_for
from .qmodel import QLayer, QModel

PASS_THROUGH = tuple(n for n, o in REGISTRY.items() if o.keeps_format)
LUT_SIZE = 1024  # LRN: entries of the (bias + alpha/size * S)**-beta table (one BRAM18 of 16-bit words)
ERR_PASS_THROUGH = tuple(n for n, o in REGISTRY.items() if o.error_keeps_format)
GRAD_HEADROOM = 4.0  # weight gradients grow as training moves away from the calibration point


def _max_abs(a) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


class _Stats:
    """Running maxima over calibration chunks (whole-set activations of AlexNet do not fit in memory)."""

    def __init__(self):
        self.acts: list[float] = []
        self.errs: list[float] = []
        self.grads: dict[str, dict[str, float]] = {}

    def update(self, acts, errs, grads):
        for store, values in ((self.acts, acts), (self.errs, errs)):
            for i, a in enumerate(values):
                m = _max_abs(a) if a is not None else 0.0
                if i < len(store):
                    store[i] = max(store[i], m)
                else:
                    store.append(m)
        for name, g in grads.items():
            mine = self.grads.setdefault(name, {})
            for k, v in g.items():
                mine[k] = max(mine.get(k, 0.0), _max_abs(v))


def _float_pass(net: Network, x, labels, stats: _Stats):
    acts = run(net, x)
    body = len(net.layers) - (1 if net.has_softmax else 0)
    logits = acts[body]
    _, d = softmax_cross_entropy(logits, labels)
    d = d * len(x)  # errors as the hardware sees them: per sample, the 1/N lives in the learning rate
    errs = [None] * (len(acts))
    errs[body] = d
    grads = {}
    for i in range(body - 1, -1, -1):
        layer = net.layers[i]
        d, g = ref_layers.backward(layer, acts[i], acts[i + 1], d, need_dx=i > 0)
        errs[i] = d
        if g:
            grads[layer.name] = g
    stats.update(acts, errs, grads)


CALIBRATION_IMAGES = 1000  # every command and experiment calibrates on this many training images


def calibrate_on(net: Network, ds, bits: int = 8, images: int = CALIBRATION_IMAGES,
                 backward: bool = True) -> QModel:
    """The one quantization entry point of the commands and experiments: formats from the first ``images``
    images of the training set ``ds`` and their labels (which set the error and gradient formats), so a
    model quantizes the same whichever command asks. ``backward=False``: forward formats only (see
    ``quantize``), for accelerators whose training runs the backward pass in float on the host."""
    return quantize(net, ds.x[:images], bits=bits, labels=ds.y[:images], backward=backward)


def quantize(net: Network, x: np.ndarray, bits: int = 8, labels: np.ndarray | None = None,
             chunk: int = 256, seed: int = 0, backward: bool = True) -> QModel:
    """Calibrate formats for ``net`` on images ``x`` and return the integer model.

    ``backward=False`` calibrates the forward formats only (a third of the float work): the model then
    has no error or gradient formats and cannot run the integer backward pass."""
    x = np.asarray(x, np.float32)
    n_out = net.output_shape[0]
    if labels is None:
        labels = np.random.default_rng(seed).integers(0, n_out, len(x))
    stats = _Stats()
    for start in range(0, len(x), chunk):
        if backward:
            _float_pass(net, x[start:start + chunk], labels[start:start + chunk], stats)
        else:
            stats.update(run(net, x[start:start + chunk]), [], {})
    return _build(net, bits, stats, backward)


def _act_formats(net: Network, bits: int, amax: list[float]) -> list[Format]:
    fmts = [Format(bits, frac_for(amax[0], bits))]
    for i, layer in enumerate(net.layers):
        if op_of(layer).keeps_format:
            fmts.append(fmts[-1])
        else:
            nxt = net.layers[i + 1] if i + 1 < len(net.layers) else None
            m = amax[i + 2] if nxt is not None and op_of(nxt).fuses else amax[i + 1]  # a fused ReLU's range
            fmts.append(Format(bits, frac_for(m, bits)))
    return fmts


def _err_formats(net: Network, emax: list[float]) -> list[Format]:
    """Error formats per activation index; pass-through ops keep their output's error format."""
    fmts: list[Format | None] = [None] * len(emax)
    body = len(net.layers) - (1 if net.has_softmax else 0)
    fmts[body] = Format(ERR_BITS, frac_for(emax[body], ERR_BITS))
    for i in range(body - 1, -1, -1):
        keep = op_of(net.layers[i]).error_keeps_format
        fmts[i] = fmts[i + 1] if keep else Format(ERR_BITS, frac_for(emax[i], ERR_BITS))
    return fmts


def _build(net: Network, bits: int, stats: _Stats, backward: bool = True) -> QModel:
    acc = ACC_BITS[bits]
    afmt = _act_formats(net, bits, stats.acts)
    efmt = _err_formats(net, stats.errs) if backward else [None] * (len(net.layers) + 1)
    layers = []
    for i, layer in enumerate(net.layers):
        q = QLayer(layer.name, layer.op, afmt[i], afmt[i + 1], err_in_fmt=efmt[i])
        if layer.weighted:
            w, b = layer.params["weight"], layer.params["bias"]
            q.w_fmt = Format(bits, frac_for(_max_abs(w), bits))
            q.shift = q.in_fmt.frac + q.w_fmt.frac - q.out_fmt.frac
            q.arrays = {"weight": q.w_fmt.to_int(w), "bias": Format(acc, q.in_fmt.frac + q.w_fmt.frac).to_int(b)}
            if backward:
                g = stats.grads.get(layer.name, {})
                q.grad_fmt = Format(GRAD_BITS, frac_for(GRAD_HEADROOM * g.get("weight", 0.0), GRAD_BITS))
                q.bias_grad_fmt = Format(GRAD_BITS, frac_for(GRAD_HEADROOM * g.get("bias", 0.0), GRAD_BITS))
        else:
            op_of(layer).calibrate(q, layer, stats.acts[i])
        layers.append(q)
    return QModel(net, bits, layers, efmt[len(net.layers) - (1 if net.has_softmax else 0)])


def lrn_table(q: QLayer, a: dict, in_max: float) -> None:
    """LRN as hardware does it: S = sum of squared ints over the channel window (frac 2*f_in), an index
    S >> lut_shift into a table of (bias + alpha/size * S)**-beta, one multiply, one requantize."""
    f_in = q.in_fmt.frac
    s_max = a["size"] * min(float(q.in_fmt.qmax) ** 2, (in_max * 2.0 ** f_in + 1) ** 2)
    q.lut_shift = max(0, int(np.ceil(np.log2(max(s_max, 1.0) / LUT_SIZE))))
    centres = (np.arange(LUT_SIZE) + 0.5) * 2.0 ** q.lut_shift if q.lut_shift else np.arange(LUT_SIZE, dtype=float)
    values = (a["bias"] + a["alpha"] / a["size"] * centres * 2.0 ** (-2 * f_in)) ** -a["beta"]
    q.lut_fmt = Format(16, frac_for(float(values.max()), 16))
    q.arrays = {"lut": q.lut_fmt.to_int(values)}
    q.shift = f_in + q.lut_fmt.frac - q.out_fmt.frac
