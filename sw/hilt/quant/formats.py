"""Fixed-point formats and the integer primitives of the numerics contract (docs/numerics.md).

A value is a signed two's-complement integer q of ``bits`` bits with ``frac`` fraction bits:
value = q * 2**-frac. Every implementation (golden model, emulator, HLS, RTL) uses exactly these
rounding, saturation, wrap and shift rules; the property tests pin each corner down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ACC_BITS = {8: 32, 16: 48}  # accumulator width for each operand width
ERR_BITS = 16  # backward errors
GRAD_ACC_BITS = 48  # weight-gradient accumulator
GRAD_BITS = 32  # weight gradients as they leave the accelerator


def qmin(bits: int) -> int:
    return -(1 << (bits - 1))


def qmax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def saturate(v, bits: int):
    """Clamp to the signed ``bits`` range."""
    return np.clip(v, qmin(bits), qmax(bits))


def wrap(v, bits: int):
    """Two's-complement wrap-around to ``bits`` (what a fixed-width adder does on overflow)."""
    v = np.asarray(v, np.int64)
    if bits >= 64:
        return v
    half = np.int64(1) << np.int64(bits - 1)
    return ((v + half) & ((half << np.int64(1)) - 1)) - half


def shift_round(v, s: int):
    """v * 2**-s rounded half up: (v + 2**(s-1)) >> s for s > 0 (arithmetic shift), v << -s for s <= 0."""
    v = np.asarray(v, np.int64)
    if s > 0:
        return (v + (np.int64(1) << np.int64(s - 1))) >> np.int64(s)
    if s < 0:
        return v << np.int64(-s)
    return v


def requantize(acc, s: int, bits: int):
    """Accumulator -> output word: shift by s with round-half-up, then saturate (the contract's order)."""
    return saturate(shift_round(acc, s), bits)


@dataclass(frozen=True)
class Format:
    """Signed ``bits``-bit two's complement with ``frac`` fraction bits (frac may be negative)."""

    bits: int
    frac: int

    @property
    def qmin(self) -> int:
        return qmin(self.bits)

    @property
    def qmax(self) -> int:
        return qmax(self.bits)

    @property
    def step(self) -> float:
        return 2.0 ** -self.frac

    def to_int(self, x) -> np.ndarray:
        """Round half up to the grid, then saturate: floor(x * 2**frac + 0.5)."""
        return self.to_grid(x).astype(np.int64)

    def to_grid(self, x) -> np.ndarray:
        """The integers of ``to_int``, as float64 (exact: they fit in ``bits`` bits)."""
        v = np.array(x, np.float64)  # a copy: the same steps then run in place
        v *= 2.0 ** self.frac
        v += 0.5
        np.floor(v, out=v)
        return np.clip(v, self.qmin, self.qmax, out=v)[()]  # [()]: a scalar for a scalar x, as before

    def to_float(self, q) -> np.ndarray:
        return (np.asarray(q, np.float64) * 2.0 ** -self.frac).astype(np.float32)

    def to_json(self) -> list[int]:
        return [self.bits, self.frac]

    def __str__(self) -> str:
        return f"Q{self.bits - 1 - self.frac}.{self.frac}" if self.frac >= 0 else f"s{self.bits}<<{-self.frac}"


def frac_for(max_abs: float, bits: int) -> int:
    """The most fraction bits with which ``max_abs`` still fits in ``bits`` without saturating."""
    if not np.isfinite(max_abs) or max_abs <= 0:
        return bits - 1
    fits = lambda f: math.floor(max_abs * 2.0 ** f + 0.5) <= qmax(bits)  # noqa: E731
    # log2 gives the answer to within one: rounding half up lets values up to qmax + 0.5 fit, and
    # log2 itself rounds; step to the exact boundary either way.
    frac = math.floor(math.log2(qmax(bits) / max_abs))
    while fits(frac + 1):
        frac += 1
    while not fits(frac):
        frac -= 1
    return frac
