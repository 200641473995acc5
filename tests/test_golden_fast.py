"""The fast golden path (float arrays holding exact integers, fused layers, split batches) against the
plain int64 definition, with ==, on every layer kind and on the bounds where float32 stops being exact."""

from __future__ import annotations

import numpy as np
import pytest

from hilt import golden
from hilt.golden import fast
from hilt.golden.forward import layer_forward
from hilt.ir import Layer, Network
from hilt.quant import quantize


def _conv(name, c, hw, o, kernel, stride, pads, groups, rng):
    kh, kw = kernel
    layer = Layer(name, "conv", (c, *hw), (), {"kernel": kernel, "stride": stride, "pads": pads, "groups": groups},
                  {"weight": rng.standard_normal((o, c // groups, kh, kw)).astype(np.float32) * 0.3,
                   "bias": rng.standard_normal(o).astype(np.float32) * 0.1})
    layer.out_shape = layer.expected_out_shape()
    return layer


def _pool(name, op, shape, kernel, stride, pads, ceil=False, **extra):
    layer = Layer(name, op, shape, (), {"kernel": kernel, "stride": stride, "pads": pads, "ceil_mode": ceil, **extra})
    layer.out_shape = layer.expected_out_shape()
    return layer


def _dense(name, k, o, rng):
    return Layer(name, "dense", (k,), (o,), {}, {"weight": rng.standard_normal((o, k)).astype(np.float32) * 0.2,
                                                "bias": rng.standard_normal(o).astype(np.float32) * 0.1})


def _relu(prev):
    return Layer(prev.name + "_relu", "relu", prev.out_shape, prev.out_shape)


def _head(layers, rng, classes=5):
    flat = Layer("flat", "flatten", layers[-1].out_shape, (int(np.prod(layers[-1].out_shape)),))
    fc1 = _dense("fc1", flat.out_shape[0], 12, rng)
    return layers + [flat, fc1, _relu(fc1), _dense("fc2", 12, classes, rng)]


def mixed_net(rng) -> Network:
    """Strided asymmetric-padded conv + ReLU + overlapping padded ceil-mode pool; grouped conv with a
    non-square kernel straight into a non-overlapping pool; a conv strided differently along H and W."""
    c1 = _conv("c1", 3, (17, 15), 8, (3, 3), (2, 2), (1, 0, 2, 1), 1, rng)
    p1 = _pool("p1", "maxpool", c1.out_shape, (3, 3), (2, 2), (1, 1, 0, 0), ceil=True)  # overhangs
    c2 = _conv("c2", 8, p1.out_shape[1:], 6, (3, 2), (1, 1), (1, 1, 1, 0), 2, rng)
    p2 = _pool("p2", "maxpool", c2.out_shape, (2, 2), (2, 2), (0, 0, 0, 0))
    c3 = _conv("c3", 6, p2.out_shape[1:], 4, (2, 2), (2, 1), (0, 0, 0, 0), 1, rng)
    return Network("mixed", "x", (3, 17, 15), _head([c1, _relu(c1), p1, c2, p2, c3, _relu(c3)], rng))


def lrn_avgpool_net(rng) -> Network:
    """The layers the float bounds do not cover (LRN, average pool) between ones they do."""
    c1 = _conv("c1", 2, (9, 9), 6, (3, 3), (1, 1), (1, 1, 1, 1), 1, rng)
    lrn = Layer("n1", "lrn", c1.out_shape, c1.out_shape, {"size": 3, "alpha": 1e-2, "beta": 0.75, "bias": 1.0})
    a1 = _pool("a1", "avgpool", c1.out_shape, (3, 3), (2, 2), (1, 1, 1, 1), count_include_pad=True)
    m1 = _pool("m1", "maxpool", a1.out_shape, (2, 2), (1, 1), (0, 0, 0, 0))
    return Network("lrn", "x", (2, 9, 9), _head([c1, _relu(c1), lrn, a1, m1], rng))


def _assert_fast_equals_int64(q, x):
    """Every tap of ``golden.run`` and the logits of ``golden.forward`` equal the plain int64 path."""
    plain = golden.run_int64(q, golden.quantize_input(q, x))
    taps = golden.run(q, golden.quantize_input(q, x))
    assert len(taps) == len(plain)
    for got, want in zip(taps, plain):
        assert got.dtype == np.int64 and got.shape == want.shape
        assert np.array_equal(got, want)
    logits = golden.forward(q, x)
    assert logits.dtype == np.int64 and np.array_equal(logits, plain[-1])


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("build", [mixed_net, lrn_avgpool_net])
def test_fast_path_equals_int64_path(build, bits, rng):
    net = build(rng)
    net.validate()
    x = rng.standard_normal((150, *net.input_shape)).astype(np.float32)
    q = quantize(net, x[:40], bits=bits)
    _assert_fast_equals_int64(q, x * 3)  # beyond the calibration range: saturating inputs and outputs


def test_fast_path_splits_gemms_and_batches_exactly(rng, monkeypatch):
    """Tiny GEMM, column and chunk limits: row blocks, row and column splits with remainders, chunks."""
    net = mixed_net(rng)
    x = rng.standard_normal((37, *net.input_shape)).astype(np.float32)
    q = quantize(net, x, bits=8)
    monkeypatch.setattr(fast, "GEMM_MACS", 700)
    monkeypatch.setattr(fast, "COLS_BYTES", 8000)  # two output rows of the first conv per block
    monkeypatch.setattr(fast, "CHUNK", 5)
    _assert_fast_equals_int64(q, x)
    monkeypatch.setattr(fast, "GEMM_MACS", 1)  # one column or row per GEMM
    monkeypatch.setattr(fast, "COLS_BYTES", 1)  # one output row per block
    _assert_fast_equals_int64(q, x[:3])


def test_lenet_fast_path_equals_int64_path(lenet5_net, mnist_splits):
    x = mnist_splits[1].x[:300]
    for bits in (8, 16):
        q = quantize(lenet5_net, mnist_splits[0].x[:200], bits=bits)
        _assert_fast_equals_int64(q, x)
        _assert_fast_equals_int64(q, x[:1])


def _dense_model(rng, max_w: int, bias: int, k: int = 64, shift: int = 5):
    """One dense layer on 8-bit inputs with the weight magnitude, bias and shift set by hand."""
    net = Network("d", "x", (k,), [_dense("fc", k, 6, rng)])
    q = quantize(net, rng.standard_normal((8, k)).astype(np.float32))
    ql = q.layers[0]
    ql.arrays["weight"] = rng.integers(-max_w, max_w + 1, (6, k))
    ql.arrays["weight"][0] = max_w  # a row of extreme products, to reach the bound
    ql.arrays["bias"] = rng.integers(-bias, bias + 1, 6)
    ql.shift = shift
    return q


@pytest.mark.parametrize("bound_offset, dtype", [(-1, np.float32), (0, np.float64)])
def test_float32_is_used_up_to_its_exact_bound(rng, bound_offset, dtype):
    """64 products of 128 x max_w, plus the bias and the rounding half, just below and at 2**24."""
    k, shift = 64, 5
    max_w = 2040  # 64 * 128 * 2040 = 2**24 - 2**14
    rounding = 1 << (shift - 1)
    bias = (1 << 24) - k * 128 * max_w - rounding + bound_offset
    q = _dense_model(rng, max_w, bias, k, shift)
    q.layers[0].arrays["bias"][0] = -bias  # the extreme accumulator: -(2**24 - rounding + offset)
    consts = fast.linear_consts(q, q.layers[0], q.network.layers[0])
    assert consts.weight.dtype == dtype
    x = rng.integers(-128, 128, (50, k))
    x[0] = -128
    x_float = q.input_fmt.to_float(x)
    assert np.array_equal(golden.quantize_input(q, x_float), x)
    want = layer_forward(q, q.layers[0], q.network.layers[0], x)
    assert np.array_equal(golden.forward(q, x_float), want)
    assert np.array_equal(golden.run(q, x)[-1], want)


def test_wrapping_accumulators_take_the_int64_path(rng):
    q = _dense_model(rng, 127, (1 << 31) - 1)
    q.layers[0].arrays["bias"][0] = (1 << 31) - 1
    assert fast.linear_consts(q, q.layers[0], q.network.layers[0]) is None  # the wrap may act
    x = rng.integers(-128, 128, (20, 64))
    want = layer_forward(q, q.layers[0], q.network.layers[0], x)
    assert np.array_equal(golden.run(q, x)[-1], want)
    assert np.array_equal(golden.forward(q, q.input_fmt.to_float(x)), want)


@pytest.mark.parametrize("shift", [-3, 0, 1, 7])
def test_requantize_in_floats_rounds_half_up_and_saturates(rng, shift):
    from hilt.quant import requantize

    acc = rng.integers(-(1 << 20), 1 << 20, (4, 3, 5, 5))
    acc[0, 0, 0, :] = [-5 << max(shift, 0), (-5 << max(shift, 0)) + (1 << max(shift - 1, 0)), 0, 1, -1]  # ties
    bias = rng.integers(-(1 << 10), 1 << 10, 4)
    rounding = 1 << (shift - 1) if shift > 0 else 0
    scale = 2.0 ** -shift
    got = fast.requantize_floats(acc.astype(np.float64) * scale, ((bias + rounding) * scale).reshape(-1, 1, 1, 1),
                                 -128, 127)
    want = requantize(acc + bias[:, None, None, None], shift, 8)
    assert np.array_equal(got, want)
