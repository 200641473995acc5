"""The integer primitives of docs/numerics.md, checked against exact rational arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hilt.quant import Format, frac_for, requantize, saturate, shift_round, wrap

ints48 = st.integers(-(1 << 47), (1 << 47) - 1)


def exact_round_half_up(v: int, s: int) -> int:
    return math.floor(Fraction(v, 1 << s) + Fraction(1, 2)) if s >= 0 else v * (1 << -s)


@given(ints48, st.integers(-8, 40))
def test_shift_round_is_round_half_up_of_the_exact_quotient(v, s):
    assert int(shift_round(np.int64(v), s)) == exact_round_half_up(v, s)


@given(st.integers(1, 30), st.integers(-(1 << 20), 1 << 20))
def test_ties_round_up_also_for_negative_values(s, k):
    tie = (2 * k + 1) << (s - 1)  # exactly (k + 1/2) * 2**s
    assert int(shift_round(np.int64(tie), s)) == k + 1
    assert int(shift_round(np.int64(-tie), s)) == -k  # -(k + 1/2) rounds up to -k


@given(ints48, st.sampled_from([8, 16, 32]))
def test_saturate_clamps_to_the_signed_range(v, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    assert int(saturate(np.int64(v), bits)) == min(max(v, lo), hi)


@given(st.integers(-(1 << 62), (1 << 62) - 1), st.sampled_from([8, 16, 32, 48]))
def test_wrap_is_twos_complement_modulo(v, bits):
    m = 1 << bits
    expected = (v + m // 2) % m - m // 2
    assert int(wrap(np.int64(v), bits)) == expected


@given(ints48, st.integers(-4, 30), st.sampled_from([8, 16]))
def test_requantize_shifts_then_saturates(v, s, bits):
    assert int(requantize(np.int64(v), s, bits)) == int(saturate(np.int64(exact_round_half_up(v, s)), bits))


@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-6, 20), st.sampled_from([8, 16]))
def test_format_to_int_rounds_half_up_and_saturates(x, frac, bits):
    f = Format(bits, frac)
    exact = math.floor(Fraction(x) * Fraction(2) ** frac + Fraction(1, 2))
    assert int(f.to_int(x)) == min(max(exact, f.qmin), f.qmax)


@given(st.floats(1e-6, 1e6), st.sampled_from([8, 16, 32]))
@example(4065.0, 8)  # 4065 * 2**-5 = 127.03 rounds to 127: fits, although log2(127 / 4065) < -5
@settings(max_examples=200)
def test_frac_for_is_the_finest_format_that_does_not_saturate(m, bits):
    frac = frac_for(m, bits)
    hi = (1 << (bits - 1)) - 1
    assert math.floor(m * 2.0 ** frac + 0.5) <= hi
    assert math.floor(m * 2.0 ** (frac + 1) + 0.5) > hi


def test_corners_named_in_the_contract():
    assert int(shift_round(np.int64(5), 0)) == 5  # s == 0: no rounding
    assert int(shift_round(np.int64(-3), -2)) == -12  # s < 0: exact left shift
    assert int(requantize(np.int64(1 << 40), 10, 8)) == 127  # positive saturation
    assert int(requantize(np.int64(-(1 << 40)), 10, 8)) == -128  # negative saturation
    assert int(wrap(np.int64((1 << 31)), 32)) == -(1 << 31)  # accumulator overflow wraps
    assert Format(8, 7).to_int(-1.0) == -128 and Format(8, 7).to_int(1.0) == 127


def test_numerics_h_equals_the_python_primitives_at_the_corners(tmp_path):
    """hw/hls/hilt/numerics.h (what the generated HLS computes with) against the golden model's primitives
    and exact arithmetic, at the corners: zero, +-1, powers of two and their neighbours up to 2^62, every
    wrap width from 2 to 64, saturation widths 2..48, shifts -8..40 with ties, requantize's order."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    binary = tmp_path / "numerics"
    subprocess.run(["g++", "-std=c++14", "-O2", "-Wall", "-Werror", f"-I{root / 'hw' / 'hls'}",
                    str(root / "tests" / "hls" / "test_numerics.cpp"), "-o", str(binary)], check=True)
    values = sorted({0, 1, -1} | {sgn * ((1 << k) + d) for k in (1, 7, 8, 15, 16, 31, 32, 47, 48, 61)
                                   for d in (-1, 0, 1) for sgn in (1, -1)} | {(1 << 62) - 1, -(1 << 62)})
    cases, expected = [], []
    for v in values:
        for bits in range(2, 65):
            cases.append(f"w {v} {bits} 0")
            expected.append(((v + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1)))  # exact two's complement
            with np.errstate(over="ignore"):  # v + 2^(bits-1) may wrap in int64: that is the point
                assert int(wrap(np.int64(v), bits)) == expected[-1]
        for bits in (2, 8, 16, 32, 48):
            cases.append(f"s {v} {bits} 0")
            expected.append(int(saturate(np.int64(v), bits)))
        for s in range(-8, 41):
            if abs(v) < (1 << 54):  # a left shift by 8 stays inside int64
                cases.append(f"r {v} {s} 0")
                expected.append(exact_round_half_up(v, s))
                assert int(shift_round(np.int64(v), s)) == expected[-1]
                for bits in (8, 16, 32):
                    cases.append(f"q {v} {s} {bits}")
                    expected.append(int(requantize(np.int64(v), s, bits)))
    proc = subprocess.run([str(binary)], input="\n".join(cases) + "\n", capture_output=True, text=True, check=True)
    got = [int(line) for line in proc.stdout.split()]
    assert len(got) == len(expected)
    bad = [(c, g, e) for c, g, e in zip(cases, got, expected) if g != e]
    assert not bad, bad[:5]
