"""The generated top under the bounded C-sim: every process concurrent over FIFOs of the declared depths,
AXI4-Stream beats with TLAST, the status register, the vendor-header build, and depth checks that fail."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from hilt import golden
from hilt.accel import interface
from hilt.codegen import compile_project
from hilt.accel.order import tap_to_stream
from hilt.codegen.csim import _layouts, build, execute, run, run_backward, syntax_check
from hilt.errors import HiltError
from hilt.ir import Layer, Network
from hilt.quant import quantize

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="C simulation needs g++")


def _net(pool="maxpool"):
    rng = np.random.default_rng(5)
    w = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)  # noqa: E731
    pool_attrs = {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0), "ceil_mode": False}
    if pool == "avgpool":
        pool_attrs["count_include_pad"] = False
    layers = [Layer("c1", "conv", (2, 8, 8), (4, 6, 6), {"kernel": (3, 3), "stride": (1, 1), "pads": (0, 0, 0, 0),
                                                        "groups": 1}, {"weight": w(4, 2, 3, 3), "bias": w(4)}),
              Layer("r1", "relu", (4, 6, 6), (4, 6, 6)),
              Layer("p1", pool, (4, 6, 6), (4, 3, 3), pool_attrs),
              Layer("f", "flatten", (4, 3, 3), (36,)),
              Layer("d", "dense", (36,), (3,), {}, {"weight": w(3, 36), "bias": w(3)})]
    net = Network(f"small_{pool}", "x", (2, 8, 8), layers)
    net.validate()
    x = rng.random((3, 2, 8, 8), dtype=np.float32)
    labels = rng.integers(0, 3, 3)
    return quantize(net, x, labels=labels), x, labels


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    q, x, labels = _net()
    path = tmp_path_factory.mktemp("small") / "p"
    compile_project(q, path)
    return q, x, labels, path


def _lower(tmp_path, project, stream, depth):
    """A copy of the project with one FIFO's declared depth replaced."""
    copy = tmp_path / "lowered"
    shutil.copytree(project, copy)
    top = next(copy.glob("*_top.cpp"))
    text, n = re.subn(rf"HILT_STREAM\((\w+), {stream}, \d+\);", rf"HILT_STREAM(\1, {stream}, {depth});",
                      top.read_text())
    assert n == 1
    top.write_text(text)
    return copy


def _backward_arrays(q, x, labels, manifest):
    ref = golden.run(q, golden.quantize_input(q, x))
    err = golden.error_at_logits(q, ref[-1], labels)
    lay = _layouts(manifest)
    arrays = []
    for i in range(len(x)):
        arrays += [tap_to_stream(t, *l)[i] for t, l in zip(ref, lay)] + [err[i]]
    return arrays


def test_the_generated_depths_are_in_the_manifest_and_the_code(small):
    q, x, labels, path = small
    manifest = json.loads((path / "manifest.json").read_text())
    top = next(path.glob("*_top.cpp")).read_text()
    sizes = manifest["tap_sizes"]  # input 128, c1 144, r1 144, p1 36, f 36, d 3
    assert manifest["fifo_depths"]["forward"] == {"taps": [2, 144, 144, 36, 36], "logits": 3}
    for t, depth in enumerate(manifest["fifo_depths"]["forward"]["taps"]):
        assert f"HILT_STREAM(act_t, tap{t}, {depth});" in top  # the activation's width (8 bits here)
    backward = manifest["fifo_depths"]["backward"]
    assert backward["tx0"] == sizes[0] and backward["ty2"] == sizes[2]
    # the max-pool (p1: tap 2) and the dense layer (d: tap 4) read their whole input into a buffer of their own
    assert backward["tx2"] == 2 and backward["tx4"] == 2
    for name, depth in backward.items():  # taps at the activation's width, errors at 16 bits
        assert f"HILT_STREAM({'err_t' if name.startswith('eo') else 'act_t'}, {name}, {depth});" in top


def test_lowering_a_tap_fifo_below_its_computed_depth_deadlocks_naming_it(tmp_path, small):
    q, x, labels, path = small
    lowered = _lower(tmp_path, path, "tap1", 72)  # c1's output: 144 values per sample
    x_int = golden.quantize_input(q, x)
    assert np.array_equal(run(lowered, x_int, "infer")[0], golden.run(q, x_int)[-1])  # taps unused: fine
    with pytest.raises(HiltError) as e:
        run(lowered, x_int, "train_forward")
    message = str(e.value)
    assert "deadlock: every process is blocked" in message
    assert "blocked writing full stream 'tap1' (depth 72)" in message


