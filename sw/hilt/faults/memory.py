"""Faults in stored words: permanent stuck-at bits, ReRAM multi-bit cells, transient bit flips (SEU).

A permanent fault map of a word is a pair (and_mask, or_mask) over its ``bits``-bit two's-complement
pattern: the value read is ``(stored & and_mask) | or_mask``. Stuck-at-0 bits clear ``and_mask``,
stuck-at-1 bits set ``or_mask``; a ReRAM cell holding ``cell_bits`` bits stuck at its lowest / highest
conductance is all of its bits stuck at 0 / 1. Maps are drawn from the chip's seed and the layer's
name, so a given chip always has the same faulty cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chip import Chip


def to_unsigned(v: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray(v, np.int64) & ((1 << bits) - 1)


def to_signed(u: np.ndarray, bits: int) -> np.ndarray:
    half = 1 << (bits - 1)
    return ((np.asarray(u, np.int64) + half) & ((1 << bits) - 1)) - half


@dataclass
class FaultMap:
    """Per-word masks of one weight tensor; ``read`` applies them."""

    and_mask: np.ndarray
    or_mask: np.ndarray
    bits: int

    def read(self, stored: np.ndarray) -> np.ndarray:
        return to_signed((to_unsigned(stored, self.bits) & self.and_mask) | self.or_mask, self.bits)

    @property
    def faulty_bits(self) -> int:
        full = (1 << self.bits) - 1
        return int(_popcount((~self.and_mask & full) | self.or_mask).sum())

    @classmethod
    def clean(cls, shape, bits: int) -> "FaultMap":
        return cls(np.full(shape, (1 << bits) - 1, np.int64), np.zeros(shape, np.int64), bits)

    def combine(self, other: "FaultMap") -> "FaultMap":
        """Both maps at once (a bit stuck in both keeps the later map's value)."""
        return FaultMap(self.and_mask & other.and_mask, (self.or_mask & other.and_mask) | other.or_mask, self.bits)


def _popcount(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.int64)
    count = np.zeros(v.shape, np.int64)
    while v.any():
        count += v & 1
        v = v >> 1
    return count


def stuck_at_map(chip: Chip, layer: str, shape, bits: int, rate: float, cell_bits: int = 1,
                 kind: str = "stuck-at") -> FaultMap:
    """Each ``cell_bits``-bit cell is faulty with probability ``rate``; a faulty cell is stuck at all
    zeros or all ones with equal probability (cell_bits=1: classic stuck-at-0/1 SRAM bits)."""
    if rate <= 0:
        return FaultMap.clean(shape, bits)
    rng = chip.rng(kind, layer, cell_bits)  # not keyed by rate: a higher rate keeps the lower rate's faults
    cells = -(-bits // cell_bits)
    faulty = rng.random((*shape, cells)) < rate
    high = rng.random((*shape, cells)) < 0.5
    and_mask = np.full(shape, (1 << bits) - 1, np.int64)
    or_mask = np.zeros(shape, np.int64)
    for c in range(cells):
        cell = ((1 << cell_bits) - 1) << (c * cell_bits) & ((1 << bits) - 1)
        and_mask = np.where(faulty[..., c] & ~high[..., c], and_mask & ~cell, and_mask)
        or_mask = np.where(faulty[..., c] & high[..., c], or_mask | cell, or_mask)
    return FaultMap(and_mask, or_mask, bits)


def flip_bits(v: np.ndarray, bits: int, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Transient single-event upsets: every bit of every word flips with probability ``rate``."""
    if rate <= 0 or v.size == 0:
        return v, 0
    n = rng.binomial(v.size * bits, min(rate, 1.0))
    if n == 0:
        return v, 0
    pos = rng.choice(v.size * bits, size=n, replace=False)
    flat = to_unsigned(v, bits).reshape(-1)
    np.bitwise_xor.at(flat, pos // bits, np.int64(1) << (pos % bits).astype(np.int64))
    return to_signed(flat.reshape(v.shape), bits), int(n)
