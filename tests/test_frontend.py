"""ONNX import: every supported op and exporter variant maps; bad input gets one clear HiltError."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hilt.errors import HiltError
from hilt.frontend import SUPPORTED_OPS, export_onnx, import_onnx
from hilt.model import Model
from hilt.reference import forward


def make_model(nodes, inits, in_shape, out_rank=2, opset=13):
    """A one-input model; the output's dims are left symbolic for ONNX shape inference to fill in."""
    graph = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [f"d{i}" for i in range(out_rank)])],
        initializer=[numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def ort_run(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def assert_matches_ort(model, in_shape, rng, n=3):
    x = rng.standard_normal((n, *in_shape)).astype(np.float32)
    ref = ort_run(model, x)
    got = forward(import_onnx(model), x)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1e-4 * max(1e-6, float(ref.max() - ref.min()))


def test_gemm_variants_and_matmul_add(rng):
    w = rng.standard_normal((12, 5)).astype(np.float32)
    for attrs, b, c in [({"transB": 1}, w.T, rng.standard_normal(5)),
                        ({"alpha": 0.5, "beta": 2.0}, w, rng.standard_normal((1, 5))),
                        ({}, w, rng.standard_normal(1))]:
        model = make_model([helper.make_node("Gemm", ["x", "B", "C"], ["y"], **attrs)], {"B": b, "C": c}, (12,))
        assert_matches_ort(model, (12,), rng)
    model = make_model([helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])],
                       {"W": w, "b": rng.standard_normal(5)}, (12,))
    net = import_onnx(model)
    assert [l.op for l in net.layers] == ["dense"] and net.layers[0].sources.names() == ["W", "b"]
    assert_matches_ort(model, (12,), rng)


def test_conv_pool_variants(rng):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["a"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Conv", ["b", "W2", "B2"], ["c"], group=2, pads=[1, 0, 2, 1]),
        helper.make_node("MaxPool", ["c"], ["d"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("AveragePool", ["d"], ["e"], kernel_shape=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
        helper.make_node("AveragePool", ["e"], ["f"], kernel_shape=[2, 2], pads=[1, 1, 0, 0]),
        helper.make_node("Dropout", ["f"], ["g"]),
        helper.make_node("Identity", ["g"], ["h"]),
        helper.make_node("GlobalAveragePool", ["h"], ["i"]),
        helper.make_node("Flatten", ["i"], ["j"]),
        helper.make_node("Softmax", ["j"], ["y"], axis=1),
    ]
    inits = {"W": rng.standard_normal((4, 3, 3, 3)), "W2": rng.standard_normal((6, 2, 3, 3)),
             "B2": rng.standard_normal(6)}
    model = make_model(nodes, inits, (3, 17, 15))
    net = import_onnx(model)
    assert [l.op for l in net.layers] == ["conv", "relu", "conv", "maxpool", "avgpool", "avgpool", "avgpool",
                                          "flatten", "softmax"]
    assert_matches_ort(model, (3, 17, 15), rng)


def test_lrn_and_batchnorm_folding(rng):
    c = 6
    nodes = [helper.make_node("Conv", ["x", "W"], ["a"], kernel_shape=[3, 3]),
             helper.make_node("BatchNormalization", ["a", "g", "b", "m", "v"], ["bn"], epsilon=1e-3),
             helper.make_node("LRN", ["bn"], ["y"], size=3, alpha=0.01, beta=0.75, bias=2.0)]
    inits = {"W": rng.standard_normal((c, 2, 3, 3)), "g": rng.uniform(0.5, 1.5, c), "b": rng.standard_normal(c),
             "m": rng.standard_normal(c), "v": rng.uniform(0.5, 2, c)}
    model = make_model(nodes, inits, (2, 8, 8), out_rank=4)
    net = import_onnx(model)
    assert [l.op for l in net.layers] == ["conv", "lrn"]
    assert sorted(net.layers[0].sources.names()) == ["W", "b", "g"]
    assert_matches_ort(model, (2, 8, 8), rng)


def test_reshape_via_constant_and_via_shape_ops(rng):
    conv = helper.make_node("Conv", ["x", "W"], ["a"], kernel_shape=[3, 3])
    inits = {"W": rng.standard_normal((2, 1, 3, 3)), "F": rng.standard_normal((5, 18))}
    shape = helper.make_node("Constant", [], ["s"], value=numpy_helper.from_array(np.array([-1, 18], np.int64)))
    model = make_model([conv, shape, helper.make_node("Reshape", ["a", "s"], ["r"]),
                        helper.make_node("Gemm", ["r", "F"], ["y"], transB=1)], inits, (1, 5, 5))
    assert_matches_ort(model, (1, 5, 5), rng)
    side = [helper.make_node("Shape", ["a"], ["sh"]),
            helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0, np.int64))),
            helper.make_node("Gather", ["sh", "zero"], ["n"], axis=0),
            helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
            helper.make_node("Concat", ["n1", "minus1"], ["s2"], axis=0)]
    inits2 = dict(inits)
    model = make_model([conv] + side + [helper.make_node("Reshape", ["a", "s2"], ["r"]),
                                        helper.make_node("Gemm", ["r", "F"], ["y"], transB=1)], inits2, (1, 5, 5))
    model.graph.initializer.extend([numpy_helper.from_array(np.array([0], np.int64), "ax"),
                                    numpy_helper.from_array(np.array([-1], np.int64), "minus1")])
    assert_matches_ort(model, (1, 5, 5), rng)


