"""The hardware plan: one object from the search to the generated code, and the C simulation's loop
counts against the performance model's figures for that plan."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from hilt import golden
from hilt.codegen import compile_project
from hilt.codegen.csim import run, run_backward
from hilt.dse import Space, load_board, search
from hilt.codegen.reachable import reachable
from hilt.dse.perf import plan_performance, stages, unit_work
from hilt.errors import HiltError
from hilt.ir.graph import padded_hw
from hilt.plan import HLS, MODEL, Folding, HardwarePlan, default_plan, make_plan
from hilt.quant import quantize

from conftest import strided_net


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """An inference plan searched for the HLS target, the project generated from it (with its backward
    pipeline), and its quantized model."""
    rng = np.random.default_rng(5)
    net = strided_net(rng, "planned", classes=4)
    x = rng.random((3, *net.input_shape), dtype=np.float32)
    labels = rng.integers(0, 4, len(x))
    q = quantize(net, x, labels=labels)
    result = search(Space(net, load_board("zcu104"), 200.0, "infer", target=HLS), 0.8)
    out = tmp_path_factory.mktemp("plan") / "p"
    manifest = compile_project(q, out, plan=result.chosen.plan)
    return net, q, x, labels, result.chosen, out, manifest


@pytest.fixture(scope="module")
def trained(searched, tmp_path_factory):
    """A training plan with every forward and error unit folded, and its project."""
    net, q, x, labels, *_ = searched
    plan = make_plan(net, {("c1", "fwd"): Folding(2, 9), ("c2", "fwd"): Folding(3, 2), ("c2", "err"): Folding(2, 3),
                           ("d", "fwd"): Folding(2, 3)}, target=HLS, mode="train", bits=q.bits, acc_bits=q.acc_bits)
    out = tmp_path_factory.mktemp("plan") / "t"
    compile_project(q, out, plan=plan)
    return plan, out


def test_the_searched_plan_is_what_params_h_states(searched):
    """The walk of one parameter: the search's chosen PE of every unit, through the plan, into params.h."""
    net, q, _, _, chosen, out, manifest = searched
    params = (out / f"{manifest['name']}_params.h").read_text()
    plan = chosen.plan
    assert HardwarePlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    assert manifest["plan"] == plan.to_json()
    assert any(u.pe * u.simd > 1 for lp in plan.layers for u in lp.units)  # the search folded something
    for lp in plan.layers:
        for u in lp.units:
            struct = lp.name if u.kind == "fwd" else f"{lp.name}_{'t' if u.storage == 'tied' else 'e'}"
            if u.kind == "grad" or (u.kind == "err" and lp.name == "c1"):
                continue
            body = re.search(rf"struct {struct}_p {{(.*?)}};", params, re.S).group(1)
            assert re.search(rf"PE = {u.pe};", body) and re.search(rf"SIMD = {u.simd};", body), (lp.name, u.kind)
            if u.kind == "fwd":
                assert re.search(rf"PPC = {u.ppc};", body), lp.name
    ii = re.search(r"II_CYCLES = (\d+);", params).group(1)
    assert int(ii) == plan_performance(net, plan).ii_cycles == chosen.perf.ii_cycles


def test_csim_loop_counts_equal_the_performance_model(searched, trained):
    """Per sample, every forward and error unit's window generator steps (a dense unit's vector reads)
    and MVAU fold steps in the C simulation equal ``unit_work`` for the plan (one value per beat)."""
    net, q, x, labels, *_ = searched
    plan, out = trained
    n = len(x)
    trips: dict = {}
    x_int = golden.quantize_input(q, x)
    taps = run(out, x_int, "train_forward", trips=trips)
    checked = 0
    for layer in net.weighted_layers():
        stream, compute = unit_work(layer, plan.units()[(layer.name, "fwd")], "fwd", "value")
        generator = "slide" if layer.op == "conv" else "stream"  # a conv's generator steps, a dense unit's reads
        assert trips[(f"{layer.name}_p", generator)] == n * stream, layer.name
        assert trips[(f"{layer.name}_p", "compute")] == n * compute, layer.name
        checked += 1
    trips.clear()
    ref = golden.run(q, x_int)
    run_backward(out, ref, golden.error_at_logits(q, ref[-1], labels), trips=trips)
    for layer in net.weighted_layers()[1:]:
        err = plan.layer(layer.name).unit("err").folding
        assert err.pe > 1 and err.simd > 1
        stream, compute = unit_work(layer, err, "err", "value")
        struct = f"{layer.name}_{'e' if layer.op == 'conv' else 't'}_p"
        assert trips[(struct, "slide" if layer.op == "conv" else "stream")] == n * stream, layer.name
        assert trips[(struct, "compute")] == n * compute, layer.name
        checked += 1
    assert checked == 5
    assert all(np.array_equal(a, b) for a, b in zip(taps, ref))


