"""HLS code generation: g++ C simulation bit-exact with the golden model, readable code, the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hilt import golden, zoo
from hilt.cli import main
from hilt.codegen import compile_project, run, syntax_check
from hilt.codegen.csim import run_backward
from hilt.ir.folding import LayerFolding
from hilt.quant import quantize

from conftest import strided_net

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="C simulation needs g++")


def assert_taps_equal(project, q, x, labels=None):
    """Forward taps, logits and (with labels) backward errors and weight gradients all equal the golden model."""
    x_int = golden.quantize_input(q, x)
    taps = run(project, x_int, "train_forward")
    ref = golden.run(q, x_int)
    assert len(taps) == len(ref)
    for i, (a, b) in enumerate(zip(taps, ref)):
        assert a.shape == b.shape and np.array_equal(a, b), f"tap {i}"
    assert np.array_equal(run(project, x_int[:5], "infer")[0], ref[-1][:5])
    if labels is not None:
        err = golden.error_at_logits(q, ref[-1], labels)
        errors, grads = run_backward(project, ref, err)
        bp = golden.backward(q, ref, err)
        for i in range(1, len(bp.errors)):
            assert errors[i].shape == bp.errors[i].shape and np.array_equal(errors[i], bp.errors[i]), f"error {i}"
        assert set(grads) == set(bp.grads)
        for name, g in grads.items():
            assert np.array_equal(g["weight"], bp.grads[name]["weight"]), name
            assert np.array_equal(g["bias"], bp.grads[name]["bias"]), name


@pytest.mark.parametrize("folding", [{}, {"conv1": LayerFolding(3, 5), "conv2": LayerFolding(8, 25),
                                          "fc1": LayerFolding(12, 16), "fc2": LayerFolding(84, 1),
                                          "fc3": LayerFolding(2, 84)}], ids=["1x1", "folded"])
def test_lenet5_csim_equals_golden_on_100_mnist_images(tmp_path, trained_q, mnist_splits, folding):
    compile_project(trained_q, tmp_path / "p", folding=folding)
    assert_taps_equal(tmp_path / "p", trained_q, mnist_splits[1].x[:100], mnist_splits[1].y[:100])


@pytest.mark.parametrize("name", ["svhn", "cifar10"])
def test_bp_paper_nets_csim_equal_golden_on_random_inputs(tmp_path, name, rng):
    net = zoo.network(name, seed=2)
    x = rng.random((4, *net.input_shape), dtype=np.float32)
    labels = rng.integers(0, 10, len(x))
    q = quantize(net, x, bits=8, labels=labels)
    folding = {l.name: LayerFolding(2, 3) for l in net.weighted_layers() if l.op == "conv"}
    compile_project(q, tmp_path / name, folding=folding)
    assert_taps_equal(tmp_path / name, q, x, labels)


def test_grouped_strided_padded_pools_and_lrn_csim_equal_golden(tmp_path, rng):
    """AlexNet's layer kinds (LRN, grouped and strided conv, overlapping pools) plus average pooling."""
    from hilt.ir import Layer, Network

    w = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)  # noqa: E731
    layers = [Layer("c1", "conv", (3, 15, 15), (8, 7, 7), {"kernel": (3, 3), "stride": (2, 2), "pads": (1, 0, 0, 1),
                                                          "groups": 1}, {"weight": w(8, 3, 3, 3), "bias": w(8)}),
              Layer("n1", "lrn", (8, 7, 7), (8, 7, 7), {"size": 5, "alpha": 1e-2, "beta": 0.75, "bias": 1.0}),
              Layer("p1", "maxpool", (8, 7, 7), (8, 3, 3), {"kernel": (3, 3), "stride": (2, 2), "pads": (0, 0, 0, 0),
                                                            "ceil_mode": False}),
              Layer("c2", "conv", (8, 3, 3), (4, 3, 3), {"kernel": (3, 3), "stride": (1, 1), "pads": (1, 1, 1, 1),
                                                         "groups": 2}, {"weight": w(4, 4, 3, 3), "bias": w(4)}),
              Layer("a1", "avgpool", (4, 3, 3), (4, 2, 2), {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 1, 1),
                                                            "ceil_mode": False, "count_include_pad": False}),
              Layer("f", "flatten", (4, 2, 2), (16,)),
              Layer("d", "dense", (16,), (5,), {}, {"weight": w(5, 16), "bias": w(5)})]
    net = Network("mix", "x", (3, 15, 15), layers)
    net.validate()
    x = rng.random((6, 3, 15, 15), dtype=np.float32)
    q = quantize(net, x, bits=16)
    manifest = compile_project(q, tmp_path / "mix", folding={"c1": LayerFolding(4, 9), "c2": LayerFolding(2, 2)})
    assert_taps_equal(tmp_path / "mix", q, x)
    assert manifest["backward"] is False  # LRN and average pooling have no integer backward kernels


