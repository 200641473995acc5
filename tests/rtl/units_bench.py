"""cocotb bench of the kernel units in tb_units.sv, each against the golden numerics (integer ==).

Run by test_units.py through hilt.rtl.sim (one cached Verilator build). Streams see random gaps in
valid (upstream) and ready (downstream).
"""

from __future__ import annotations

import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, Timer

from hilt.golden.forward import INT_FILL
from hilt.quant import requantize, wrap
from hilt.reference import windows as win

SEED = 7


def _pack(values, bits):
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return out


def _unpack(word, n, bits):
    vals = [(int(word) >> (i * bits)) & ((1 << bits) - 1) for i in range(n)]
    return [v - (1 << bits) if v >> (bits - 1) else v for v in vals]


async def _drive(dut, prefix, words, rng):
    valid, ready, data = (getattr(dut, f"{prefix}_s_{s}") for s in ("valid", "ready", "data"))
    for w in words:
        while rng.random() < 0.3:  # a gap in TVALID
            valid.value = 0
            await RisingEdge(dut.clk)
        valid.value = 1
        data.value = w
        await RisingEdge(dut.clk)
        while not int(ready.value):
            await RisingEdge(dut.clk)
    valid.value = 0


async def _collect(dut, prefix, n, rng):
    valid, ready, data = (getattr(dut, f"{prefix}_m_{s}") for s in ("valid", "ready", "data"))
    out = []
    while len(out) < n:
        ready.value = int(rng.random() >= 0.3)  # a gap in TREADY
        await RisingEdge(dut.clk)
        if int(valid.value) and int(ready.value):
            out.append(int(data.value))
    ready.value = 0
    return out


async def _start(dut):
    Clock(dut.clk, 10, "ns").start()
    for name in dir(dut):
        if name.endswith(("_s_valid", "_m_ready", "_we")):
            getattr(dut, name).value = 0
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 4)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 1)


async def _stream(dut, prefix, words, n_out, rng):
    drv = cocotb.start_soon(_drive(dut, prefix, words, rng))
    out = await _collect(dut, prefix, n_out, rng)
    await drv
    return out


@cocotb.test()
async def requant_matches_golden(dut):
    """Round half up (negative values too), saturation both ways, s <= 0, and the fused ReLU."""
    rng = np.random.default_rng(SEED)
    accs = [0, 1, -1, 15, 16, 17, -16, -17, -48, 127, -128, 2**31 - 1, -2**31, 4064, 4063, -4096, -4097]
    accs += [int(v) for v in rng.integers(-2**31, 2**31, 300)] + [int(v) for v in rng.integers(-9000, 9000, 300)]
    shifts = {"rq_m3": -3, "rq_0": 0, "rq_1": 1, "rq_5": 5, "rq_12": 12, "rq_35": 35}
    for acc in accs:
        dut.rq_acc.value = acc & 0xFFFFFFFF
        await Timer(1, "ns")
        for port, s in shifts.items():
            got = _unpack(getattr(dut, port).value, 1, 8)[0]
            assert got == int(requantize(acc, s, 8)), f"requantize({acc}, {s}): RTL {got}"
        got = _unpack(dut.rq_5r.value, 1, 8)[0]
        assert got == max(0, int(requantize(acc, 5, 8))), f"requantize+relu({acc}, 5): RTL {got}"


@cocotb.test()
async def skid_keeps_order_under_backpressure(dut):
    await _start(dut)
    rng = random.Random(SEED)
    words = [rng.randrange(1 << 16) for _ in range(300)]
    assert await _stream(dut, "sk", words, len(words), rng) == words


@cocotb.test()
async def maxpool_matches_golden(dut):
    await _start(dut)
    rng, nrng = random.Random(SEED), np.random.default_rng(SEED)
    attrs = {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0)}
    for _ in range(2):
        x = nrng.integers(-128, 128, (1, 3, 7, 5))
        words = [_pack(x[0, :, i, j], 8) for i in range(7) for j in range(5)]
        ref = win.maxpool(x, attrs, INT_FILL)[0]  # (3, 3, 2)
        out = await _stream(dut, "mp", words, ref.shape[1] * ref.shape[2], rng)
        got = np.array([_unpack(w, 3, 8) for w in out]).reshape(ref.shape[1], ref.shape[2], 3).transpose(2, 0, 1)
        assert np.array_equal(got, ref), f"max pool differs:\n{got}\n{ref}"


