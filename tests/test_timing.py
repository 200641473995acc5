"""The carry-chain timing model: which carries are timed, checked against a bit-by-bit carry chain."""

from __future__ import annotations

import numpy as np
import pytest

from hilt.accel import Emulator
from hilt.faults import Chip
from hilt.faults.timing import accumulate, accumulate_fast, add_with_timing


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


@pytest.mark.parametrize("width", [8, 16, 32, 48])
def test_fast_accumulation_is_the_sequential_one(rng, width):
    """Same integers, not statistically: wraps, dense failures, no budget at all, budgets that settle."""
    half = 1 << (width - 1)
    m = 2400
    for scale in (3, 60, 1 << (width // 2), half):
        k = int(rng.integers(1, 90))
        init = rng.integers(-min(scale, half), min(scale, half), m)
        products = rng.integers(-scale, scale, (m, k))
        for depth in (rng.integers(-2, width + 2, m), rng.integers(width // 2, width, m)):  # any; long only
            exact = accumulate(init, products, depth, width)
            fast = accumulate_fast(init, products, depth, width)
            assert np.array_equal(exact[0], fast[0]) and np.array_equal(exact[1], fast[1])
            assert scale > 60 or exact[1].max() > 1  # near zero some accumulations fail more than once
    # K-major products, the emulator's layout, and no products at all
    products = rng.integers(-60, 60, (70, m)).T
    depth = np.full(m, width // 2 + 3)
    assert all(np.array_equal(u, v) for u, v in zip(accumulate(init, products, depth, width),
                                                     accumulate_fast(init, products, depth, width)))
    empty = np.zeros((m, 0), np.int64)
    assert np.array_equal(accumulate_fast(init, empty, depth, width)[0], init)


def test_emulator_fast_timing_path_is_the_sequential_model(trained_q, mnist_splits):
    x = mnist_splits[1].x[:24]
    for f in (245.0, 280.0, 330.0):
        results = []
        for sequential in (True, False):
            emu = Emulator(Chip(seed=2, temp_c=45.0), sequential_timing=sequential)
            emu.load(trained_q)
            emu.set_clock(f)
            results.append((emu.forward(x, taps=True).taps, emu.counters))
        (exact, c_exact), (fast, c_fast) = results
        assert len(exact) == len(fast) and all(np.array_equal(a, b) for a, b in zip(exact, fast))
        assert c_exact.corrupted_accumulations == c_fast.corrupted_accumulations > 0
        assert c_exact.timing_failures == c_fast.timing_failures
        assert c_exact.per_layer == c_fast.per_layer