def test_strided_grouped_padded_conv_backward_equals_golden(tmp_path, rng):
    """Error propagation by zero insertion + rotated weights, with stride, asymmetric padding and groups."""
    net = strided_net(rng, "strided", classes=3)
    x = rng.random((5, 2, 11, 10), dtype=np.float32)
    labels = rng.integers(0, 3, 5)
    q = quantize(net, x, labels=labels)
    compile_project(q, tmp_path / "s", folding={"c2": LayerFolding(3, 2)})
    assert_taps_equal(tmp_path / "s", q, x, labels)


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_model_generates_code_that_compiles_cleanly(tmp_path, name, rng):
    net = zoo.network(name)
    q = quantize(net, rng.random((1, *net.input_shape), dtype=np.float32), labels=np.zeros(1, int))
    manifest = compile_project(q, tmp_path / name)
    syntax_check(tmp_path / name)  # g++ -std=c++14 -fsyntax-only -Wall -Werror
    syntax_check(tmp_path / name, "vendor")  # the same against Xilinx's C-sim headers (hls4ml's ap_types)
    text = {p.name: p.read_text() for p in (tmp_path / name).iterdir() if p.suffix in (".cpp", ".h", ".tcl", ".md")}
    for fname, body in text.items():
        assert max(len(line) for line in body.splitlines()) <= 120, fname
    top = text[f"{manifest['name']}_top.cpp"]
    assert all(f"// {l.name} (" in top for l in net.layers)  # each instance says which ONNX node it implements
    assert "create_clock -period 5.000" in text["csynth.tcl"] and "export_design -format ip_catalog" in text["csynth.tcl"]


def test_lenet5_csim_with_the_vendor_headers_equals_golden(tmp_path, trained_q, mnist_splits):
    compile_project(trained_q, tmp_path / "p")
    x_int = golden.quantize_input(trained_q, mnist_splits[1].x[:10])
    taps = run(tmp_path / "p", x_int, "train_forward", csim="vendor")
    for a, b in zip(taps, golden.run(trained_q, x_int)):
        assert np.array_equal(a, b)


def test_compile_and_csim_commands(tmp_path, capsys, trained_lenet5):
    from hilt.frontend import export_onnx

    model = tmp_path / "m.onnx"
    export_onnx(trained_lenet5, model)
    assert main(["dse", str(model), "--board", "zcu104", "--freq", "200", "--json", str(tmp_path / "d.json")]) == 0
    assert main(["compile", str(model), "-o", str(tmp_path / "p"), "--plan", str(tmp_path / "d.json"),
                 "--calib", "64"]) == 0
    chosen = json.loads((tmp_path / "d.json").read_text())["chosen"]
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["plan"]["target"] == "hls" and manifest["plan"]["layers"] == chosen["plan"]["layers"]
    assert manifest["folding"] == chosen["folding"]
    params = (tmp_path / "p" / f"{manifest['name']}_params.h").read_text()
    for name, f in chosen["folding"].items():  # the search's folding of every layer, as params.h states it
        struct = params.split(f"struct {name}_p {{")[1].split("};")[0]
        assert f"PE = {f['pe']};" in struct and f"SIMD = {f['simd']};" in struct, name
    assert max(f["pe"] * f["simd"] for f in chosen["folding"].values()) > 1  # the search folded something
    assert main(["csim", str(tmp_path / "p"), "--samples", "20", "--json", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["bit_exact"] is True
    assert json.loads((tmp_path / "c.json").read_text())["csim"] == "bounded"  # the default
    # --csim picks the build: the fast unbounded one is a binary of its own, and as exact
    assert main(["csim", str(tmp_path / "p"), "--samples", "5", "--csim", "unbounded", "--json",
                 str(tmp_path / "u.json")]) == 0
    assert json.loads((tmp_path / "u.json").read_text())["csim"] == "unbounded"
    assert json.loads((tmp_path / "u.json").read_text())["bit_exact"] is True
    assert (tmp_path / "p" / f"{manifest['name']}_csim_unbounded").is_file()
    assert main(["csim", str(tmp_path / "p"), "--csim", "fast"]) == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"conv1": {"pe": 5, "simd": 1}}')
    assert main(["compile", str(model), "-o", str(tmp_path / "q"), "--folding", str(tmp_path / "bad.json")]) == 2
    assert not (tmp_path / "q").exists()
    capsys.readouterr()


def test_training_on_the_csim_backend_equals_training_on_the_emulator(trained_q, mnist_splits):
    from hilt.accel import Emulator
    from hilt.codegen.accelerator import CSim
    from hilt.train.hil import HILConfig, finetune

    x, y = mnist_splits[0].x[:64], mnist_splits[0].y[:64]
    config = HILConfig(epochs=1, batch_size=32)
    a = finetune(trained_q, Emulator(), x, y, config, progress=False).network.get_params()
    b = finetune(trained_q, CSim(), x, y, config, progress=False).network.get_params()
    for name in a:
        assert np.array_equal(a[name]["weight"], b[name]["weight"])


def test_initial_weights_header_equals_the_loaded_weights(tmp_path, trained_q, mnist_splits):
    manifest = compile_project(trained_q, tmp_path / "p")
    assert (tmp_path / "p" / f"{manifest['name']}_weights.h").exists()
    x = golden.quantize_input(trained_q, mnist_splits[1].x[:8])
    assert np.array_equal(run(tmp_path / "p", x, weights="-")[0], golden.run(trained_q, x)[-1])


def test_stream_width_converters_round_trip(tmp_path):
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    binary = tmp_path / "width"
    subprocess.run(["g++", "-std=c++14", "-Wall", "-Werror", "-pthread", f"-I{root / 'hw' / 'hls'}",
                    str(root / "tests" / "hls" / "test_width.cpp"), "-o", str(binary)], check=True)
    assert subprocess.run([str(binary)], capture_output=True, text=True).stdout.strip() == "ok"
