"""Integer forward of every op, exactly as docs/numerics.md specifies."""

from __future__ import annotations

import numpy as np

from ..ir import Layer
from ..ops import op_of
from ..quant import QLayer, QModel, requantize, wrap
from ..quant.formats import qmax, qmin
from ..reference import windows as win

INT_FILL = np.iinfo(np.int64).min  # max-pool padding: never the maximum
AVG_RECIP_BITS = 16  # average pool: multiply by round(2**16 / count), shift back by 16


def exact_dtype(n_terms: int, max_a: int, max_b: int):
    """float32 if every partial sum of n_terms products stays below 2**24, else float64 (2**53).

    Integer sums below those bounds are exact in any summation order, so BLAS gives the exact
    integer result; float32 is used when it can be, because it is twice as fast."""
    bound = n_terms * max_a * max_b
    if bound < 2 ** 24:
        return np.float32
    if bound < 2 ** 53:
        return np.float64
    raise OverflowError(f"{n_terms} products of {max_a} x {max_b} exceed exact float64")


def int_matmul_terms(layer: Layer) -> int:
    w = layer.params["weight"]
    return int(np.prod(w.shape[1:]))


def linear(layer: Layer, x: np.ndarray, weight: np.ndarray, max_x: int) -> np.ndarray:
    """Exact integer conv/dense products (no bias) as int64."""
    dt = exact_dtype(int_matmul_terms(layer), max_x, int(np.abs(weight).max(initial=0)))
    wf = weight.astype(dt)
    y = win.conv(x, wf, layer.attrs) if op_of(layer).windowed else x.astype(dt) @ wf.T
    return y.astype(np.int64)


def accumulate_and_requantize(acc: np.ndarray, bias: np.ndarray, shift: int, acc_bits: int, bits: int,
                              bound: int) -> np.ndarray:
    """requantize(wrap(acc + bias, acc_bits), shift, bits), in place on the int64 ``acc``.

    ``bound`` is a static bound on |acc + bias|: when it fits the accumulator, the wrap is provably the
    identity and is skipped; otherwise it is applied. Same integers either way, fewer passes."""
    b = bias.reshape((1, -1) + (1,) * (acc.ndim - 2))
    if bound >= 1 << (acc_bits - 1):
        return requantize(wrap(acc + b, acc_bits), shift, bits)
    if shift > 0:
        acc += b + (np.int64(1) << np.int64(shift - 1))  # round half up folded into the bias add
        acc >>= np.int64(shift)
    else:
        acc += b
        acc <<= np.int64(-shift)
    return np.clip(acc, qmin(bits), qmax(bits), out=acc)


def avg_recip(counts: np.ndarray) -> np.ndarray:
    """round(2**16 / count) with integer arithmetic (a constant table in hardware)."""
    return ((1 << AVG_RECIP_BITS) + counts // 2) // counts


def layer_forward(q: QModel, ql: QLayer, layer: Layer, x: np.ndarray) -> np.ndarray:
    """One layer's integer forward, through its op module (hilt.ops)."""
    return op_of(layer).int_forward(q, ql, layer, x)


def run_int64(q: QModel, x_int: np.ndarray) -> list[np.ndarray]:
    """Integer activations [input, layer 1, ..., logits]: the plain definition, int64 layer by layer."""
    taps = [np.asarray(x_int, np.int64)]
    for ql, layer in q.pairs():
        taps.append(layer_forward(q, ql, layer, taps[-1]))
    return taps
