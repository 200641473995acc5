"""FAQ: fault-aware quantization. Knowing a chip's stuck-at map, store in each faulty word the integer
whose *read-back* value is closest to the weight, instead of the nearest integer (no retraining).

For every distinct fault pattern (and_mask, or_mask) a lookup table maps each target value to the
best stored word: all 2**bits stored words are read through the pattern once, sorted, and each weight
takes its nearest read-back value by binary search. Fault-free words keep plain rounding.
"""

from __future__ import annotations

import numpy as np

from ..quant import Format
from .memory import FaultMap, to_signed, to_unsigned


def fault_aware_quantize(weight: np.ndarray, fmt: Format, fmap: FaultMap) -> np.ndarray:
    """Stored integers for float ``weight`` in ``fmt`` that minimise |read(stored) - weight| per word."""
    stored = fmt.to_int(weight)
    target = np.asarray(weight, np.float64) * 2.0 ** fmt.frac
    full = (1 << fmt.bits) - 1
    faulty = (fmap.and_mask != full) | (fmap.or_mask != 0)
    if not faulty.any():
        return stored
    candidates = to_signed(np.arange(1 << fmt.bits), fmt.bits)
    patterns = np.stack([fmap.and_mask[faulty], fmap.or_mask[faulty]], axis=1)
    unique, which = np.unique(patterns, axis=0, return_inverse=True)
    which = which.reshape(-1)
    t = target[faulty]
    best = np.empty(t.shape, np.int64)
    for k, (and_mask, or_mask) in enumerate(unique):
        read = to_signed((to_unsigned(candidates, fmt.bits) & and_mask) | or_mask, fmt.bits)
        order = np.argsort(read, kind="stable")
        values, words = read[order], candidates[order]
        sel = which == k
        i = np.clip(np.searchsorted(values, t[sel]), 1, len(values) - 1)
        nearer_left = np.abs(t[sel] - values[i - 1]) <= np.abs(values[i] - t[sel])
        best[sel] = np.where(nearer_left, words[i - 1], words[i])
    stored[faulty] = best
    return stored
