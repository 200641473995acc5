"""Sliding-window kernels shared by the float reference and the golden integer model.

All functions are dtype-generic: the reference calls them on float32, the golden model on float64
holding integers (exact below 2**53) or on int64, so there is one implementation of every window
walk, padding rule and scatter, and the two models cannot disagree about geometry.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..ir.graph import pool_out_size


def out_hw(h: int, w: int, attrs: dict) -> tuple[int, int]:
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = attrs["kernel"], attrs["stride"], attrs["pads"]
    ceil = bool(attrs.get("ceil_mode", False))
    return pool_out_size(h, kh, sh, pt, pb, ceil), pool_out_size(w, kw, sw, pl, pr, ceil)


def padded(x: np.ndarray, attrs: dict, fill=0) -> np.ndarray:
    """x padded by attrs['pads'], plus the extra bottom/right rows a ceil_mode sweep reaches."""
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = attrs["kernel"], attrs["stride"], attrs["pads"]
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    eb = max(pb, (ho - 1) * sh + kh - x.shape[2] - pt)
    er = max(pr, (wo - 1) * sw + kw - x.shape[3] - pl)
    if not (pt or pl or eb or er):
        return x
    return np.pad(x, ((0, 0), (0, 0), (pt, eb), (pl, er)), constant_values=fill)


def windows(xp: np.ndarray, attrs: dict, ho: int, wo: int) -> np.ndarray:
    """A read-only view (N, C, Ho, Wo, kh, kw) of the windows of a padded map."""
    (kh, kw), (sh, sw) = attrs["kernel"], attrs["stride"]
    v = sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return v[:, :, : (ho - 1) * sh + 1: sh, : (wo - 1) * sw + 1: sw]


def scatter_windows(dcols: np.ndarray, attrs: dict, shape: tuple[int, ...]) -> np.ndarray:
    """Adjoint of ``windows``: add per-window values (N, C, Ho, Wo, kh, kw) back onto an unpadded map."""
    (kh, kw), (sh, sw), (pt, pl, _, _) = attrs["kernel"], attrs["stride"], attrs["pads"]
    n, c, ho, wo = dcols.shape[:4]
    h, w = shape[2], shape[3]
    big = np.zeros((n, c, max(h + pt, (ho - 1) * sh + kh) + kh, max(w + pl, (wo - 1) * sw + kw) + kw), dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            big[:, :, i: i + (ho - 1) * sh + 1: sh, j: j + (wo - 1) * sw + 1: sw] += dcols[:, :, :, :, i, j]
    return big[:, :, pt: pt + h, pl: pl + w]


def conv_cols(x: np.ndarray, attrs: dict, groups: int) -> tuple[np.ndarray, int, int]:
    """im2col per group: (G, N*Ho*Wo, C/G*kh*kw), contiguous, plus Ho, Wo."""
    n, c = x.shape[:2]
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    v = windows(padded(x, attrs), attrs, ho, wo)  # N, C, Ho, Wo, kh, kw
    v = v.reshape(n, groups, c // groups, ho, wo, *v.shape[4:]).transpose(1, 0, 3, 4, 2, 5, 6)
    return np.ascontiguousarray(v).reshape(groups, n * ho * wo, -1), ho, wo


def conv(x: np.ndarray, weight: np.ndarray, attrs: dict, cols=None) -> np.ndarray:
    """Grouped 2-D convolution without bias (cross-correlation, as ONNX Conv)."""
    groups = int(attrs.get("groups", 1))
    cols, ho, wo = cols if cols is not None else conv_cols(x, attrs, groups)
    o = weight.shape[0]
    wg = weight.reshape(groups, o // groups, -1)
    y = np.matmul(cols, wg.transpose(0, 2, 1))  # G, N*Ho*Wo, O/G
    n = x.shape[0]
    return y.reshape(groups, n, ho, wo, o // groups).transpose(1, 0, 4, 2, 3).reshape(n, o, ho, wo)


def conv_backward(x: np.ndarray, weight: np.ndarray, dy: np.ndarray, attrs: dict, need_dx: bool = True):
    """(dx, dweight) of ``conv`` for an output gradient dy (N, O, Ho, Wo)."""
    groups = int(attrs.get("groups", 1))
    cols, ho, wo = conv_cols(x, attrs, groups)
    n, o = dy.shape[:2]
    dyg = dy.reshape(n, groups, o // groups, ho * wo).transpose(1, 0, 3, 2).reshape(groups, n * ho * wo, -1)
    dw = np.matmul(dyg.transpose(0, 2, 1), cols).reshape(weight.shape)
    if not need_dx:
        return None, dw
    wg = weight.reshape(groups, o // groups, -1)
    dcols = np.matmul(dyg, wg)  # G, N*Ho*Wo, C/G*kh*kw
    kh, kw = attrs["kernel"]
    cg = x.shape[1] // groups
    dcols = dcols.reshape(groups, n, ho, wo, cg, kh, kw).transpose(1, 0, 4, 2, 3, 5, 6)
    dcols = dcols.reshape(n, groups * cg, ho, wo, kh, kw)
    return scatter_windows(dcols, attrs, x.shape), dw


def maxpool(x: np.ndarray, attrs: dict, fill) -> np.ndarray:
    """Max over each window; padding holds ``fill`` (the dtype's minimum), so it never wins."""
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    return windows(padded(x, attrs, fill), attrs, ho, wo).max(axis=(4, 5))


def maxpool_backward(x: np.ndarray, dy: np.ndarray, attrs: dict, fill) -> np.ndarray:
    """Route each output's gradient to the first maximum of its window in row-major window order."""
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    v = windows(padded(x, attrs, fill), attrs, ho, wo)
    n, c = v.shape[:2]
    flat = v.reshape(n, c, ho, wo, -1)
    first = flat.argmax(axis=4)  # argmax returns the first occurrence of the maximum
    onehot = np.zeros(flat.shape, dy.dtype)
    np.put_along_axis(onehot, first[..., None], dy[..., None], axis=4)
    return scatter_windows(onehot.reshape(v.shape), attrs, x.shape)


def pool_counts(shape: tuple[int, ...], attrs: dict) -> np.ndarray:
    """Per output position, the divisor of an average pool (Ho, Wo), following ONNX/torch:
    count_include_pad counts explicit padding but never the extra ceil_mode overhang."""
    ho, wo = out_hw(shape[2], shape[3], attrs)
    (pt, pl, pb, pr) = attrs["pads"]
    ones = np.ones((1, 1, shape[2], shape[3]), np.int64)
    if attrs.get("count_include_pad"):
        ones = np.pad(ones, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=1)
        a = dict(attrs, pads=(0, 0, 0, 0))
    else:
        a = attrs
    counts = windows(padded(ones, a), a, ho, wo).sum(axis=(4, 5))[0, 0]
    return counts


def window_sum(x: np.ndarray, attrs: dict) -> np.ndarray:
    ho, wo = out_hw(x.shape[2], x.shape[3], attrs)
    return windows(padded(x, attrs), attrs, ho, wo).sum(axis=(4, 5))


def spread_windows(dy: np.ndarray, attrs: dict, shape) -> np.ndarray:
    """Adjoint of ``window_sum``: each output's value added to every input of its window."""
    kh, kw = attrs["kernel"]
    return scatter_windows(np.broadcast_to(dy[..., None, None], dy.shape + (kh, kw)), attrs, shape)


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
