"""The memory plan (hilt.plan.memory): the arrays the generated code really declares, what the DSE sums,
the BIND_STORAGE pragmas, deferred dense gradients and URAM placement bit-exact under the bounded C-sim,
and `hilt compile`'s refusal of a design that does not fit the board."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter

import numpy as np
import pytest

from hilt import golden, zoo
from hilt.accel import interface
from hilt.codegen import compile_project
from hilt.codegen.csim import build, census, run, run_backward
from hilt.codegen.streams import layout
from hilt.dse import Space, search
from hilt.dse.boards import load_board
from hilt.dse.resources import Coefficients
from hilt.ir.folding import LayerFolding
from hilt.plan import HLS, make_plan
from hilt.plan.memory import memory_plan, totals

from test_hls_dataflow import _net

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="C simulation needs g++")
C_BITS = {"int8_t": 8, "int16_t": 16, "int32_t": 32, "data_t": 32, "err_t": 16}


@pytest.fixture(scope="module")
def small():
    return _net()


def _stored_plan(q, batch=4):
    """The small net with a URAM conv, a deferred dense gradient and folded units."""
    units = {("c1", "fwd"): LayerFolding(2, 3), ("d", "fwd"): LayerFolding(3, 4)}
    storage = {("c1", "fwd"): "uram", ("c1", "grad"): "uram", ("d", "grad"): "deferred"}
    return make_plan(q.network, units, storage, target=HLS, mode="train", bits=q.bits, acc_bits=q.acc_bits,
                     batch=batch, board="zcu104")


def _declared(project) -> Counter:
    """What the generated design declares: the census of the instrumented C-sim (every kernel and top array),
    and the FIFOs deeper than two parsed from the top's HILT_STREAM declarations."""
    top = next(project.glob("*_top.cpp")).read_text()
    act = re.search(r"typedef (\w+) act_t;", top).group(1)
    widths = {**C_BITS, "act_t": C_BITS[act]}
    out = Counter()
    for owner, array, words, bits in census(project):
        out[(array if owner == "top" else f"{owner}:{array}", words, bits)] += 1
    for ctype, name, depth in re.findall(r"HILT_STREAM\((\w+), (\w+), (\d+)\);", top):
        if int(depth) > 2:
            out[(name, int(depth), widths[ctype])] += 1
    return out


def _planned(manifest) -> Counter:
    return Counter((a["name"], a["words"], a["width"]) for a in manifest["memory"]["arrays"])


@needs_gxx
@pytest.mark.parametrize("which", ["default", "stored", "infer"])
def test_the_memory_plan_lists_exactly_the_arrays_the_generated_code_declares(tmp_path, small, which):
    q, _, _ = small
    plan = {"default": None, "stored": _stored_plan(q), "infer": None}[which]
    manifest = compile_project(q, tmp_path / "p", plan=plan, forward_only=which == "infer")
    declared, planned = _declared(tmp_path / "p"), _planned(manifest)
    assert declared == planned, (declared - planned, planned - declared)
    assert (manifest["plan"]["mode"] == "infer") == (which == "infer")


@needs_gxx
def test_the_check_fails_when_the_code_declares_an_array_the_plan_misses(tmp_path, small):
    q, _, _ = small
    manifest = compile_project(q, tmp_path / "p")
    top = next((tmp_path / "p").glob("*_top.cpp"))
    text = top.read_text().replace("HILT_ARRAY_STATIC(c1_w);", "HILT_ARRAY_STATIC(c1_w);\n"
                                   "static int16_t extra[300];\nHILT_ARRAY_STATIC(extra);", 1)
    top.write_text(text)
    assert _declared(tmp_path / "p") - _planned(manifest) == Counter({("extra", 300, 16): 1})


