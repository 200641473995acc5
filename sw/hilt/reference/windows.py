"""Sliding-window kernels shared by the float reference and the golden integer model.

All functions are dtype-generic: the reference calls them on float32, the golden model on float64
holding integers (exact below 2**53) or on int64, so there is one implementation of every window
walk, padding rule and scatter, and the two models cannot disagree about geometry.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import pool_out_size


def out_hw(h: int, w: int, attrs: dict) -> tuple[int, int]:
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = attrs["kernel"], attrs["stride"], attrs["pads"]
    ceil = bool(attrs.get("ceil_mode", False))
    return pool_out_size(h, kh, sh, pt, pb, ceil), pool_out_size(w, kw, sw, pl, pr, ceil)


def padded(x: np.ndarray, attrs: dict, fill=0, ho: int | None = None, wo: int | None = None) -> np.ndarray:
    """x padded by attrs['pads'], plus the extra bottom/right rows a ceil_mode sweep reaches."""
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = attrs["kernel"], attrs["stride"], attrs["pads"]
    if ho is None:
        ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    eb = max(pb, (ho - 1) * sh + kh - x.shape[2] - pt)
    er = max(pr, (wo - 1) * sw + kw - x.shape[3] - pl)
    if not (pt or pl or eb or er):
        return x
    return np.pad(x, ((0, 0), (0, 0), (pt, eb), (pl, er)), constant_values=fill)


def offsets(attrs: dict, ho: int, wo: int):
    """(i, j, rows, cols) for every kernel offset in row-major window order: ``xp[:, :, rows, cols]`` is
    the (N, C, Ho, Wo) map of the inputs that offset (i, j) of every window reads in a padded map."""
    (kh, kw), (sh, sw) = attrs["kernel"], attrs["stride"]
    for i in range(kh):
        for j in range(kw):
            yield i, j, slice(i, i + (ho - 1) * sh + 1, sh), slice(j, j + (wo - 1) * sw + 1, sw)


def _padded_zeros_like(shape, attrs: dict, ho: int, wo: int, dtype) -> np.ndarray:
    (kh, kw), (sh, sw), (pt, pl, _, _) = attrs["kernel"], attrs["stride"], attrs["pads"]
    return np.zeros((shape[0], shape[1], max(shape[2] + pt, (ho - 1) * sh + kh),
                     max(shape[3] + pl, (wo - 1) * sw + kw)), dtype)


def _unpad(big: np.ndarray, attrs: dict, shape) -> np.ndarray:
    pt, pl = attrs["pads"][0], attrs["pads"][1]
    return big[:, :, pt: pt + shape[2], pl: pl + shape[3]]


def conv_cols(x: np.ndarray, attrs: dict, groups: int, dtype=None) -> tuple[np.ndarray, int, int]:
    """im2col, K-major per group: (G, C/G*kh*kw, N*Ho*Wo) with K ordered (c, i, j) like OIHW weights.

    Filled one kernel offset at a time, so every copy moves whole contiguous (N, Ho, Wo) planes.
    ``dtype`` converts while copying (the golden model's int64 maps become exact float columns)."""
    n, c = x.shape[:2]
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    kh, kw = attrs["kernel"]
    xp = padded(x, attrs).transpose(1, 0, 2, 3)  # C, N, H, W
    cols = np.empty((c, kh, kw, n, ho, wo), dtype or x.dtype)
    for i, j, rows, cs in offsets(attrs, ho, wo):
        cols[:, i, j] = xp[:, :, rows, cs]
    return cols.reshape(groups, (c // groups) * kh * kw, n * ho * wo), ho, wo


def conv(x: np.ndarray, weight: np.ndarray, attrs: dict) -> np.ndarray:
    """Grouped 2-D convolution without bias (cross-correlation, as ONNX Conv), in the weight's dtype."""
    groups = int(attrs.get("groups", 1))
    cols, ho, wo = conv_cols(x, attrs, groups, weight.dtype)
    o = weight.shape[0]
    y = np.matmul(weight.reshape(groups, o // groups, -1), cols)  # G, O/G, N*Ho*Wo
    return y.reshape(o, x.shape[0], ho, wo).transpose(1, 0, 2, 3)


def conv_backward(x: np.ndarray, weight: np.ndarray, dy: np.ndarray, attrs: dict, need_dx: bool = True):
    """(dx, dweight) of ``conv`` for an output gradient dy (N, O, Ho, Wo)."""
    groups = int(attrs.get("groups", 1))
    cols, ho, wo = conv_cols(x, attrs, groups)
    n, o = dy.shape[:2]
    dyg = np.ascontiguousarray(dy.transpose(1, 0, 2, 3)).reshape(groups, o // groups, n * ho * wo)
    dw = np.matmul(dyg, cols.transpose(0, 2, 1)).reshape(weight.shape)
    if not need_dx:
        return None, dw
    dcols = np.matmul(weight.reshape(groups, o // groups, -1).transpose(0, 2, 1), dyg)  # G, K/G, M
    kh, kw = attrs["kernel"]
    dcols = dcols.reshape(x.shape[1], kh, kw, n, ho, wo)
    big = _padded_zeros_like((x.shape[1], n) + x.shape[2:], attrs, ho, wo, dcols.dtype)  # C, N, H, W
    for i, j, rows, cs in offsets(attrs, ho, wo):
        big[:, :, rows, cs] += dcols[:, i, j]
    return _unpad(big, attrs, (x.shape[1], n) + x.shape[2:]).transpose(1, 0, 2, 3), dw


def maxpool(x: np.ndarray, attrs: dict, fill) -> np.ndarray:
    """Max over each window; padding holds ``fill`` (the dtype's minimum), so it never wins.

    Separable: the max over each window's rows first, then over its columns, kh + kw - 2 passes
    instead of kh * kw - 1. A max is the same value in any grouping, so this is exact."""
    (kh, kw), (sh, sw) = attrs["kernel"], attrs["stride"]
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    xp = padded(x, attrs, fill)
    rows = _max_of_slices(xp, 2, kh, sh, ho)
    return _max_of_slices(rows, 3, kw, sw, wo)


def _max_of_slices(a: np.ndarray, axis: int, k: int, stride: int, n: int) -> np.ndarray:
    """out[..., t, ...] = max of a[..., t * stride + i, ...] over i < k, along ``axis``."""
    def part(i):
        return a[(slice(None),) * axis + (slice(i, i + (n - 1) * stride + 1, stride),)]

    y = np.maximum(part(0), part(1)) if k > 1 else part(0).copy()
    for i in range(2, k):
        np.maximum(y, part(i), out=y)
    return y


def maxpool_backward(x: np.ndarray, dy: np.ndarray, attrs: dict, fill) -> np.ndarray:
    """Route each output's gradient to the first maximum of its window in row-major window order."""
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    xp = padded(x, attrs, fill)
    y = maxpool(x, attrs, fill)
    taken = np.zeros(y.shape, bool)
    big = _padded_zeros_like(x.shape, attrs, ho, wo, dy.dtype)
    for _, _, rows, cs in offsets(attrs, ho, wo):
        hit = (xp[:, :, rows, cs] == y) & ~taken
        big[:, :, rows, cs] += np.where(hit, dy, 0)
        taken |= hit
    return _unpad(big, attrs, x.shape)


def pool_counts(shape: tuple[int, ...], attrs: dict) -> np.ndarray:
    """Per output position, the divisor of an average pool (Ho, Wo), following ONNX/torch:
    count_include_pad counts explicit padding but never the extra ceil_mode overhang."""
    (pt, pl, pb, pr) = attrs["pads"]
    ones = np.ones((1, 1, shape[2], shape[3]), np.int64)
    if attrs.get("count_include_pad"):
        ones = np.pad(ones, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=1)
        ho, wo = out_hw(shape[2], shape[3], attrs)
        a = dict(attrs, pads=(0, 0, 0, 0))
        return _window_sum(padded(ones, a, 0, ho, wo), a, ho, wo)[0, 0]
    return window_sum(ones, attrs)[0, 0]


def _window_sum(xp: np.ndarray, attrs: dict, ho: int, wo: int) -> np.ndarray:
    y = None
    for _, _, rows, cs in offsets(attrs, ho, wo):
        y = xp[:, :, rows, cs].copy() if y is None else np.add(y, xp[:, :, rows, cs], out=y)
    return y


def window_sum(x: np.ndarray, attrs: dict) -> np.ndarray:
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    return _window_sum(padded(x, attrs), attrs, ho, wo)


def spread_windows(dy: np.ndarray, attrs: dict, shape) -> np.ndarray:
    """Adjoint of ``window_sum``: each output's value added to every input of its window."""
    ho, wo = dy.shape[2:]
    big = _padded_zeros_like(shape, attrs, ho, wo, dy.dtype)
    for _, _, rows, cs in offsets(attrs, ho, wo):
        big[:, :, rows, cs] += dy
    return _unpad(big, attrs, shape)


def channel_window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """out[:, c] = sum of a[:, c - before .. c + after] (clipped at the ends), over axis 1.

    A sum of shifted slices rather than a cumulative sum: exact for integers and as accurate as a
    direct sum for floats (LRN windows are a handful of channels)."""
    c = a.shape[1]
    out = np.zeros_like(a)
    for k in range(-before, after + 1):
        lo, hi = max(0, -k), min(c, c - k)
        out[:, lo:hi] += a[:, lo + k: hi + k]
    return out