def test_export_import_round_trip_keeps_names_and_values(tmp_path, lenet5_net, rng):
    path = tmp_path / "m.onnx"
    export_onnx(lenet5_net, path)
    again = import_onnx(path)
    assert [l.sources.names() for l in again.weighted_layers()] == [l.sources.names() for l in lenet5_net.weighted_layers()]
    x = rng.random((2, 1, 28, 28), dtype=np.float32)
    assert np.array_equal(forward(again, x), forward(lenet5_net, x))
    assert Model.load(path).forward(x).shape == (2, 10)


# ---- bad input --------------------------------------------------------------------------------

def expect_error(source, *fragments):
    with pytest.raises(HiltError) as exc:
        import_onnx(source)
    message = str(exc.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_truncated_random_and_missing_files(tmp_path, lenet5_onnx):
    data = lenet5_onnx.SerializeToString()
    (tmp_path / "trunc.onnx").write_bytes(data[: len(data) // 2])
    expect_error(tmp_path / "trunc.onnx", "trunc.onnx")
    (tmp_path / "rand.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    expect_error(tmp_path / "rand.onnx", "rand.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    expect_error(tmp_path / "empty.onnx", "empty.onnx")
    expect_error(tmp_path / "nope.onnx", "no such ONNX file")


def test_unsupported_op_names_node_op_and_the_supported_list(rng):
    model = make_model([helper.make_node("Sigmoid", ["x"], ["y"], name="act7")], {}, (4,))
    message = expect_error(model, "act7", "Sigmoid", "unsupported")
    assert all(op in message for op in SUPPORTED_OPS)


def test_branching_graph_is_refused(rng):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="r1"), helper.make_node("Relu", ["a"], ["b"], name="r2"),
             helper.make_node("Add", ["a", "b"], ["y"], name="skip")]
    expect_error(make_model(nodes, {}, (4,)), "sequential")


@pytest.mark.parametrize("nodes, inits, fragment, rank", [
    ([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("BatchNormalization", ["a", "g", "b", "m", "v"], ["y"])],
     {k: np.ones(3) for k in "gbmv"}, "BatchNormalization", 4),
    ([helper.make_node("Conv", ["x", "W"], ["y"], kernel_shape=[3, 3], dilations=[2, 2])],
     {"W": np.ones((2, 3, 3, 3))}, "dilation", 4),
    ([helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("Softmax", ["f"], ["s"], axis=1),
      helper.make_node("Relu", ["s"], ["y"])], {}, "softmax", 2),
])
def test_unmappable_patterns_are_refused(nodes, inits, fragment, rank):
    expect_error(make_model(nodes, inits, (3, 8, 8), out_rank=rank), fragment)


def _external_model(tmp_path, location):
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "W")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value=location)
    w.external_data.add(key="length", value="64")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "W"], ["y"])], "ext",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "models" / "m.onnx"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_escaping_the_model_folder_is_refused_unread(tmp_path, monkeypatch):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(16, dtype=np.float32).tobytes())
    loads = []
    monkeypatch.setattr(onnx.external_data_helper, "load_external_data_for_model",
                        lambda *a, **k: loads.append(a))
    for location in ("../secret.bin", str(secret), "sub/../../secret.bin"):
        expect_error(_external_model(tmp_path, location), "outside the model's folder", "refusing")
    assert loads == []


def test_external_data_inside_the_folder_loads(tmp_path, rng):
    path = _external_model(tmp_path, "weights.bin")
    (path.parent / "weights.bin").write_bytes(np.eye(4, dtype=np.float32).tobytes())
    x = rng.standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(forward(import_onnx(path), x), x)