def test_lowering_a_backward_tap_fifo_deadlocks_naming_it(tmp_path, small):
    q, x, labels, path = small
    manifest = json.loads((path / "manifest.json").read_text())
    lowered = _lower(tmp_path, path, "tx0", 64)  # the image (128 values) that c1's gradient unit reads
    with pytest.raises(HiltError) as e:
        execute(lowered, "backward", len(x), _backward_arrays(q, x, labels, manifest))
    assert "full stream 'tx0' (depth 64)" in str(e.value)


def test_every_mode_of_the_small_net_in_the_bounded_unbounded_and_vendor_csims(small):
    q, x, labels, path = small
    x_int = golden.quantize_input(q, x)
    ref = golden.run(q, x_int)
    err = golden.error_at_logits(q, ref[-1], labels)
    bp = golden.backward(q, ref, err)
    manifest = json.loads((path / "manifest.json").read_text())
    arrays = _backward_arrays(q, x, labels, manifest)
    for csim in ("bounded", "unbounded", "vendor"):
        taps, status = execute(path, "train_forward", len(x), [t for t in tap_to_stream(x_int, *_layouts(manifest)[0])],
                               csim=csim)
        assert status == interface.Status.OK
        per_sample = len(ref)
        for t in range(per_sample):
            got = np.stack([taps[n * per_sample + t] for n in range(len(x))])
            assert np.array_equal(got, tap_to_stream(ref[t], *_layouts(manifest)[t])), (csim, t)
        out, status = execute(path, "backward", len(x), arrays, csim=csim)
        assert status == interface.Status.OK
        assert np.array_equal(out[-1], bp.grads["d"]["bias"]), csim  # the call's last section
    errors, grads = run_backward(path, ref, err)
    assert np.array_equal(grads["c1"]["weight"], bp.grads["c1"]["weight"])
    assert np.array_equal(errors[1], bp.errors[1])


def test_backward_on_a_design_without_backward_reports_unsupported_mode(tmp_path):
    q, x, labels = _net("avgpool")  # average pooling has no integer backward
    manifest = compile_project(q, tmp_path / "p")
    assert manifest["backward"] is False
    out, status = execute(tmp_path / "p", "backward", 2, [])
    assert (out, status) == ([], interface.Status.UNSUPPORTED_MODE)
    out, status = execute(tmp_path / "p", "infer", 1, [golden.quantize_input(q, x[:1]).transpose(0, 2, 3, 1)])
    assert status == interface.Status.OK and len(out) == 1