async def _load(dut, prefix, weights, bias):
    for i, w in enumerate(weights):
        getattr(dut, f"{prefix}_w_we").value = 1
        getattr(dut, f"{prefix}_w_addr").value = i
        getattr(dut, f"{prefix}_w_data").value = int(w) & 0xFF
        await RisingEdge(dut.clk)
    getattr(dut, f"{prefix}_w_we").value = 0
    for i, b in enumerate(bias):
        getattr(dut, f"{prefix}_b_we").value = 1
        getattr(dut, f"{prefix}_b_addr").value = i
        getattr(dut, f"{prefix}_b_data").value = int(b) & 0xFFFFFFFF
        await RisingEdge(dut.clk)
    getattr(dut, f"{prefix}_b_we").value = 0


def _golden_linear(acc, bias, shift):
    b = np.asarray(bias).reshape((1, -1) + (1,) * (acc.ndim - 2))
    return requantize(wrap(acc + b, 32), shift, 8)


@cocotb.test()
async def conv_mvu_matches_golden(dut):
    """Stride 2, padding 1 (zero reads at the border), PE 2 x SIMD 3 folding, two samples back to back."""
    await _start(dut)
    rng, nrng = random.Random(SEED), np.random.default_rng(SEED)
    attrs = {"kernel": (3, 3), "stride": (2, 2), "pads": (1, 1, 1, 1), "groups": 1}
    w = nrng.integers(-128, 128, (4, 3, 3, 3))
    bias = nrng.integers(-3000, 3000, 4)
    await _load(dut, "cv", w.reshape(-1), bias)
    x = nrng.integers(-128, 128, (2, 3, 7, 6))
    words = [_pack(x[n, :, i, j], 8) for n in range(2) for i in range(7) for j in range(6)]
    ref = _golden_linear(win.conv(x, w, attrs).astype(np.int64), bias, 6)  # (2, 4, 4, 3)
    out = await _stream(dut, "cv", words, 2 * 4 * 3, rng)
    got = np.array([_unpack(v, 4, 8) for v in out]).reshape(2, 4, 3, 4).transpose(0, 3, 1, 2)
    assert np.array_equal(got, ref), f"conv differs:\n{got}\n{ref}"


@cocotb.test()
async def conv_mvu_two_pixels_per_beat_matches_golden(dut):
    """Two pixels per input beat (a ppc 2 window generator), stride 1 x 2, padding 2 on top and 1 below, a
    3 x 2 kernel, four samples back to back: the 6-row line buffer wraps inside each sample."""
    await _start(dut)
    rng, nrng = random.Random(SEED + 1), np.random.default_rng(SEED + 1)
    attrs = {"kernel": (3, 2), "stride": (1, 2), "pads": (2, 0, 1, 0), "groups": 1}
    w = nrng.integers(-128, 128, (3, 2, 3, 2))
    bias = nrng.integers(-3000, 3000, 3)
    await _load(dut, "cw", w.reshape(-1), bias)
    x = nrng.integers(-128, 128, (4, 2, 7, 6))
    words = [_pack(np.concatenate([x[n, :, i, j], x[n, :, i, j + 1]]), 8)
             for n in range(4) for i in range(7) for j in range(0, 6, 2)]
    ref = _golden_linear(win.conv(x, w, attrs).astype(np.int64), bias, 4)  # (4, 3, 8, 3)
    assert ref.shape == (4, 3, 8, 3)
    out = await _stream(dut, "cw", words, 4 * 8 * 3, rng)
    got = np.array([_unpack(v, 3, 8) for v in out]).reshape(4, 8, 3, 3).transpose(0, 3, 1, 2)
    assert np.array_equal(got, ref), f"conv differs:\n{got}\n{ref}"


@cocotb.test()
async def dense_mvu_matches_golden(dut):
    """A negative shift (left shift, then saturation) and accumulator wrap-around at 32 bits; two multiplies
    a DSP (rows 0-1 and 2-3 packed, row 4 alone) at the operands' extremes: -128 x -128 in either half."""
    await _start(dut)
    rng, nrng = random.Random(SEED), np.random.default_rng(SEED)
    w = nrng.integers(-128, 128, (5, 12))
    w[0:2, 0:4] = [[-128, -128, 127, 0], [-128, 127, -128, -1]]
    w[2:4, 4:8] = [[127, -128, 0, -1], [-128, -128, -128, 127]]
    bias = np.array([2**31 - 100, -2**31 + 50, 0, 40, -40])  # the first two wrap in the accumulator
    await _load(dut, "dn", w.reshape(-1), bias)
    x = nrng.integers(-128, 128, (3, 12))
    x[0, 0:8] = [-128, -128, -128, 127, -128, 127, -1, -128]
    words = [_pack(x[n, 4 * b:4 * b + 4], 8) for n in range(3) for b in range(3)]
    ref = _golden_linear(x @ w.T, bias, -1)
    out = await _stream(dut, "dn", words, 3, rng)
    got = np.array([_unpack(v, 5, 8) for v in out])
    assert np.array_equal(got, ref), f"dense differs:\n{got}\n{ref}"
