"""IR -> ONNX: the inverse of the importer, used to save trained models and to build the zoo.

Conv and dense layers keep the initializer names they were imported with (``DirectSources``), so a
model trained by hilt opens in Netron or PyTorch with the names the user gave it. Layers whose
parameters were folded (BatchNormalization, Gemm alpha/beta, MatMul+Add) are written in canonical
form: Conv with its bias, Gemm with transB=1.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..fileio import atomic_path
from ..ir import Layer, Network
from ..ir.sources import param_names

OPSET = 13


def _pool_attrs(layer: Layer) -> dict:
    a = layer.attrs
    attrs = {"kernel_shape": list(a["kernel"]), "strides": list(a["stride"]), "pads": _onnx_pads(a["pads"])}
    if a.get("ceil_mode"):
        attrs["ceil_mode"] = 1
    return attrs


def _onnx_pads(pads) -> list[int]:
    top, left, bottom, right = pads
    return [top, left, bottom, right]  # ONNX: all begins (H, W) then all ends (H, W)


def _nodes(layer: Layer, x: str, y: str, inits: list) -> list:
    a = layer.attrs
    if layer.op in ("conv", "dense"):
        wname, bname = param_names(layer)
        inits.append(numpy_helper.from_array(np.asarray(layer.params["weight"], np.float32), wname))
        inits.append(numpy_helper.from_array(np.asarray(layer.params["bias"], np.float32), bname))
        if layer.op == "dense":
            return [helper.make_node("Gemm", [x, wname, bname], [y], name=layer.name, transB=1)]
        return [helper.make_node("Conv", [x, wname, bname], [y], name=layer.name,
                                 kernel_shape=list(a["kernel"]), strides=list(a["stride"]),
                                 pads=_onnx_pads(a["pads"]), group=int(a.get("groups", 1)))]
    if layer.op == "relu":
        return [helper.make_node("Relu", [x], [y], name=layer.name)]
    if layer.op == "maxpool":
        return [helper.make_node("MaxPool", [x], [y], name=layer.name, **_pool_attrs(layer))]
    if layer.op == "avgpool":
        return [helper.make_node("AveragePool", [x], [y], name=layer.name,
                                 count_include_pad=int(bool(a.get("count_include_pad"))), **_pool_attrs(layer))]
    if layer.op == "lrn":
        return [helper.make_node("LRN", [x], [y], name=layer.name, size=int(a["size"]), alpha=float(a["alpha"]),
                                 beta=float(a["beta"]), bias=float(a["bias"]))]
    if layer.op == "flatten":
        return [helper.make_node("Flatten", [x], [y], name=layer.name, axis=1)]
    if layer.op == "softmax":
        return [helper.make_node("Softmax", [x], [y], name=layer.name, axis=1)]
    raise ValueError(f"layer {layer.name}: cannot export op {layer.op}")


def to_onnx(net: Network, producer: str = "hilt") -> onnx.ModelProto:
    """The network as a checked ONNX model (opset 13, batch dimension named 'N')."""
    inits: list = []
    nodes: list = []
    current = net.input_name
    for i, layer in enumerate(net.layers):
        out = net.output_name if i == len(net.layers) - 1 else f"{layer.name}_out"
        nodes += _nodes(layer, current, out, inits)
        current = out
    graph = helper.make_graph(
        nodes, net.name,
        [helper.make_tensor_value_info(net.input_name, TensorProto.FLOAT, ["N", *net.input_shape])],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, ["N", *net.output_shape])],
        initializer=inits)
    model = helper.make_model(graph, producer_name=producer, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    onnx.checker.check_model(model)
    return model


def export_onnx(net: Network, path: str | os.PathLike) -> None:
    """Write the network to ``path`` atomically (no half-written file on failure)."""
    model = to_onnx(net)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