def test_compile_refuses_a_plan_the_hls_kernels_do_not_build(searched, tmp_path, rng):
    net, q, *_ = searched
    plan = default_plan(net, target=MODEL, mode="train", bits=8, acc_bits=32)
    with pytest.raises(HiltError, match="does not build.*--target hls"):
        compile_project(q, tmp_path / "m", plan=plan)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("ppc", [2, 4])
def test_a_multi_pixel_window_generator_is_bit_exact_and_takes_ppc_values_a_cycle(searched, tmp_path, ppc):
    """ppc > 1 on the first conv: the image arrives ppc values a beat, the window generator takes a padded
    row ppc positions a cycle (c1's left padding is 0, its right 1: groups straddle the edge), and every
    mode stays bit-exact under the bounded C-sim while the loop counts equal ``unit_work``."""
    net, q, x, labels, *_ = searched
    plan = make_plan(net, {("c1", "fwd"): Folding(2, 9, ppc), ("c2", "fwd"): Folding(3, 2), ("c2", "err"): Folding(2, 3),
                           ("d", "fwd"): Folding(2, 3)}, target=HLS, mode="train", bits=q.bits, acc_bits=q.acc_bits)
    manifest = compile_project(q, tmp_path / "p", plan=plan)
    top = (tmp_path / "p" / f"{manifest['name']}_top.cpp").read_text()
    assert f"hilt::unpack_vec<tap0_s, {ppc}>(in, x)" in top and f"HILT_STREAM(hilt::vec<{ppc}>, c1_in, 2);" in top
    x_int = golden.quantize_input(q, x)
    trips: dict = {}
    taps = run(tmp_path / "p", x_int, "train_forward", trips=trips)
    ref = golden.run(q, x_int)
    assert len(taps) == len(ref) and all(np.array_equal(a, b) for a, b in zip(taps, ref))
    c1 = net.layers[0]
    stream, compute = unit_work(c1, plan.units()[("c1", "fwd")], "fwd", "value")
    assert stream < unit_work(c1, Folding(2, 9), "fwd", "value")[0]  # the model counts the faster generator
    assert trips[("c1_p", "slide")] == len(x) * stream and trips[("c1_p", "compute")] == len(x) * compute
    hp, wp = padded_hw(c1)
    assert trips[("c1_p", "stream")] == len(x) * hp * -(-wp * c1.in_shape[0] // ppc)  # ppc positions a read
    err = golden.error_at_logits(q, ref[-1], labels)
    errors, grads = run_backward(tmp_path / "p", ref, err)
    bp = golden.backward(q, ref, err)
    for i in range(1, len(bp.errors) - 1):
        assert np.array_equal(errors[i], bp.errors[i]), i
    for name in bp.grads:
        for key in ("weight", "bias"):
            assert np.array_equal(grads[name][key], bp.grads[name][key]), (name, key)


def test_compile_refuses_ppc_where_the_window_generator_cannot_take_it(searched, tmp_path):
    net, q, *_ = searched
    plan = make_plan(net, {("c2", "fwd"): Folding(1, 1, 2)}, target=HLS, mode="infer", bits=q.bits,
                     acc_bits=q.acc_bits)
    with pytest.raises(HiltError, match="c2.fwd: ppc=2"):
        compile_project(q, tmp_path / "m", plan=plan)
    assert not (tmp_path / "m").exists()


def test_every_stage_reaches_the_cycles_the_performance_model_predicts(searched, trained):
    """Per stage of the folded training plan, the generated loops' iterations at II = 1 (the counting
    C-sim, combined as its processes run: ``codegen.reachable``) equal the performance model's cycles
    (``perf.stages``, value beats): forward, error and gradient units, and the pool."""
    net, q, x, labels, *_ = searched
    plan, out = trained
    x_int = golden.quantize_input(q, x[:1])
    ref = golden.run(q, x_int)
    fwd, bwd = {}, {}
    run(out, x_int, "train_forward", trips=fwd)
    run_backward(out, ref, golden.error_at_logits(q, ref[-1], labels[:1]), trips=bwd)
    checked = set()
    for st in stages(net, plan.units(), plan.mode, plan.deferred(), "value"):
        cycles, how = reachable(net, st, fwd, bwd)
        if cycles is None:  # the loss (on the host) and the pool's backward (not pipelined)
            assert st.unit in ("loss", "maxpool_bwd"), st
            continue
        assert cycles == st.cycles, (st, how)
        checked.add(st.unit)
    assert checked == {"fwd", "err", "grad", "maxpool"}
