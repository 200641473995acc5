"""The golden fixed-point model: geometry shared with the reference, integer backward identities,
quantization accuracy, persistence. Integers are compared with ==."""

from __future__ import annotations

import numpy as np
import pytest

from hilt import golden, zoo
from hilt.errors import HiltError
from hilt.frontend import import_onnx
from hilt.golden.forward import INT_FILL
from hilt.quant import QModel, quantize
from hilt.reference import forward, windows as win


@pytest.fixture(scope="module")
def lenet_q(lenet5_net, mnist_splits):
    train_ds, _ = mnist_splits
    return quantize(lenet5_net, train_ds.x[:256], labels=train_ds.y[:256])


def _int(rng, shape, lo=-128, hi=128):
    return rng.integers(lo, hi, size=shape).astype(np.int64)


@pytest.mark.parametrize("stride, pads, groups, hw", [
    (1, (0, 0, 0, 0), 1, (7, 7)), (2, (1, 1, 1, 1), 1, (9, 8)), (3, (2, 0, 1, 2), 2, (11, 10)),
    (2, (0, 0, 0, 0), 3, (6, 6)), (4, (0, 0, 0, 0), 1, (15, 15)),
])
def test_conv_error_by_rotated_weights_equals_the_adjoint_exactly(rng, stride, pads, groups, hw):
    c, o, k = 2 * groups, 3 * groups, 3
    attrs = {"kernel": (k, k), "stride": (stride, stride), "pads": pads, "groups": groups}
    x = _int(rng, (2, c, *hw))
    w = _int(rng, (o, c // groups, k, k))
    ho, wo = win.out_hw(hw[0], hw[1], attrs)
    e = _int(rng, (2, o, ho, wo), -(1 << 15), 1 << 15)
    by_rotation = golden.conv_error(e, w, attrs, x.shape, 1 << 15, 128)
    dx, _ = win.conv_backward(x, w, e, attrs)  # scatter-based adjoint on int64
    assert np.array_equal(by_rotation, dx)
    # and it is the adjoint: <conv(x), e> == <x, conv_error(e)> in exact integers
    y = win.conv(x, w, attrs)
    assert int((y * e).sum()) == int((x * by_rotation).sum())


def test_maxpool_backward_routes_ties_to_the_first_maximum():
    x = np.array([[[[5, 5], [5, 1]]]], np.int64)
    attrs = {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0)}
    dx = win.maxpool_backward(x, np.array([[[[7]]]], np.int64), attrs, INT_FILL)
    assert dx.tolist() == [[[[7, 0], [0, 0]]]]


def test_golden_forward_tracks_the_float_reference(lenet_q, mnist_splits, lenet5_net):
    x = mnist_splits[1].x[:64]
    taps = golden.run(lenet_q, golden.quantize_input(lenet_q, x))
    assert all(np.issubdtype(t.dtype, np.integer) for t in taps)
    for t, fmt in zip(taps, golden.act_formats(lenet_q)):
        assert t.min() >= fmt.qmin and t.max() <= fmt.qmax
    ref = forward(lenet5_net, x)
    got = golden.dequantize(lenet_q, taps[-1])
    assert np.abs(got - ref).max() <= 0.1 * np.abs(ref).max()
    assert np.array_equal(golden.forward(lenet_q, x), taps[-1])  # deterministic, same entry points


def test_int16_is_closer_to_float_than_int8(lenet5_net, mnist_splits):
    x = mnist_splits[0].x[:128]
    ref = forward(lenet5_net, x)
    errs = [np.abs(golden.dequantize(q, golden.forward(q, x)) - ref).max()
            for q in (quantize(lenet5_net, x, bits=8), quantize(lenet5_net, x, bits=16))]
    assert errs[1] < errs[0] / 50


def test_lrn_and_avgpool_follow_their_float_ops(rng):
    net = zoo.network("alexnet")
    lrn = next(l for l in net.layers if l.op == "lrn")
    from hilt.ir import Layer, Network

    x = rng.random((4, 8, 6, 6), dtype=np.float32) * 20
    layers = [Layer("n", "lrn", (8, 6, 6), (8, 6, 6), dict(lrn.attrs)),
              Layer("p", "avgpool", (8, 6, 6), (8, 3, 3), {"kernel": (3, 3), "stride": (2, 2), "pads": (1, 1, 1, 1),
                                                              "ceil_mode": False, "count_include_pad": False})]
    small = Network("t", "x", (8, 6, 6), layers)
    small.validate()
    q = quantize(small, x, bits=16)
    got = golden.dequantize(q, golden.forward(q, x))
    ref = forward(small, x)
    assert np.abs(got - ref).max() <= 4 * golden.act_formats(q)[-1].step + 1e-3 * np.abs(ref).max()


def test_backward_gradients_track_float_and_fit_32_bits(lenet_q, lenet5_net, mnist_splits):
    from hilt.train import loss_and_grads

    x, y = mnist_splits[1].x[:32], mnist_splits[1].y[:32]
    taps = golden.run(lenet_q, golden.quantize_input(lenet_q, x))
    bp = golden.backward(lenet_q, taps, golden.error_at_logits(lenet_q, taps[-1], y))
    _, ref, _ = loss_and_grads(lenet5_net, x, y)
    as_float = golden.grads_to_float(lenet_q, bp)
    for name, g in ref.items():
        a, b = as_float[name]["weight"].ravel(), g["weight"].ravel() * len(x)
        assert np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.95, name
        assert np.abs(bp.grads[name]["weight"]).max() < 2 ** 31
    assert all(np.abs(e).max() < 2 ** 15 for e in bp.errors[1:])


def test_lrn_has_no_integer_backward(rng):
    net = zoo.network("alexnet")
    from hilt.ir import Layer, Network

    lrn = next(l for l in net.layers if l.op == "lrn")
    small = Network("t", "x", (4, 3, 3), [Layer("n", "lrn", (4, 3, 3), (4, 3, 3), dict(lrn.attrs)),
                                          Layer("f", "flatten", (4, 3, 3), (36,))])
    x = rng.random((2, 4, 3, 3), dtype=np.float32)
    q = quantize(small, x, labels=np.zeros(2, int))
    taps = golden.run(q, golden.quantize_input(q, x))
    with pytest.raises(HiltError, match="no integer backward"):
        golden.backward(q, taps, np.ones((2, 36), np.int64))


def test_accumulator_wraps_at_32_bits(lenet5_net, mnist_splits):
    q = quantize(lenet5_net, mnist_splits[0].x[:32])
    fc = q.layer("fc1")
    x = np.full((1, 256), 127, np.int64)
    fc.arrays["weight"] = np.full_like(fc.arrays["weight"], 127)
    fc.arrays["bias"] = np.full_like(fc.arrays["bias"], (1 << 31) - 1)
    from hilt.golden.forward import layer_forward
    from hilt.quant import requantize, wrap

    y = layer_forward(q, fc, lenet5_net.layer("fc1"), x)
    exact = 256 * 127 * 127 + (1 << 31) - 1
    assert np.all(y == requantize(wrap(np.int64(exact), 32), fc.shift, 8))
    assert int(wrap(np.int64(exact), 32)) < 0  # it really overflowed


def test_qmodel_save_load_is_bit_exact(tmp_path, lenet_q, mnist_splits):
    path = tmp_path / "q.npz"
    lenet_q.save(path)
    again = QModel.load(path)
    x = mnist_splits[1].x[:16]
    assert np.array_equal(golden.forward(again, x), golden.forward(lenet_q, x))
    assert again.summary() == lenet_q.summary()
    with pytest.raises(HiltError):
        QModel.load(tmp_path / "missing.npz")


def test_requantize_weights_reloads_new_master_weights(lenet5_net, mnist_splits):
    q = quantize(lenet5_net, mnist_splits[0].x[:32])
    params = lenet5_net.get_params()
    params["fc3"]["weight"] = params["fc3"]["weight"] * 0.5
    before = q.layer("fc3").arrays["weight"].copy()
    q.requantize_weights(params)
    after = q.layer("fc3").arrays["weight"]
    assert np.abs(after - np.floor(before / 2 + 0.5)).max() <= 1


def test_alexnet_golden_runs_with_lrn_tables():
    net = import_onnx(zoo.build("alexnet"))
    x = np.random.default_rng(0).random((1, 3, 227, 227), dtype=np.float32)
    q = quantize(net, x)
    lut = q.layer("norm1").arrays["lut"]
    assert lut.shape == (1024,) and lut[0] > 0 and (np.diff(lut) <= 0).all()  # (bias + k S)^-beta falls with S
    logits = golden.forward(q, x)
    assert np.array_equal(logits, golden.run_int64(q, golden.quantize_input(q, x))[-1])  # the plain definition
    assert len(np.unique(logits)) > 100  # not saturated or collapsed


def test_skipping_a_provably_idle_wrap_gives_the_same_integers(rng):
    from hilt.golden.forward import accumulate_and_requantize
    from hilt.quant import requantize, wrap

    for shift in (-2, 0, 1, 9):
        acc = rng.integers(-(1 << 20), 1 << 20, (4, 5, 3, 3))
        bias = rng.integers(-(1 << 10), 1 << 10, 5)
        expected = requantize(wrap(acc + bias[None, :, None, None], 32), shift, 8)
        fast = accumulate_and_requantize(acc.copy(), bias, shift, 32, 8, bound=(1 << 20) + (1 << 10))
        slow = accumulate_and_requantize(acc.copy(), bias, shift, 32, 8, bound=1 << 40)
        assert np.array_equal(fast, expected) and np.array_equal(slow, expected)
