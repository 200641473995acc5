"""The zoo models: exact shapes and parameter counts of the performance anchors, valid ONNX."""

from __future__ import annotations

import onnx
import pytest

from hilt import zoo
from hilt.frontend import import_onnx

EXPECTED = {
    "lenet5": ((1, 28, 28), 44_426, ["6x24x24", "6x12x12", "16x8x8", "16x4x4", "256", "120", "84", "10"]),
    "svhn": ((3, 32, 32), 545_098, ["32x32x32", "32x16x16", "64x16x16", "64x8x8", "4096", "128", "10"]),
    "cifar10": ((3, 32, 32), 2_168_362, ["32x32x32", "32x16x16", "64x16x16", "64x8x8", "4096", "512", "10"]),
    "alexnet": ((3, 227, 227), 60_965_224, ["96x55x55", "96x27x27", "256x27x27", "256x13x13", "384x13x13",
                                             "256x6x6", "9216", "4096", "1000"]),
}


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_model_shapes_and_parameters(name):
    shape, params, outputs = EXPECTED[name]
    net = zoo.network(name)
    assert net.input_shape == shape and net.param_count == params
    shapes = {"x".join(map(str, layer.out_shape)) for layer in net.layers}
    assert set(outputs) <= shapes


@pytest.mark.parametrize("name", ["lenet5", "svhn", "cifar10"])
def test_zoo_onnx_passes_the_checker_and_imports_back(name):
    model = zoo.build(name, seed=3)
    onnx.checker.check_model(model, full_check=True)
    net = import_onnx(model)
    ref = zoo.network(name, seed=3)
    assert [l.op for l in net.layers] == [l.op for l in ref.layers]
    for a, b in zip(net.weighted_layers(), ref.weighted_layers()):
        assert (a.params["weight"] == b.params["weight"]).all()


def test_alexnet_is_pipecnn_shaped():
    net = zoo.network("alexnet")
    convs = {l.name: l for l in net.layers if l.op == "conv"}
    assert convs["conv1"].attrs["stride"] == (4, 4) and convs["conv1"].params["weight"].shape == (96, 3, 11, 11)
    assert [convs[c].attrs["groups"] for c in ("conv2", "conv3", "conv4", "conv5")] == [2, 1, 2, 2]
    pools = [l for l in net.layers if l.op == "maxpool"]
    assert all(p.attrs["kernel"] == (3, 3) and p.attrs["stride"] == (2, 2) for p in pools)
    assert [l.op for l in net.layers].count("lrn") == 2
    assert net.layer("fc6").params["weight"].shape == (4096, 9216)


def test_seeds_give_different_reproducible_weights():
    a, b, c = (zoo.network("lenet5", seed=s).layer("conv1").params["weight"] for s in (0, 0, 1))
    assert (a == b).all() and not (a == c).all()
