"""The carry-chain timing model: which carries are timed, checked against a bit-by-bit carry chain."""

from __future__ import annotations

import numpy as np
import pytest

from hilt.faults.timing import add_with_timing


def chain_reference(a: int, b: int, depth: int, width: int) -> tuple[int, bool]:
    """One addition on a bit-serial model of the FPGA carry chain (CARRY4/CARRY8 MUXCY).

    Bit i propagates the carry from below when a_i != b_i, else its carry-out is a_i at once. Each carry
    records how many stages it has passed; a carry that passed more than ``depth`` is late, and the
    register keeps its previous value (a) from the first late carry-in bit upwards."""
    mask = (1 << width) - 1
    au, bu = a & mask, b & mask
    total = (au + bu) & mask
    carry, stages, first_late = 0, 0, None
    for i in range(width - 1):
        ai, bi = (au >> i) & 1, (bu >> i) & 1
        if ai != bi:
            stages = stages + 1 if carry else 0
        else:
            carry, stages = ai, 1 if ai else 0
        if carry and stages > depth and first_late is None:
            first_late = i + 1
    if first_late is None:
        reg = total
    else:
        keep = (1 << first_late) - 1
        reg = (total & keep) | (au & ~keep & mask)
    return reg - (1 << width) if reg >> (width - 1) else reg, first_late is not None


def test_generated_carries_do_not_ripple_but_a_sign_change_does():
    one = np.array([1])
    # -1 + -1: every upper bit generates its own carry-out; nothing ripples
    reg, failed = add_with_timing(np.array([-1]), np.array([-1]), one, 32)
    assert not failed[0] and reg[0] == -2
    # -3 + 5: the carry born at bit 2 ripples through every upper (propagate) bit
    reg, failed = add_with_timing(np.array([-3]), np.array([5]), 4 * one, 32)
    assert failed[0] and reg[0] == ((-1 << 7) | 0b0010)  # new bits 0-6, stale (-3) bits from bit 7 up
    assert not add_with_timing(np.array([-3]), np.array([5]), 29 * one, 32)[1][0]  # 29 stages: settles


def test_with_no_budget_even_a_generated_carry_is_late():
    for depth in (0, -1):
        reg, failed = add_with_timing(np.array([-1, 4]), np.array([-1, 3]), np.array([depth, depth]), 32)
        assert list(failed) == [True, False]  # 4 + 3 has no carry at all
        assert list(reg) == [-2, 7]


@pytest.mark.parametrize("width", [8, 16, 32])
def test_add_with_timing_is_the_bit_serial_carry_chain(rng, width):
    half = 1 << (width - 1)
    small = rng.integers(-40, 40, 600)  # sign changes near zero: the long chains
    wide = rng.integers(-half, half, 600)
    a = np.concatenate([small, wide, small])
    b = np.concatenate([rng.integers(-40, 40, 600), rng.integers(-half, half, 600), wide])
    depth = rng.integers(-1, width + 1, a.size)
    reg, failed = add_with_timing(a, b, depth, width)
    expected = [chain_reference(int(x), int(y), int(d), width) for x, y, d in zip(a, b, depth)]
    assert list(reg) == [r for r, _ in expected]
    assert list(failed) == [f for _, f in expected]
    assert failed.any() and not failed.all()
