"""Timing errors of overclocked accumulators: the carry that does not arrive in time.

A MAC lane adds one product per cycle into its accumulator register through an FPGA carry chain
(CARRY4/CARRY8): bit i propagates when a_i != b_i (its MUXCY passes the carry from below) and
otherwise generates (a_i = b_i = 1) or kills (a_i = b_i = 0) its carry-out at once. A carry born at
bit i that ripples through the propagate bits i+1 .. i+L passes L + 1 carry stages; the addition
settles after ``d0 + d_bit * stages``. With a budget of ``depth`` stages per clock period, the carry
into bit i+1+k arrives late when k >= depth: the register captures the sum's bits below the first
late bit and keeps the previous cycle's (stale) value in that bit and every bit above it. Only rising
carries that propagate are timed (see docs/chip.md for what is left out and why). The error therefore
depends on the data (which additions have long propagate runs), on the lane (its delay factor), on
the environment, and on the clock. The design closes timing at f_safe for the worst corner (slowest
lane, hottest rated temperature, a full-width carry chain), so at or below f_safe no addition can fail.

``accumulate`` is the exact model: every addition of every accumulation, in order. It is vectorised
over all accumulations of a layer, sequential over the products, like the hardware.
"""

from __future__ import annotations

import numpy as np

from ..quant import wrap
from .chip import Chip

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _bitwise_count(a: np.ndarray) -> np.ndarray:
    """Ones per element of an unsigned integer array: numpy's bitwise_count where it exists (numpy >= 2), a
    byte table where it does not (the simulated board runs on numpy 1.x, as PYNQ images do)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(a)
    a = np.ascontiguousarray(a)
    return _POPCOUNT8[a.view(np.uint8).reshape(a.shape + (a.itemsize,))].sum(axis=-1, dtype=np.uint8)


def settle_depth(chip: Chip, freq_mhz: float, lane_factor: np.ndarray, width: int) -> np.ndarray:
    """Per lane, the number of carry stages that settle within one clock period (>= width: never fails).

    Units: the worst corner's full-width chain (width stages) takes exactly 1/f_safe, so
    d0 + d_bit * width = 1 / (f_safe * corner); d0 is FIXED_FRACTION of that. The longest chain that
    reaches a register bit has width - 1 stages (born at bit 0, carried into the top bit; the top bit's
    carry-out is dropped by the wrap), so at or below f_safe every carry settles with a stage to spare."""
    worst = 1.0 / (chip.f_safe_mhz * chip.corner_factor)
    d0 = chip.FIXED_FRACTION * worst
    d_bit = (worst - d0) / width
    available = (1.0 / freq_mhz) / (np.asarray(lane_factor) * chip.env_factor)
    depth = np.floor((available - d0) / d_bit + 1e-9).astype(np.int64)
    return np.clip(depth, -1, width)


def _run_at_least(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Bits of c that end a run of at least n consecutive ones (n per element, >= 1), in O(log n)."""
    x = c.copy()
    covered = np.ones_like(n)
    while True:
        step = np.maximum(np.minimum(covered, n - covered), 0)
        if not step.any():
            return x
        x &= x << step.astype(x.dtype)
        covered += step


def late_carries(au: np.ndarray, bu: np.ndarray, total: np.ndarray, depth: np.ndarray, mask) -> np.ndarray:
    """Carry-in bits that arrive after the clock edge, for unsigned operands and their wrapped sum.

    A carry-in that came through a propagate bit (``rippled``) extends the chain below it; one whose
    bit below generated it starts a chain of one stage. A run of n ones in ``rippled`` is therefore a
    chain of n + 1 stages, and its k-th bit is late when k >= depth. With depth <= 0 not even a
    locally generated carry settles: every carry-in bit is late."""
    carries = (total ^ au ^ bu) & mask  # bit i set: a carry arrives at bit i
    rippled = carries & ((au ^ bu) << 1) & mask
    late = _run_at_least(rippled, np.maximum(depth, 1))
    return np.where(depth > 0, late, carries)


