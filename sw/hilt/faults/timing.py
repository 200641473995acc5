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

from .chip import Chip


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
        step = np.clip(np.minimum(covered, n - covered), 0, None)
        if not step.any():
            return x
        x &= x << step
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


def accumulate(init: np.ndarray, products: np.ndarray, depth: np.ndarray, width: int):
    """Sequential accumulation ``init + products[..., 0] + products[..., 1] + ...`` under timing.

    init: (M,) accumulator start (the bias); products: (M, K); depth: (M,) settled carry depth of each
    accumulation's lane. Returns (final accumulator values (M,), failed additions per accumulation (M,)).
    Accumulations whose lane settles every carry (depth >= width) are summed exactly without the loop.
    """
    acc = np.asarray(init, np.int64).copy()
    fails = np.zeros(acc.shape, np.int64)
    slow = depth < width
    half = np.int64(1) << np.int64(width - 1)
    wrap = lambda v: ((v + half) & ((half << 1) - 1)) - half  # noqa: E731 - two's complement wrap
    if (~slow).any():
        acc[~slow] = wrap(acc[~slow] + products[~slow].sum(axis=1))
    if slow.any():
        a, p, d = acc[slow], products[slow], depth[slow]
        f = np.zeros(a.shape, np.int64)
        for k in range(p.shape[1]):
            a, failed = add_with_timing(a, p[:, k], d, width)
            f += failed
        acc[slow], fails[slow] = a, f
    return acc, fails
