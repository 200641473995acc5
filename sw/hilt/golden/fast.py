"""The golden forward on float arrays that hold exact integers: the same integers, fewer passes.

``layer_forward`` computes products with BLAS, then converts to int64 for bias, shift and saturation.
Here activations stay float32 (every activation fits in 16 bits, so float32 holds it exactly) and
a conv/dense layer finishes in floats too, when its bounds allow (``linear_consts``):

- the weights are pre-scaled by 2**-shift and the bias is (bias + 2**(shift-1)) * 2**-shift; every
  partial sum, the bias add included, is then an integer times 2**-shift of magnitude below
  ``bound`` < 2**24 (float32) or 2**53 (float64), which the float holds exactly in any summation order;
- ``floor`` of that value is the arithmetic shift ``(acc + bias + 2**(shift-1)) >> shift``, and the clip
  to the output range is the saturation; for shift <= 0 the scaling is an exact power-of-two product;
- ``bound`` < 2**(acc_bits-1), so the accumulator's wrap-around is the identity.

``forward`` also fuses: a following ReLU is a clip at 0 instead of at qmin (max(clip(v), 0) is
clip(v, 0, qmax)), and a following max-pool runs on the pre-activations, before bias, floor and
clip: those are non-decreasing per channel, and f(max(a, b)) = max(f(a), f(b)) for any such f.
Layers the bounds do not cover (LRN, average pool, wrapping accumulators) run ``layer_forward``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..ir import Layer
from ..ops import op_of
from ..quant import QLayer, QModel
from ..quant.formats import qmax, qmin
from ..reference import windows as win
from .forward import int_matmul_terms, layer_forward, run_int64

EXACT_BELOW = ((np.float32, 1 << 24), (np.float64, 1 << 53))  # integers every float of the type holds
GEMM_MACS = (1 << 19) - 1  # OpenBLAS runs a GEMM of fewer multiply-adds on the calling thread
COLS_BYTES = 1 << 19  # im2col columns copied at a time: they are multiplied while still in the cache
CHUNK = 128  # images per pass of ``forward`` at most: activations stay in the cache between layers


@dataclass
class LinearConsts:
    weight: np.ndarray  # O x K (conv: OIHW flattened), scaled by 2**-shift
    bias: np.ndarray  # (bias + rounding) * 2**-shift, shaped to broadcast over the channel axis


def _max_abs(a: np.ndarray) -> int:
    return max(int(a.max(initial=0)), -int(a.min(initial=0)))


def linear_consts(q: QModel, ql: QLayer, layer: Layer) -> LinearConsts | None:
    """Scaled weight and bias in the narrowest exact float type, or None if no float type is exact."""
    w, bias, s = ql.arrays["weight"], ql.arrays["bias"], ql.shift
    rounding = 1 << (s - 1) if s > 0 else 0
    bound = int_matmul_terms(layer) * -ql.in_fmt.qmin * _max_abs(w) + _max_abs(bias) + rounding
    if bound >= 1 << (q.acc_bits - 1) or abs(s) > 64:  # wrapping, or scales near the float's range
        return None
    dtype = next((t for t, exact in EXACT_BELOW if bound < exact), None)
    if dtype is None:
        return None
    # Integers below the bound, the float holds them; times a power of two they stay exact.
    scale = dtype(2.0 ** -s)
    weight = w.reshape(len(w), -1).astype(dtype)
    weight *= scale
    bias = (bias + rounding).astype(dtype) * scale
    return LinearConsts(weight, bias if not op_of(layer).windowed else bias.reshape(-1, 1, 1))  # conv: N, O, Ho, Wo


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = a @ b, as one stacked matmul of GEMMs under GEMM_MACS multiply-adds each.

    OpenBLAS spreads a larger GEMM over its own threads, which wait for each other and stall whenever
    another process holds a core (on a shared two-core machine, many times slower); a small one runs
    on the calling thread."""
    (m, k), n = a.shape, b.shape[1]
    if m >= n:  # split the rows of a
        step = max(1, GEMM_MACS // max(1, k * n))
        full = m - m % step
        if full:
            np.matmul(a[:full].reshape(-1, step, k), b, out=out[:full].reshape(-1, step, n))
        if full < m:
            np.matmul(a[full:], b, out=out[full:])
    else:  # split the columns of b
        step = max(1, GEMM_MACS // max(1, k * m))
        full = n - n % step
        if full:
            np.matmul(a, b[:, :full].reshape(k, -1, step).transpose(1, 0, 2),
                      out=out[:, :full].reshape(m, -1, step).transpose(1, 0, 2))
        if full < n:
            np.matmul(a, b[:, full:], out=out[:, full:])
    return out


def conv_windows(x: np.ndarray, attrs: dict, dtype) -> np.ndarray:
    """im2col of an (N, C, H, W) map as a strided view (C, kh, kw, Ho, Wo, N) of a padded copy.

    The copy is laid out (C, Hp, Wp, N), images innermost, so a window offset's inputs for one output
    row are Wo * N contiguous values (stride 1) or Wo runs of N: copied, the view is the
    (K, Ho * Wo * N) GEMM operand, K ordered (c, i, j) like OIHW weights, moved in long runs."""
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = attrs["kernel"], attrs["stride"], attrs["pads"]
    n, c, h, w = x.shape
    ho, wo = win.out_hw(h, w, attrs)
    xp = np.empty((c, h + pt + pb, w + pl + pr, n), dtype)
    if pt or pl or pb or pr:
        xp[...] = 0
    xp[:, pt:pt + h, pl:pl + w] = x.transpose(1, 2, 3, 0)
    sc, sy, sx, e = xp.strides
    return as_strided(xp, (c, kh, kw, ho, wo, n), (sc, sy, sx, sh * sy, sw * sx, e), writeable=False)


def conv_preact(x: np.ndarray, weight: np.ndarray, attrs: dict) -> np.ndarray:
    """Grouped conv of (N, C, H, W), in the weight's dtype (O x K): an (N, O, Ho, Wo) view of an
    (O, Ho, Wo, N) array.

    The columns are copied and multiplied in blocks of output rows that fit the cache (COLS_BYTES)."""
    groups = int(attrs.get("groups", 1))
    windows = conv_windows(x, attrs, weight.dtype)
    c, kh, kw, ho, wo, n = windows.shape
    o, kg, og = weight.shape[0], c // groups, weight.shape[0] // groups
    y = np.empty((o, ho, wo * n), weight.dtype)
    step = max(1, COLS_BYTES // (c * kh * kw * wo * n * weight.itemsize))
    for r in range(0, ho, step):
        for g in range(groups):
            cols = windows[g * kg:(g + 1) * kg, :, :, r:r + step].reshape(kg * kh * kw, -1)
            gemm(weight[g * og:(g + 1) * og], cols, y[g * og:(g + 1) * og, r:r + step].reshape(og, -1))
    return y.reshape(o, ho, wo, n).transpose(3, 0, 1, 2)


def requantize_floats(v: np.ndarray, bias: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """clip(floor(v + bias), lo, hi) as a new float32 array."""
    y = v + bias
    np.floor(y, out=y)
    return np.clip(y, lo, hi, out=y).astype(np.float32, copy=False)


def linear_stage(consts: LinearConsts, layer: Layer, lo: int, hi: int, pool: dict | None,
                 x: np.ndarray) -> np.ndarray:
    """A conv/dense layer, its ReLU when lo == 0, and a max-pool on the pre-activations when given."""
    w = consts.weight
    if not op_of(layer).windowed:  # dense
        v = gemm(np.ascontiguousarray(x, w.dtype), w.T, np.empty((len(x), len(w)), w.dtype))
        return requantize_floats(v, consts.bias, lo, hi)
    v = conv_preact(x, w, layer.attrs)
    if pool is not None:
        v = win.maxpool(v, pool, -np.inf)
    return requantize_floats(v, consts.bias, lo, hi)


def int64_stage(q: QModel, ql: QLayer, layer: Layer, x: np.ndarray) -> np.ndarray:
    """The int64 path for a layer the float bounds do not cover; its outputs fit 16 bits, so float32."""
    return layer_forward(q, ql, layer, x.astype(np.int64)).astype(np.float32)


def window_touches_input(attrs: dict) -> bool:
    """Padding smaller than the kernel: every max-pool window holds an input (a max exists)."""
    (kh, kw), (pt, pl, pb, pr) = attrs["kernel"], attrs["pads"]
    return max(pt, pb) < kh and max(pl, pr) < kw


SIMPLE = {
    "relu": lambda layer, x: np.maximum(x, 0),
    "flatten": lambda layer, x: x.reshape(len(x), -1),
    "maxpool": lambda layer, x: win.maxpool(x, layer.attrs, -np.inf),
}


def plan(q: QModel, fuse: bool) -> list[tuple[int, Callable]]:
    """(number of layers, function on float32 NCHW activations) per stage; fuse=False: one per layer."""
    layers = q.pairs()
    ops = [layer.op for _, layer in layers] + [None, None]
    stages, i = [], 0
    while i < len(layers):
        ql, layer = layers[i]
        consts = linear_consts(q, ql, layer) if layer.weighted else None
        if consts is not None:
            relu = fuse and ops[i + 1] == "relu"
            after = layers[i + 1 + relu][1].attrs if ops[i + 1 + relu] == "maxpool" else None
            pool = after if fuse and layer.op == "conv" and after and window_touches_input(after) else None
            lo = 0 if relu else qmin(q.bits)
            stages.append((1 + relu + (pool is not None), partial(linear_stage, consts, layer, lo, qmax(q.bits), pool)))
        elif layer.op in SIMPLE and (layer.op != "maxpool" or window_touches_input(layer.attrs)):
            stages.append((1, partial(SIMPLE[layer.op], layer)))
        else:
            stages.append((1, partial(int64_stage, q, ql, layer)))
        i += stages[-1][0]
    return stages


def run(q: QModel, x_int: np.ndarray) -> list[np.ndarray]:
    """Every layer's integer activation (int64, C order), as ``run_int64``."""
    taps = [np.asarray(x_int, np.int64)]
    fmt = q.input_fmt
    if taps[0].size and (taps[0].min() < fmt.qmin or taps[0].max() > fmt.qmax):
        return run_int64(q, taps[0])  # the bounds assume inputs in the input format
    a = taps[0].astype(np.float32)
    for _, stage in plan(q, fuse=False):
        a = stage(a)
        taps.append(a.astype(np.int64, order="C"))
    return taps


def _logits(q: QModel, stages, x: np.ndarray) -> np.ndarray:
    a = q.input_fmt.to_grid(x)  # float64; the first stage converts as it copies (any float holds these)
    for _, stage in stages:
        a = stage(a)
    return a


_pool: tuple[int, ThreadPoolExecutor] | None = None


def _workers() -> ThreadPoolExecutor:
    """Two worker threads, made again in a forked child (which inherits none of its parent's threads)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = os.getpid(), ThreadPoolExecutor(2, thread_name_prefix="hilt-golden")
    return _pool[1]


def forward(q: QModel, x: np.ndarray) -> np.ndarray:
    """Integer logits (int64) of a float NCHW batch, as ``golden.forward``.

    A batch of more than CHUNK images is cut into near-equal chunks of at most CHUNK images (an even
    count where the sizes allow) and run on two threads: numpy releases the GIL in its loops and in
    BLAS. On a shared two-core machine that was 1.3-1.4x faster than one thread (medians of paired
    runs)."""
    stages = plan(q, fuse=True)
    chunks = -(-len(x) // CHUNK)
    if chunks <= 1:
        return _logits(q, stages, x).astype(np.int64)
    size = -(-len(x) // (chunks + chunks % 2))
    parts = _workers().map(partial(_logits, q, stages), [x[i:i + size] for i in range(0, len(x), size)])
    return np.concatenate(list(parts)).astype(np.int64)
