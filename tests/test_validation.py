"""Bad input never crashes, hangs or destroys: every hand-made bad input of the fuzzing audit, through
the CLI, ends with exit code 2 and one line naming the culprit, and nothing is left half-written."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fuzz_onnx import kitchen_sink, run_cli

SCRIPT = [sys.executable, "-c", "import sys; from hilt.cli import main; sys.exit(main())"]


def refused(argv, *fragments, timeout_s: float = 120.0):
    """Run `hilt argv` in-process; it must exit 2 with one `hilt: error:` line holding every fragment."""
    outcome, detail = run_cli([str(a) for a in argv], timeout_s)
    assert outcome == "refused", detail
    for fragment in fragments:
        assert str(fragment) in detail, detail
    return detail


def succeeded(argv, timeout_s: float = 120.0):
    outcome, detail = run_cli([str(a) for a in argv], timeout_s)
    assert outcome == "ok", detail


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def node(model, name):
    return next(n for n in model.graph.node if n.name == name)


def init(model, name):
    return next(t for t in model.graph.initializer if t.name == name)


def set_attr(n, name, value):
    for i, a in enumerate(n.attribute):
        if a.name == name:
            del n.attribute[i]
            break
    n.attribute.append(helper.make_attribute(name, value))


def replace_init(model, name, array):
    init(model, name).CopyFrom(numpy_helper.from_array(array, name))


@pytest.fixture
def x_kitchen(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((2, 2, 8, 8)).astype(np.float32))
    return path


# ---- models: each accepted by `info` before, or crashing `infer` -------------------------------------

def _auto_pad_foo(m):
    set_attr(node(m, "conv"), "auto_pad", "FOO")


def _opset_99(m):
    m.opset_import[0].version = 99


def _nan_weight(m):
    w = numpy_helper.to_array(init(m, "cw")).copy()
    w[0, 0, 0, 0] = np.nan
    replace_init(m, "cw", w)


def _inf_bias(m):
    replace_init(m, "gb", np.full(5, np.inf, np.float32))


def _string_init(m):
    t = init(m, "cb")
    t.ClearField("raw_data")
    t.data_type = TensorProto.STRING
    t.string_data.extend([b"1.5"] * 4)


def _complex_init(m):
    replace_init(m, "cb", np.ones(4, np.complex64))


def _bn_wrong_size(m):
    replace_init(m, "g", np.ones(3, np.float32))


def _conv_bias_mismatch(m):
    replace_init(m, "cb", np.ones(7, np.float32))


def _kernel_shape_mismatch(m):
    set_attr(node(m, "conv"), "kernel_shape", [2, 2])


def _lrn_size_0(m):
    set_attr(node(m, "lrn"), "size", 0)


def _lrn_size_huge(m):
    set_attr(node(m, "lrn"), "size", 2**31 - 1)


def _data_disagrees_with_dims(m):
    t = init(m, "mw")
    t.raw_data = t.raw_data[:-8]


def _dims_disagree_with_data(m):
    t = init(m, "gw")
    del t.dims[:]
    t.dims.extend([5, 7])


def _reshape_fixed_batch(m):
    for n in list(m.graph.node):
        if n.name in ("shape", "gather", "unsq", "concat"):
            m.graph.node.remove(n)
    m.graph.initializer.append(numpy_helper.from_array(np.array([2, -1], np.int64), "target"))


def _pool_without_kernel(m):
    n = node(m, "pool")
    for a in list(n.attribute):
        if a.name == "kernel_shape":
            n.attribute.remove(a)


def _pool_kernel_larger_than_map(m):
    set_attr(node(m, "avg"), "kernel_shape", [9, 9])


def _negative_stride(m):
    set_attr(node(m, "conv"), "strides", [-1, 1])


def _float_kernel(m):
    set_attr(node(m, "conv"), "kernel_shape", [3.0, 3.0])


def _group_zero(m):
    set_attr(node(m, "conv"), "group", 0)


def _bn_negative_var(m):
    replace_init(m, "v", -np.ones(4, np.float32))


def _huge_gemm_alpha(m):
    set_attr(node(m, "gemm"), "alpha", 1e38)
    replace_init(m, "gw", np.full((5, 6), 10, np.float32))


def _lrn_bias_zero(m):
    set_attr(node(m, "lrn"), "bias", 0.0)
    set_attr(node(m, "lrn"), "alpha", -1.0)


MODEL_CASES = {
    "auto_pad FOO": (_auto_pad_foo, "auto_pad"),
    "opset 99": (_opset_99, "opset 99"),
    "NaN weight": (_nan_weight, "NaN"),
    "inf bias": (_inf_bias, "NaN or infinite"),
    "huge finite weight": (lambda m: replace_init(m, "mw", np.full((36, 6), 3e38, np.float32)), "magnitude"),
    "int32 weights reinterpreted from float bytes": (lambda m: setattr(init(m, "cw"), "data_type", TensorProto.INT32),
                                                     "magnitude"),
    "string initializer": (_string_init, "cb"),
    "complex initializer": (_complex_init, "complex"),
    "BatchNormalization of the wrong size": (_bn_wrong_size, "scale has 3 values"),
    "conv bias of the wrong size": (_conv_bias_mismatch, "bias of 7 values"),
    "kernel_shape disagreeing with the weight": (_kernel_shape_mismatch, "kernel_shape [2, 2]"),
    "LRN size 0": (_lrn_size_0, "size=0"),
    "LRN size 2**31": (_lrn_size_huge, "size=2147483647"),
    "initializer data shorter than its dims": (_data_disagrees_with_dims, "mw"),
    "initializer dims larger than its data": (_dims_disagree_with_data, "gw"),
    "Reshape [2, -1]": (_reshape_fixed_batch, "Reshape"),
    "MaxPool without kernel_shape": (_pool_without_kernel, "kernel_shape"),
    "pool kernel larger than the map": (_pool_kernel_larger_than_map, "avg"),
    "negative stride": (_negative_stride, "strides"),
    "float kernel_shape": (_float_kernel, "conv"),
    "group 0": (_group_zero, "group"),
    "negative BatchNormalization variance": (_bn_negative_var, "bn"),
    "Gemm alpha overflowing float32": (_huge_gemm_alpha, "gemm"),
    "LRN with a zero base": (_lrn_bias_zero, "lrn"),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_model_refused_by_info_and_infer(case, tmp_path, x_kitchen):
    mutate, fragment = MODEL_CASES[case]
    model = kitchen_sink()
    mutate(model)
    path = save(model, tmp_path / "m.onnx")
    refused(["info", path], fragment)
    refused(["infer", path, "--backend", "golden", "--input", x_kitchen, "--output", tmp_path / "y.npy"], fragment)
    assert not (tmp_path / "y.npy").exists()


def test_the_unmutated_kitchen_sink_runs(tmp_path, x_kitchen):
    """The base of the cases above is a good model: each refusal is caused by its one mutation."""
    path = save(kitchen_sink(), tmp_path / "m.onnx")
    succeeded(["info", path])
    succeeded(["infer", path, "--backend", "golden", "--input", x_kitchen, "--output", tmp_path / "y.npy"])
    assert np.load(tmp_path / "y.npy").shape == (2, 5)


# ---- external data ---------------------------------------------------------------------------------

def _external(tensor, entries):
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in entries:
        e = tensor.external_data.add()
        e.key, e.value = key, value


def external_model(tmp_path: Path, entries: list[tuple[str, str]], in_subgraph: bool = False) -> Path:
    """A 4->4 Gemm whose weight lives in external data with the given entries; optionally the external
    tensor sits in an If branch (a subgraph) instead of the top-level initializers."""
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    eye = np.eye(4, dtype=np.float32)
    (folder / "w.bin").write_bytes(eye.tobytes())
    (tmp_path / "secret.bin").write_bytes((np.arange(16, dtype=np.float32) + 100).tobytes())
    if not (folder / "link.bin").exists():
        os.symlink(tmp_path / "secret.bin", folder / "link.bin")
    w = numpy_helper.from_array(eye, "w")
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")]
    inits = [w]
    if in_subgraph:
        inner = numpy_helper.from_array(eye, "k")
        _external(inner, entries)
        branch = helper.make_graph([helper.make_node("Identity", ["k"], ["o"])], "branch", [],
                                   [helper.make_tensor_value_info("o", TensorProto.FLOAT, [4, 4])],
                                   initializer=[inner])
        inits.append(numpy_helper.from_array(np.array(True), "cond"))
        nodes.insert(0, helper.make_node("If", ["cond"], ["unused"], name="if", then_branch=branch,
                                         else_branch=branch))
    else:
        _external(w, entries)
        inits = [w]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], initializer=inits)
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), folder / "m.onnx")


EXTERNAL_CASES = {
    "duplicated location (onnx reads the last)": ([("location", "w.bin"), ("location", "link.bin")], False,
                                                   "two external-data 'location' entries"),
    "duplicated location, bad one first": ([("location", "../secret.bin"), ("location", "w.bin")], False,
                                           "two external-data"),
    "subgraph tensor through a symlink": ([("location", "link.bin")], True, "symbolic link"),
    "subgraph tensor outside the folder": ([("location", "../secret.bin")], True, "outside the model's folder"),
    "symlink": ([("location", "link.bin")], False, "symbolic link"),
    "negative offset": ([("location", "w.bin"), ("offset", "-4")], False, "offset"),
    "non-integer length": ([("location", "w.bin"), ("length", "1.5")], False, "length"),
    "offset beyond the file": ([("location", "w.bin"), ("offset", "4096")], False, "does not match"),
    "length disagreeing with dims": ([("location", "w.bin"), ("length", "32")], False, "dims [4, 4]"),
    "NUL in the location": ([("location", "w.bin\0/../../secret.bin")], False, "unusable"),
    "over-long location": ([("location", "a" * 5000)], False, "unusable"),
    "missing file": ([("location", "absent.bin")], False, "missing"),
    "basepath": ([("location", "w.bin"), ("basepath", "/")], False, "basepath"),
    "unknown key": ([("location", "w.bin"), ("evil", "1")], False, "unknown external-data key"),
}


@pytest.mark.parametrize("case", list(EXTERNAL_CASES))
def test_external_data_refused(case, tmp_path):
    entries, sub, fragment = EXTERNAL_CASES[case]
    refused(["info", external_model(tmp_path, entries, sub)], fragment)


def test_external_data_symlink_loop_and_folder_refused(tmp_path):
    path = external_model(tmp_path, [("location", "loop1")])
    os.symlink("loop2", path.parent / "loop1")
    os.symlink("loop1", path.parent / "loop2")
    refused(["info", path], "symbolic link")
    (path.parent / "sub").mkdir()
    refused(["info", external_model(tmp_path, [("location", "sub")])], "not a regular file")


def test_good_external_data_still_loads(tmp_path):
    succeeded(["info", external_model(tmp_path, [("location", "w.bin"), ("offset", "0"), ("length", "64")])])
    # the subgraph's external data passes every check; the If node itself is what hilt does not map
    refused(["info", external_model(tmp_path, [("location", "./w.bin")], in_subgraph=True)], "(If): unsupported op")


# ---- --input -----------------------------------------------------------------------------------------

def _npy_header(path: Path, shape) -> Path:
    header = repr({"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(64))
    return path


INPUT_CASES = {
    "empty file": (lambda p: p.write_bytes(b""), "not a .npy array"),
    ".npz": (lambda p: np.savez(open(p, "wb"), a=np.zeros(3)), "not a .npy array"),
    "structured dtype": (lambda p: np.save(p, np.zeros(2, [("a", "f4"), ("b", "i4")])), "not a plain numeric"),
    "text": (lambda p: np.save(p, np.array(["a", "b"])), "not numeric"),
    "complex": (lambda p: np.save(p, np.zeros((1, 2, 8, 8), np.complex64)), "complex"),
    "batch of 0": (lambda p: np.save(p, np.zeros((0, 2, 8, 8), np.float32)), "no samples"),
    "NaN": (lambda p: np.save(p, np.full((1, 2, 8, 8), np.nan, np.float32)), "NaN"),
    "float64 beyond float32": (lambda p: np.save(p, np.full((1, 2, 8, 8), 1e300)), "NaN or infinite"),
    "huge pixels": (lambda p: np.save(p, np.full((1, 2, 8, 8), 1e30, np.float32)), "normalise"),
    "wrong shape": (lambda p: np.save(p, np.zeros((1, 3, 8, 8), np.float32)), "does not match the model input"),
    "scalar": (lambda p: np.save(p, np.float32(1)), "does not match"),
    "header claiming 2**40 samples": (lambda p: _npy_header(p, (2**40, 2, 8, 8)), "limit"),
    "header larger than the data": (lambda p: _npy_header(p, (100, 2, 8, 8)), "truncated"),
}


@pytest.mark.parametrize("case", list(INPUT_CASES))
def test_bad_input_array_refused(case, tmp_path):
    write, fragment = INPUT_CASES[case]
    x = tmp_path / "x.npy"
    write(x)
    model = save(kitchen_sink(), tmp_path / "m.onnx")
    refused(["infer", model, "--backend", "golden", "--input", x, "--output", tmp_path / "y.npy"], fragment)
    assert not (tmp_path / "y.npy").exists()


def test_fifo_and_device_inputs_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.npy"
    os.mkfifo(fifo)
    for source in (fifo, "/dev/null", "/dev/zero", tmp_path):
        refused(["infer", "lenet5", "--input", source, "--output", tmp_path / "y.npy"], str(source),
                timeout_s=10)


# ---- output paths: refused before any work ----------------------------------------------------------

@pytest.mark.parametrize("where, fragment", [("{dir}", "is a folder"), ("{file}/y.npy", "is a file, not a folder"),
                                             ("/proc/hilt.npy", "pseudo file system"), ("", "not a usable")])
def test_bad_output_paths_refused_before_work(where, fragment, tmp_path, x_kitchen):
    (tmp_path / "plain").write_text("user data")
    out = where.format(dir=tmp_path, file=tmp_path / "plain")
    model = save(kitchen_sink(), tmp_path / "m.onnx")
    refused(["infer", model, "--input", x_kitchen, "--output", out], fragment)
    refused(["info", model, "--json", out], fragment)
    start = time.perf_counter()
    refused(["train", "lenet5", "-o", out, "--epochs", 1, "--quiet"], fragment)  # before training, not after
    refused(["sweep", "lenet5", "--json", out, "--quiet"], fragment)
    assert time.perf_counter() - start < 30
    assert (tmp_path / "plain").read_text() == "user data"


# ---- numeric options -----------------------------------------------------------------------------

@pytest.mark.parametrize("argv, fragment", [
    (["infer", "lenet5", "--backend", "emu", "--freq", "0", "--input", "x", "--output", "y"], "--freq"),
    (["finetune", "lenet5", "--freq", "0"], "--freq"),
    (["finetune", "lenet5", "--freq", "-5"], "--freq"),
    (["finetune", "lenet5", "--freq", "nan"], "--freq"),
    (["finetune", "lenet5", "--freq", "900"], "hangs above 350"),
    (["sweep", "lenet5", "--f-safe", "0"], "--f-safe"),
    (["sweep", "lenet5", "--temp", "-300"], "--temp"),
    (["sweep", "lenet5", "--freq", "1:1e12:1"], "at most 10,000"),
    (["sweep", "lenet5", "--freq", "100:inf:1"], "--freq"),
    (["sweep", "lenet5", "--chip-seed", "-1"], "--chip-seed"),
    (["faults", "lenet5", "--reram", "-1"], "--reram"),
    (["faults", "lenet5", "--clip", "-1"], "--clip"),
    (["faults", "lenet5", "--stuck-at", "nan"], "--stuck-at"),
    (["train", "lenet5", "-o", "t.onnx", "--lr", "nan"], "--lr"),
    (["train", "lenet5", "-o", "t.onnx", "--momentum", "1"], "--momentum"),
    (["train", "lenet5", "-o", "t.onnx", "--epochs", "1e9"], "--epochs"),
    (["dse", "lenet5", "--board", "zcu104", "--freq", "inf"], "--freq"),
    (["dse", "lenet5", "--board", "zcu104", "--freq", "100", "--cap", "0"], "--cap"),
    (["compile", "lenet5", "-o", "p", "--freq", "-1"], "--freq"),
])
def test_out_of_range_numbers_refused(argv, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(argv, fragment)


# ---- documents: chip, sweep, folding, quantized model, checkpoint, board ----------------------------

@pytest.mark.parametrize("text, fragment", [
    ('{"temp_c": NaN}', "NaN"), ('{"f_safe_mhz": 1e400}', "overflows"), ("[1, 2]", "JSON object"),
    ('{"seed": 1, "evil": 2}', "unknown field"), ('{"temp_c": -300}', "temp_c"), ('{"crash_ratio": 0.5}', "crash_ratio"),
    ('{"layer_scale": {"conv1": -1}}', "layer_scale"), ('{"f_safe_mhz": "fast"}', "not a number"),
    (b"\xff\xfe{}", "UTF-8"), ("[" * 100000, "nested too deeply"),
])
def test_bad_chip_file_refused(text, fragment, tmp_path):
    chip = tmp_path / "chip.json"
    chip.write_bytes(text if isinstance(text, bytes) else text.encode())
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1, 28, 28), np.float32))
    refused(["infer", "lenet5", "--backend", "emu", "--chip", chip, "--input", x, "--output", tmp_path / "y.npy"],
            fragment)


@pytest.mark.parametrize("text, fragment", [
    ('{"points": Infinity}', "Infinity"), ('{"points": []}', "non-empty"), ('{"points": [{"freq_mhz": "a"}]}', "freq_mhz"),
    ('{"points": [{"freq_mhz": 100, "hung": true}]}', "every point hung"), ('{"nope": 1}', "points"),
    ('{"points": [{"freq_mhz": 100, "layers": {"conv1": 7}}]}', "conv1"),
])
def test_bad_sweep_file_refused(text, fragment, tmp_path):
    sweep = tmp_path / "sweep.json"
    sweep.write_text(text)
    refused(["profile", "fit", sweep, "lenet5", "-o", tmp_path / "chip.json"], fragment)


@pytest.mark.parametrize("text, fragment", [
    ('{"conv1": {"pe": Infinity}}', "Infinity"), ('{"conv1": {"pe": 1e400}}', "overflows"), ("[1]", "JSON object"),
    ('{"conv1": {"pe": 1.5}}', "positive integers"), ('{"conv1": {"pe": [2]}}', "positive integers"),
    ('{"conv1": {"pe": true}}', "positive integers"), ('{"chosen": {"folding": [1]}}', "expected an object"),
])
def test_bad_folding_refused(text, fragment, tmp_path):
    folding = tmp_path / "f.json"
    folding.write_text(text)
    refused(["compile", "lenet5", "-o", tmp_path / "p", "--folding", folding, "--calib", 8], fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def _plan_json(edit) -> dict:
    from hilt import zoo
    from hilt.plan import default_plan

    plan = default_plan(zoo.network("lenet5")).to_json()
    edit(plan)
    return plan


@pytest.mark.parametrize("edit, fragment", [
    (lambda p: p["layers"][0]["units"]["fwd"].update(pe=0), "conv1.fwd.pe is 0"),
    (lambda p: p["layers"][0]["units"]["fwd"].update(simd="x"), "conv1.fwd.simd"),
    (lambda p: p["layers"][0]["units"]["fwd"].update(storage="flash"), "conv1.fwd.storage"),
    (lambda p: p["layers"][0]["units"].update(bwd={}), "conv1 unit is 'bwd'"),
    (lambda p: p.update(target="asic"), "plan target"),
    (lambda p: p.update(layers=[1]), "not a hardware plan"),
    (lambda p: p["layers"][1]["units"].update(fwd={}), "has no matrix units"),
    (lambda p: p["layers"][0].update(fifo_depth=-1), "conv1.fifo_depth"),
    (lambda p: p.clear() or p.update(chosen={"plan": 3}), "not a JSON object"),
])
def test_bad_plan_refused(edit, fragment, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan_json(edit)))
    refused(["compile", "lenet5", "-o", tmp_path / "p", "--plan", plan, "--calib", 8], fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def _corrupt_npz(path: Path, kind: str):
    if kind == "garbage":
        path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    elif kind == "empty npz":
        np.savez(open(path, "wb"))
    elif kind == "bad header":
        np.savez(open(path, "wb"), __header__=np.frombuffer(b'{"version": 1, "layers": 5}', np.uint8),
                 __onnx__=np.frombuffer(onnx.load_model_from_string(b"").SerializeToString() or b"x", np.uint8))
    elif kind == "pickle":
        np.savez(open(path, "wb"), __header__=np.array([{"a": 1}], dtype=object))


@pytest.mark.parametrize("kind", ["garbage", "empty npz", "bad header", "pickle"])
def test_malformed_quantized_file_refused(kind, tmp_path):
    q = tmp_path / "q.npz"
    _corrupt_npz(q, kind)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1, 28, 28), np.float32))
    refused(["infer", "lenet5", "--backend", "golden", "--quantized", q, "--input", x, "--output", tmp_path / "y"],
            "q.npz")
    refused(["compile", q, "-o", tmp_path / "p"], "q.npz")


def test_quantized_file_with_tampered_header_refused(tmp_path, trained_q):
    q = tmp_path / "q.npz"
    trained_q.save(q)
    with np.load(q) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header["layers"][0]["shift"] = 10**9
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(open(q, "wb"), **arrays)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1, 28, 28), np.float32))
    refused(["infer", "lenet5", "--backend", "golden", "--quantized", q, "--input", x, "--output", tmp_path / "y"],
            "shift")


@pytest.mark.parametrize("kind", ["garbage", "empty npz", "pickle", "text"])
def test_corrupt_finetune_checkpoint_refused(kind, tmp_path):
    ckpt = tmp_path / "ckpt.npz"
    if kind == "text":
        ckpt.write_text("not a checkpoint")
    else:
        _corrupt_npz(ckpt, kind)
    refused(["finetune", "lenet5", "--freq", "250", "--checkpoint", ckpt, "--calib", 16, "--samples", 8,
             "--train-samples", 8, "--epochs", 1, "--quiet"], "ckpt.npz")


@pytest.mark.parametrize("edit, fragment", [
    (lambda t: t.replace("19.2", ".nan"), "ddr_bandwidth_gbps"),
    (lambda t: t.replace("dsp: 1728", "dsp: 1000000000000"), "resources.dsp"),
    (lambda t: t.replace("max_mhz: 333", "max_mhz: .inf"), "max_mhz"),
    (lambda t: t.replace("128", "1e9"), "dma_width_bits"),
    (lambda t: "&a [*a]", "board"),
])
def test_bad_board_yaml_refused(edit, fragment, tmp_path):
    from hilt.dse.boards import BOARDS_DIR

    board = tmp_path / "b.yaml"
    board.write_text(edit((BOARDS_DIR / "zcu104.yaml").read_text()))
    refused(["dse", "lenet5", "--board", board, "--freq", "100"], fragment)


def test_board_yaml_not_utf8_refused(tmp_path):
    board = tmp_path / "b.yaml"
    board.write_bytes(b"name: \xff\xfe\n")
    refused(["dse", "lenet5", "--board", board, "--freq", "100"], "UTF-8")


# ---- data sets -------------------------------------------------------------------------------------

def _idx(array: np.ndarray, dims=None) -> bytes:
    dims = array.shape if dims is None else dims
    return bytes([0, 0, 8, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims) + array.tobytes()


def _mnist(folder: Path, n_train=4, n_test=2, labels=None, image_dims=None, gz_garbage=False):
    folder.mkdir(exist_ok=True)
    files = {"train-images-idx3-ubyte": _idx(np.zeros((n_train, 28, 28), np.uint8), image_dims),
             "train-labels-idx1-ubyte": _idx(np.zeros(n_train if labels is None else labels, np.uint8)),
             "t10k-images-idx3-ubyte": _idx(np.zeros((n_test, 28, 28), np.uint8)),
             "t10k-labels-idx1-ubyte": _idx(np.zeros(n_test, np.uint8))}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if gz_garbage:
        (folder / "train-images-idx3-ubyte").write_bytes(b"\x1f\x8b" + bytes(100))
    return folder


@pytest.mark.parametrize("make, fragment", [
    (lambda d: _mnist(d, n_train=0, labels=0), "no images"),
    (lambda d: _mnist(d, labels=3), "labels"),
    (lambda d: _mnist(d, image_dims=(10**6, 28, 28)), "idx header says"),
    (lambda d: _mnist(d, image_dims=(2**32 - 1,) * 8), "idx header says"),
    (lambda d: _mnist(d, gz_garbage=True), "cannot read it"),
])
def test_bad_data_files_refused(make, fragment, tmp_path):
    data = make(tmp_path / "mnist")
    refused(["eval", "lenet5", "--data", data, "--backend", "float"], fragment)


@pytest.mark.parametrize("labels, fragment", [([-1, 0], "negative label"), ([2.7, 1], "whole class numbers")])
def test_bad_labels_refused(labels, fragment, tmp_path):
    from scipy.io import savemat

    folder = tmp_path / "svhn"
    folder.mkdir()
    for name in ("train_32x32.mat", "test_32x32.mat"):
        savemat(folder / name, {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array(labels, float).reshape(-1, 1)})
    refused(["eval", "svhn", "--data", folder, "--backend", "float"], fragment)


# ---- compile -o never destroys ---------------------------------------------------------------------

def _compile(out, *extra):
    return run_cli(["compile", "lenet5", "-o", str(out), "--calib", "8", *map(str, extra)], 120)


def test_compile_keeps_a_users_folder(tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "thesis.tex").write_text("two years of work")
    outcome, detail = _compile(out)
    assert outcome == "refused" and "--force" in detail and "not written by hilt" in detail, detail
    assert (out / "thesis.tex").read_text() == "two years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # nothing beside it either


def test_compile_replaces_its_own_project_and_force_replaces_anything(tmp_path):
    out = tmp_path / "project"
    assert _compile(out)[0] == "ok"
    (out / "stale.txt").write_text("from an earlier run")
    assert _compile(out) == ("ok", "compile: ") or _compile(out)[0] == "ok"
    assert (out / "manifest.json").is_file() and not (out / "stale.txt").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert _compile(other, "--force")[0] == "ok"
    assert (other / "manifest.json").is_file() and not (other / "notes.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "project"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_failed_or_interrupted_compile_leaves_nothing_behind(error, tmp_path, monkeypatch):
    import hilt.codegen.project as project

    out = tmp_path / "project"
    assert _compile(out)[0] == "ok"
    before = sorted(p.name for p in out.iterdir())

    def fail(*args, **kwargs):
        raise error("disk full" if error is OSError else "")

    monkeypatch.setattr(project, "stream_weights", fail)
    outcome, _ = _compile(out)
    assert outcome in ("refused", "noisy", "traceback")  # interrupted (130) or a real failure: either way...
    assert sorted(p.name for p in out.iterdir()) == before  # ...the old project is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # and no .project.*.part is left


def test_compile_output_under_a_file_refused_before_quantizing(tmp_path):
    (tmp_path / "f").write_text("x")
    refused(["compile", "lenet5", "-o", tmp_path / "f" / "p"], "is a file")
    refused(["compile", "lenet5", "-o", tmp_path / "f"], "not a folder")


# ---- hangs, memory and Ctrl-C: in subprocesses with limits -----------------------------------------

def _limited(mb: int):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (mb << 20, mb << 20))
    return apply


def run_limited(argv, timeout_s=120, memory_mb=3000):
    proc = subprocess.run(SCRIPT + [str(a) for a in argv], capture_output=True, text=True, timeout=timeout_s,
                          preexec_fn=_limited(memory_mb))
    return proc.returncode, proc.stderr


def test_explosive_values_refused_fast_within_memory(tmp_path):
    model = kitchen_sink()
    set_attr(node(model, "lrn"), "size", 2**31 - 1)
    lrn = save(model, tmp_path / "lrn.onnx")
    x = _npy_header(tmp_path / "x.npy", (2**40, 2, 8, 8))
    fifo = tmp_path / "fifo.npy"
    os.mkfifo(fifo)
    for argv, fragment in ((["info", lrn], "size"),
                           (["infer", "lenet5", "--input", x, "--output", tmp_path / "y.npy"], "limit"),
                           (["infer", "lenet5", "--input", fifo, "--output", tmp_path / "y.npy"], "not a regular file"),
                           (["sweep", "lenet5", "--freq", "1:1e12:1"], "at most")):
        code, err = run_limited(argv, timeout_s=60)
        assert code == 2 and "Traceback" not in err and err.count("\n") == 1 and fragment in err, err


def _maps(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


def _interrupt(trigger, model="lenet5") -> tuple[int, str]:
    proc = subprocess.Popen(SCRIPT + ["info", model], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not trigger(proc) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_ctrl_c_at_any_moment_prints_no_traceback():
    """SIGINT during start-up (the imports of numpy and onnx take most of a second) or during the work:
    one line, exit 130. Only a signal that lands before the launcher has reached hilt's code (the
    interpreter's own start-up) is the interpreter's to report, and then without any hilt frame."""
    import hilt

    package = str(Path(hilt.__file__).parent)
    for delay in (0.02, 0.05, 0.1, 0.2):  # wherever these land on a loaded machine: never through hilt
        code, err = _interrupt(lambda p, t=time.monotonic() + delay: time.monotonic() > t)
        assert package not in err, (delay, err)
    # once numpy's, then onnx's, extension is loaded the imports are under way inside hilt: a clean stop
    for marker in ("_multiarray_umath", "onnx_cpp2py_export"):
        code, err = _interrupt(lambda p: marker in _maps(p.pid))
        assert (code, err) in ((130, "hilt: interrupted\n"), (0, "")), (marker, code, err)
    code, err = _interrupt(lambda p, t=time.monotonic() + 2.5: time.monotonic() > t, "alexnet")  # during the work
    assert (code, err) in ((130, "hilt: interrupted\n"), (0, "")), (code, err)