def test_the_testbench_refuses_a_transfer_of_the_wrong_length(small):
    q, x, labels, path = small
    binary = build(path)
    manifest = json.loads((path / "manifest.json").read_text())
    ins, outs = interface.layout(interface.Mode.INFER, *__import__("hilt.codegen.streams", fromlist=["x"])
                                 .taps_and_blocks(manifest), 1)
    data = interface.pack_sections(ins, [np.zeros(ins[0].count, int)], manifest["beat_bits"])
    (path / "in.bin").write_bytes(data.tobytes())
    beats = interface.total_beats(outs, manifest["beat_bits"])
    ok = subprocess.run([str(binary), "-", "0", "1", str(path / "in.bin"), str(path / "out.bin"), str(beats)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.strip() == "status 0"
    short = subprocess.run([str(binary), "-", "0", "1", str(path / "in.bin"), str(path / "out.bin"), str(beats + 1)],
                           capture_output=True, text=True, timeout=60)
    assert short.returncode == 1 and "blocked reading empty stream 'dma_out'" in short.stderr


def test_vendor_headers_compile_the_generated_project_with_warnings_as_errors(small):
    syntax_check(small[3], "vendor")


def test_csynth_tcl_takes_paths_from_its_own_folder(small, tmp_path):
    import tkinter

    path = small[3]
    tcl = tkinter.Tcl()
    tcl.eval("set calls {}; proc unknown {args} { global calls; lappend calls $args }; "
             "rename cd _cd; proc cd {dir} { global calls; lappend calls [list cd $dir] }; proc exit {} {}")
    tcl.eval(f"source {{{path / 'csynth.tcl'}}}")
    calls = [tcl.eval(f"lindex $calls {i}") for i in range(int(tcl.eval("llength $calls")))]
    here = str(path.resolve())
    assert calls[0] == f"cd {here}"
    assert any(c.startswith("open_project -reset vitis_hls") for c in calls)  # not DIR/DIR
    adds = [c for c in calls if c.startswith("add_files")]
    assert len(adds) == 2 and all(here in c and "-DHILT_VENDOR_HEADERS" in c and "-csimflags" in c for c in adds)


def test_cifar10_training_design_refused_on_zcu104_with_its_reason(capsys):
    """The CIFAR-10 net's training pipeline does not fit the ZCU104 as the generator builds it (docs/hls.md,
    the memory plan): the search says so in one line, naming the resource and the layer."""
    from hilt.cli import main

    assert main(["dse", "cifar10", "--board", "zcu104", "--freq", "200", "--mode", "train"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not fit ZCU104" in err[0] and "bram18" in err[0]


@pytest.mark.heavy
def test_cifar10_forward_pipeline_at_the_zcu104_plan_every_mode(tmp_path):
    """What `hilt compile cifar10 --board zcu104` generates: the DSE's forward-only plan (fc1's weights in URAM),
    bit-exact in infer, train-forward and load-weights-then-infer; backward answers unsupported."""
    from hilt import zoo
    from hilt.dse import Space, search
    from hilt.dse.boards import load_board
    from hilt.plan import HLS

    rng = np.random.default_rng(11)
    net = zoo.network("cifar10", seed=2)
    x = rng.random((2, *net.input_shape), dtype=np.float32)
    labels = rng.integers(0, 10, len(x))
    q = quantize(net, x, bits=8, labels=labels)
    board = load_board("zcu104")
    plan = search(Space(net, board, 200, "infer", 8, target=HLS), 0.8).chosen.plan
    manifest = compile_project(q, tmp_path / "p", board, plan=plan, cap=0.8)
    assert manifest["memory"]["fits"] and manifest["plan"]["layers"][11]["units"]["fwd"]["storage"] == "uram"
    x_int = golden.quantize_input(q, x)
    ref = golden.run(q, x_int)
    for a, b in zip(run(tmp_path / "p", x_int, "train_forward"), ref):
        assert np.array_equal(a, b)
    assert np.array_equal(run(tmp_path / "p", x_int, "infer")[0], ref[-1])  # after MODE_LOAD_WEIGHTS (no init header)
    assert execute(tmp_path / "p", "backward", 2, [])[1] == interface.Status.UNSUPPORTED_MODE


@pytest.mark.heavy
@pytest.mark.parametrize("name, which", [("svhn", "dse"), ("svhn", "1x1"), ("cifar10", "1x1"), ("svhn", "plan"),
                                         ("lenet5", "plan")])
def test_bp_paper_nets_bounded_csim_at_the_dse_folding_and_unfolded(tmp_path, name, which):
    """With tests/test_codegen.py's convs at 2 x 3: the DSE's chosen (inference) folding, no folding, and the
    ZCU104 training plan `hilt compile` uses (URAM, deferred dense gradients), every mode."""
    from hilt import zoo
    from hilt.cli import main
    from hilt.ir.folding import load_folding

    rng = np.random.default_rng(11)
    net = zoo.network(name, seed=2)
    x = rng.random((2, *net.input_shape), dtype=np.float32)
    labels = rng.integers(0, 10, len(x))
    q = quantize(net, x, bits=8, labels=labels)
    folding, plan = {}, None
    if which == "plan":
        from hilt.dse import Space, search
        from hilt.dse.boards import load_board
        from hilt.plan import HLS

        plan = search(Space(net, load_board("zcu104"), 200, "train", 8, target=HLS), 0.8).chosen.plan
        assert "uram" in {u.storage for lp in plan.layers for u in lp.units}
    if which == "dse":
        assert main(["dse", name, "--board", "zcu104", "--freq", "200", "--json", str(tmp_path / "d.json")]) == 0
        folding = load_folding(tmp_path / "d.json", net)
        assert any(f.pe > 1 or f.simd > 1 for f in folding.values())
    compile_project(q, tmp_path / "p", folding=folding, plan=plan)
    x_int = golden.quantize_input(q, x)
    ref = golden.run(q, x_int)
    for a, b in zip(run(tmp_path / "p", x_int, "train_forward"), ref):
        assert np.array_equal(a, b)
    assert np.array_equal(run(tmp_path / "p", x_int, "infer")[0], ref[-1])
    err = golden.error_at_logits(q, ref[-1], labels)
    errors, grads = run_backward(tmp_path / "p", ref, err)
    bp = golden.backward(q, ref, err)
    for i in range(1, len(bp.errors) - 1):
        assert np.array_equal(errors[i], bp.errors[i]), i
    for layer, g in grads.items():
        assert np.array_equal(g["weight"], bp.grads[layer]["weight"]) and np.array_equal(g["bias"], bp.grads[layer]["bias"])