def add_with_timing(a: np.ndarray, b: np.ndarray, depth: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One clocked addition per element: (register value, failed?) for a budget of ``depth`` carry stages."""
    mask = (np.int64(1) << np.int64(width)) - 1
    au, bu = a & mask, b & mask
    total = (au + bu) & mask
    late = late_carries(au, bu, total, np.asarray(depth), mask)
    failed = late != 0
    low = late & -late  # first bit the carry reached too late
    keep = np.where(failed, low - 1, mask)
    reg = (total & keep) | (au & ~keep & mask)
    half = np.int64(1) << np.int64(width - 1)
    return ((reg + half) & mask) - half, failed


def can_fail(depth: np.ndarray, width: int) -> np.ndarray:
    """Lanes whose budget is short of the longest chain that reaches a register bit (width - 1 stages:
    born at bit 0, carried into the top bit); the others compute the exact sum at this clock."""
    return np.asarray(depth) <= width - 2


def accumulate(init: np.ndarray, products: np.ndarray, depth: np.ndarray, width: int):
    """Sequential accumulation ``init + products[..., 0] + products[..., 1] + ...`` under timing.

    init: (M,) accumulator start (the bias); products: (M, K); depth: (M,) settled carry depth of each
    accumulation's lane. Returns (final accumulator values (M,), failed additions per accumulation (M,)).
    This is the reference: every addition, in order, as the hardware does them. Accumulations whose
    lane cannot fail are summed exactly without the loop.
    """
    return _split_settled(init, products, depth, width, _sequential)


def accumulate_fast(init: np.ndarray, products: np.ndarray, depth: np.ndarray, width: int):
    """The same integers as :func:`accumulate`, from prefix sums instead of a loop over the products.

    Until its first failure an accumulation holds the exact running sum, so every addition's operands
    are known at once (a cumulative sum) and the additions that fail can be found together. Each
    accumulation jumps to its first failure, applies it, and goes on from there; most have none.
    Fastest when ``products`` is the transpose of a C-ordered (K, M) array: the cumulative sums then
    run over whole contiguous rows."""
    return _split_settled(init, products, depth, width, _fast)


def _split_settled(init, products, depth, width, timed):
    """Exact wrapped sums where every carry settles; ``timed`` for the accumulations that can fail."""
    acc = np.asarray(init, np.int64).copy()
    fails = np.zeros(acc.shape, np.int64)
    slow = can_fail(depth, width)
    if slow.all():  # the emulator passes only lanes that can fail: no copies
        return timed(acc, products, np.asarray(depth), width)
    acc[~slow] = wrap(acc[~slow] + products[~slow].sum(axis=1, dtype=np.int64), width)
    if slow.any():
        acc[slow], fails[slow] = timed(acc[slow], products[slow], np.asarray(depth)[slow], width)
    return acc, fails


def _sequential(acc, products, depth, width):
    fails = np.zeros(acc.shape, np.int64)
    for k in range(products.shape[1]):
        acc, failed = add_with_timing(acc, products[:, k].astype(np.int64), depth, width)
        fails += failed
    return acc, fails


BLOCK = 4096  # accumulations per pass of the fast path: a window's temporaries stay in the cache


def _fast(acc, products, depth, width):
    """Fast path over blocks of accumulations; lanes that settle no carry at all fail almost every
    addition, so the prefix-sum shortcut cannot skip anything there: they take the sequential loop."""
    fails = np.zeros(acc.shape, np.int64)
    cols = products.T  # (K, M): one accumulation per column
    if cols.shape[0] == 0:
        return acc, fails
    hopeless = depth <= 0
    if hopeless.any():
        acc[hopeless], fails[hopeless] = _sequential(acc[hopeless], products[hopeless], depth[hopeless], width)
    timed = np.flatnonzero(~hopeless)
    step = BLOCK
    for i in range(0, timed.size, step):
        r = timed[i:i + step]
        if r[-1] - r[0] + 1 == r.size:
            r = slice(r[0], r[-1] + 1)  # a view, not a copy
        acc[r], fails[r] = _fast_block(acc[r], cols[:, r], depth[r], width)
    return acc, fails


WINDOW = 32  # products per step of the fast path: what a failure can make it redo


def _fast_block(acc, cols, depth, width):
    """Accumulations (columns of cols) with 0 < depth, a window of products at a time: all of them
    through the window at once, then those that failed again from just after their failure, until
    every one has reached the window's end. Dense failures cost at most a window's rework each."""
    acc, fails = acc.copy(), np.zeros(acc.shape, np.int64)
    k = cols.shape[0]
    for lo in range(0, k, WINDOW):
        hi = min(lo + WINDOW, k)
        rows = np.arange(acc.size)  # accumulations that have not reached the window's end
        start = np.full(acc.size, lo)  # index of each one's next product
        while rows.size:
            window = _remaining(cols[:hi], rows, start)
            first, before, total = _first_failure(acc[rows], window, depth[rows], width)
            done = first < 0
            acc[rows[done]] = total[done]
            failing = np.flatnonzero(~done)
            rows, first = rows[failing], first[failing]
            acc[rows], _ = add_with_timing(before[failing], window[first, failing].astype(np.int64),
                                           depth[rows], width)
            fails[rows] += 1
            start[rows] += first + 1
            rows = rows[start[rows] < hi]
    return acc, fails


def _remaining(cols, rows, start):
    """Each accumulation's products from its own start on, top-aligned and padded with zeros (an added
    zero carries nothing, so it can neither fail nor change the sum)."""
    k = cols.shape[0]
    begin = start[rows]
    lo = int(begin.min())
    if (begin == lo).all():
        return cols[lo:] if rows.size == cols.shape[1] else cols[lo:, rows]
    idx = begin[None, :] + np.arange(k - lo)[:, None]
    picked = np.take_along_axis(cols[:, rows], np.minimum(idx, k - 1), axis=0)
    return np.where(idx < k, picked, 0).astype(cols.dtype, copy=False)


def _first_failure(acc, cols, depth, width):
    """For accumulations (columns) that start at ``acc`` and are exact until they fail: the index of
    each one's first failing addition (-1: none), the accumulator value before it, and the total.

    Works in the accumulator's own unsigned arithmetic (uint32 wraps exactly as a 32-bit register),
    forms the running sums of all additions at once, and checks exactly only a few candidates."""
    signed, unsigned = (np.int32, np.uint32) if width <= 32 else (np.int64, np.uint64)
    mask = None if width == 8 * np.dtype(unsigned).itemsize else unsigned((1 << width) - 1)
    b = cols.astype(signed, copy=False).view(unsigned)
    after = np.empty(b.shape, unsigned)  # the accumulator after each addition
    np.add(b[0], acc.astype(signed).view(unsigned), out=after[0])
    for i in range(1, len(b)):  # row by row: numpy's cumsum along axis 0 is several times slower
        np.add(after[i - 1], b[i], out=after[i])
    if mask is not None:
        b = b & mask
        after &= mask
    ki, ri = _candidates(after, b, depth, width, mask)  # row-major: each column's additions in order
    rippled = _rippled(after[ki, ri], b[ki, ri], mask)
    enough = _bitwise_count(rippled) >= depth[ri]  # a run of depth ones needs that many ones
    ki, ri, rippled = ki[enough], ri[enough], rippled[enough]
    late = _run_at_least(rippled, depth[ri]) != 0
    ki, ri = ki[late], ri[late]
    first = np.full(acc.size, -1, np.int64)
    failing, at = np.unique(ri, return_index=True)
    first[failing] = ki[at]
    before = np.zeros(acc.size, np.int64)
    before[failing] = (after[first[failing], failing] - b[first[failing], failing]).astype(np.int64)
    return first, wrap(before, width), wrap(after[-1].astype(np.int64), width)


def _candidates(after, b, depth, width, mask):
    """(row, column) of the additions that may fail, a superset of those that do.

    A carry rippling through a propagate bit leaves a 0 in the sum there, so a chain of ``depth``
    rippled carries leaves ``depth`` zero bits in a row within bits 1 .. width-2, and every such row
    covers the middle bits width-1-depth .. depth: only sums with those bits clear can fail (small
    non-negative sums, in practice). Budgets too short for that argument count rippled carries."""
    lo = width - 1 - depth
    if (lo <= depth).all():
        middle = ((1 << (depth + 1)) - (1 << lo)).astype(after.dtype)
        return np.nonzero((after & middle) == 0)
    return np.nonzero(_bitwise_count(_rippled(after, b, mask)) >= depth.astype(np.uint8))


def _rippled(after, b, mask):
    """Carry-in bits that arrived through a propagate bit, from a sum and the operand added to it."""
    prop = after - b  # the other operand, then the propagate bits
    if mask is not None:
        prop &= mask
    prop ^= b
    rippled = after ^ prop  # all carry-in bits
    prop <<= prop.dtype.type(1)
    rippled &= prop
    if mask is not None:
        rippled &= mask
    return rippled