def test_bind_storage_follows_the_plan(tmp_path, small):
    q, _, _ = small
    manifest = compile_project(q, tmp_path / "p", board=load_board("zcu104"), plan=_stored_plan(q))
    top = next((tmp_path / "p").glob("*_top.cpp")).read_text()
    bound = {a["name"]: a["storage"] for a in manifest["memory"]["arrays"] if a["bound"]}
    assert bound["c1_w"] == "uram" and bound["c1_g"] == "uram" and "d_xs" in bound and "d_g" not in bound
    for name, impl in bound.items():
        kind = "fifo" if name.startswith(("tap", "tx", "ty", "eo")) or name == "d_out" else \
            ("rom_2p" if name == "zeros" else "ram_2p")
        assert f"HILT_HLS(BIND_STORAGE variable = {name} type = {kind} impl = {impl})" in top, name
    assert top.count("BIND_STORAGE") == len(bound)
    assert "static wgt_t d_wt" not in top  # the dense error unit reads the forward weights (tied): no copy


@needs_gxx
def test_deferred_gradients_and_uram_are_bit_exact_in_every_mode(tmp_path, small):
    q, x, labels = small
    path = tmp_path / "p"
    manifest = compile_project(q, path, plan=_stored_plan(q, batch=4))
    x_int = golden.quantize_input(q, x)
    ref = golden.run(q, x_int)
    for a, b in zip(run(path, x_int, "train_forward"), ref):
        assert np.array_equal(a, b)
    assert np.array_equal(run(path, x_int, "infer", weights="-")[0], ref[-1])
    err = golden.error_at_logits(q, ref[-1], labels)
    errors, grads = run_backward(path, ref, err)
    bp = golden.backward(q, ref, err)
    for i in range(1, len(bp.errors) - 1):
        assert np.array_equal(errors[i], bp.errors[i]), i
    for layer, g in grads.items():
        assert np.array_equal(g["weight"], bp.grads[layer]["weight"]), layer
        assert np.array_equal(g["bias"], bp.grads[layer]["bias"]), layer
    # a batch beyond the deferred stash (4 samples): the design says so and reads nothing, writes nothing
    assert manifest["plan"]["batch"] == 4 and manifest["max_backward_samples"] == 4
    (tmp_path / "empty.bin").write_bytes(b"")
    for samples, status in ((5, interface.Status.UNSUPPORTED_MODE), (0, interface.Status.OK)):
        proc = subprocess.run([str(build(path)), "-", str(interface.Mode.BACKWARD), str(samples),
                               str(tmp_path / "empty.bin"), str(tmp_path / "out.bin"), "0" if samples else
                               str(_gradient_beats(manifest))], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.split() == ["status", str(int(status))], proc.stderr


def _gradient_beats(manifest) -> int:
    """Beats of a backward call of no samples: only the (zero) gradients."""
    return interface.total_beats(layout(manifest, "backward", 0)[1], manifest["beat_bits"])


@pytest.mark.parametrize("name, board", [("lenet5", "zcu104"), ("svhn", "zcu104"), ("lenet5", "pynq-z2")])
def test_the_dse_sums_the_memory_plan_of_its_chosen_design(name, board):
    """One plan: the block memory the DSE reports for a design is its memory plan's plus the shell's."""
    b = load_board(board)
    net = zoo.network(name, seed=2)
    space = Space(net, b, 200, "train", 8, target=HLS)
    chosen = search(space, 0.8).chosen
    plan_total = totals(memory_plan(net, chosen.plan, b))
    shell = Coefficients().shell[b.ps]
    assert chosen.resources["bram18"] == plan_total["bram18"] + shell["bram18"]
    assert chosen.resources["uram"] == plan_total["uram"]
    assert chosen.resources["bram18"] <= 0.8 * b.resources["bram18"]


def test_svhn_on_zcu104_needs_deferred_gradients_and_uram():
    """SVHN's fc1 gradient as 48-bit accumulators would be 25 Mbit: the chosen plan defers it."""
    b = load_board("zcu104")
    net = zoo.network("svhn", seed=2)
    plan = search(Space(net, b, 200, "train", 8, target=HLS), 0.8).chosen.plan
    assert plan.layer("fc1").unit("grad").storage == "deferred"
    arrays = {a.name: a for a in memory_plan(net, plan, b)}
    assert "fc1_g" not in arrays and arrays["fc1_xs"].words == plan.batch * 4096


def _compile(capsys, *args):
    from hilt.cli import main

    code = main(["compile", *map(str, args)])
    return code, capsys.readouterr()


def test_compile_refuses_a_design_that_does_not_fit_and_leaves_nothing(tmp_path, capsys):
    code, out = _compile(capsys, "svhn", "--board", "pynq-z2", "--engine", "streaming", "--calib", 8,
                         "-o", tmp_path / "p")
    err = out.err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("hilt: error: svhn does not fit PYNQ-Z2")
    assert "bram18" in err[0] and "fc1_w" in err[0] and "--force" in err[0] and "--board" in err[0]
    assert not (tmp_path / "p").exists() and list(tmp_path.iterdir()) == []


def test_compile_refuses_a_plan_whose_memory_does_not_fit(tmp_path, capsys):
    """A plan from a file is checked too: LeNet-5's training design unfolded, every unit in BRAM, on a PYNQ-Z2
    at a 30% cap."""
    code, out = _compile(capsys, "lenet5", "--board", "pynq-z2", "--engine", "streaming", "--calib", 8, "--cap",
                         0.3, "--folding", _write(tmp_path / "f.json", {"conv1": {"pe": 1, "simd": 1}}),
                         "-o", tmp_path / "p")
    err = out.err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "does not fit PYNQ-Z2: its memory plan needs" in err[0]
    assert re.search(r"layer \w+'s \w+", err[0]) and not (tmp_path / "p").exists()


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def test_compile_force_writes_it_and_the_manifest_says_it_does_not_fit(tmp_path, capsys):
    code, out = _compile(capsys, "svhn", "--board", "pynq-z2", "--engine", "streaming", "--calib", 8, "--force",
                         "-o", tmp_path / "p")
    assert code == 0 and "DOES NOT FIT" in out.out
    memory = json.loads((tmp_path / "p" / "manifest.json").read_text())["memory"]
    assert memory["fits"] is False and "bram18" in memory["overflow"]
    assert memory["totals"]["bram18"] + memory["shell"]["bram18"] > 0.8 * memory["board"]["bram18"]


@pytest.mark.parametrize("name, mode", [("lenet5", "train"), ("svhn", "train"), ("cifar10", "infer")])
def test_compile_on_zcu104_fits_and_the_manifest_carries_the_memory_plan(tmp_path, capsys, name, mode):
    """The zoo's nets on the ZCU104: LeNet-5 and SVHN with the backward pipeline, CIFAR-10 without it (its
    training design does not fit: docs/hls.md gives the numbers)."""
    code, out = _compile(capsys, name, "--board", "zcu104", "--calib", 8, "-o", tmp_path / "p")
    assert code == 0, out.err
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    memory = manifest["memory"]
    assert manifest["plan"]["mode"] == mode and memory["fits"] is True and memory["cap"] == 0.8
    for r in ("bram18", "uram"):
        assert memory["totals"][r] + memory["shell"].get(r, 0) <= 0.8 * memory["board"][r]
        assert memory["totals"][r] == sum(a["blocks"].get(r, 0) for a in memory["arrays"])
    if name == "cifar10":
        assert "forward pipeline only" in out.out
        fc1 = next(a for a in memory["arrays"] if a["name"] == "fc1_w")
        assert fc1["storage"] == "uram" and fc1["words"] == 512 * 4096


@pytest.mark.parametrize("name", ["svhn", "cifar10"])
def test_cifar10_and_svhn_streaming_training_designs_are_refused_on_the_pynq_z2(tmp_path, capsys, name):
    code, out = _compile(capsys, name, "--board", "pynq-z2", "--engine", "streaming", "--calib", 8,
                         "-o", tmp_path / "p")
    assert code == 2 and len(out.err.strip().splitlines()) == 1 and not (tmp_path / "p").exists()


def test_layout_of_a_deferred_design_is_unchanged(small, tmp_path):
    """Deferring a gradient changes where it is formed, not the interface: same sections as the default."""
    q, _, _ = small
    a = compile_project(q, tmp_path / "a")
    b = compile_project(q, tmp_path / "b", plan=_stored_plan(q))
    for mode in ("backward", "train_forward", "load_weights"):
        assert layout(a, mode, 3) == layout(b, mode, 3)
