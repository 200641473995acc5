"""Layers and networks.

A ``Network`` is a chain of ``Layer`` objects (hilt maps sequential CNNs; branching graphs are
refused at import). Shapes are per sample, without the batch dimension: (C, H, W) for feature maps
and (N,) after flattening. Canonical parameter layouts:

=========  ====================================================================================
op         attrs / params
=========  ====================================================================================
conv       kernel (kh, kw), stride (sh, sw), pads (top, left, bottom, right), groups;
           weight (O, I/groups, kh, kw), bias (O,)
dense      weight (out, in), bias (out,)
relu       -
maxpool    kernel, stride, pads, ceil_mode (bool); padding never wins a max
avgpool    kernel, stride, pads, ceil_mode, count_include_pad (bool); GlobalAveragePool becomes
           an avgpool whose kernel is the whole map
lrn        size, alpha, beta, bias (ONNX/Caffe across-channel LRN)
flatten    (C, H, W) -> (C*H*W,) in C-major order, as ONNX Flatten and torch ``view`` do
softmax    only as the last layer; the loss always works on the logits before it
=========  ====================================================================================

Parameters are float32 numpy arrays. ``sources`` maps them back to ONNX initializers
(see :mod:`hilt.ir.sources`); ``onnx_nodes`` lists the ONNX nodes a layer implements.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from ..ops import OPS, WEIGHTED_OPS, op_of  # noqa: F401 (OPS, WEIGHTED_OPS: derived from the op modules)
from .sources import ParamSources


def pool_out_size(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
                  ceil_mode: bool = False) -> int:
    """Output length of a conv/pool window sweep along one axis (ONNX rules, dilation 1)."""
    span = size + pad_begin + pad_end - kernel
    n = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (n - 1) * stride >= size + pad_begin:
        n -= 1  # ONNX/torch: the last window must start inside the input or left padding
    return n


def padded_hw(layer: "Layer", in_hw: tuple[int, int] | None = None) -> tuple[int, int]:
    """Rows and columns a window sweep covers: the input with its padding, and any ceil-mode overhang."""
    h, w = in_hw or layer.in_shape[1:]
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = layer.attrs["kernel"], layer.attrs["stride"], layer.attrs["pads"]
    ceil = bool(layer.attrs.get("ceil_mode", False))
    ho, wo = pool_out_size(h, kh, sh, pt, pb, ceil), pool_out_size(w, kw, sw, pl, pr, ceil)
    return max(h + pt + pb, (ho - 1) * sh + kh), max(w + pl + pr, (wo - 1) * sw + kw)


@dataclass
class Layer:
    name: str
    op: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    attrs: dict = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    sources: ParamSources | None = None
    onnx_nodes: tuple[str, ...] = ()

    @property
    def weighted(self) -> bool:
        return op_of(self).weighted

    @property
    def param_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    @property
    def macs(self) -> int:
        """Multiply-accumulates per sample (weighted layers only; pools and LRN count 0)."""
        return op_of(self).macs(self)

    def expected_out_shape(self) -> tuple[int, ...]:
        """Output shape derived from in_shape and attrs; used to validate built networks."""
        return tuple(op_of(self).out_shape(self))


@dataclass
class Network:
    """A sequential CNN. ``input_shape`` is per sample, e.g. (1, 28, 28)."""

    name: str
    input_name: str
    input_shape: tuple[int, ...]
    layers: list[Layer]
    output_name: str = "output"
    meta: dict = field(default_factory=dict)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].out_shape if self.layers else self.input_shape

    @property
    def param_count(self) -> int:
        return sum(layer.param_count for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def has_softmax(self) -> bool:
        return bool(self.layers) and op_of(self.layers[-1]).last_only

    def weighted_layers(self) -> list[Layer]:
        return [layer for layer in self.layers if layer.weighted]

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def get_params(self) -> dict[str, dict[str, np.ndarray]]:
        """{layer name: {'weight': ..., 'bias': ...}} for weighted layers (copies)."""
        return {l.name: {k: v.copy() for k, v in l.params.items()} for l in self.weighted_layers()}

    def with_params(self, params: dict[str, dict[str, np.ndarray]]) -> "Network":
        """A copy of this network with the given canonical parameters (float32)."""
        net = copy.deepcopy(self)
        for layer in net.weighted_layers():
            if layer.name in params:
                for key, value in params[layer.name].items():
                    old = layer.params[key]
                    layer.params[key] = np.asarray(value, dtype=np.float32).reshape(old.shape)
        return net

    def validate(self) -> None:
        """Check the chain: every layer's in_shape is the previous out_shape, ops are known."""
        shape = tuple(self.input_shape)
        for i, layer in enumerate(self.layers):
            if layer.op not in OPS:
                raise ValueError(f"layer {layer.name}: unknown op {layer.op}")
            last_only = op_of(layer).last_only
            if tuple(layer.in_shape) != shape:
                raise ValueError(f"layer {layer.name}: in_shape {layer.in_shape} != {shape}")
            expected = layer.expected_out_shape()
            if tuple(layer.out_shape) != expected:
                raise ValueError(f"layer {layer.name}: out_shape {layer.out_shape} != {expected}")
            if last_only and i != len(self.layers) - 1:
                raise ValueError(f"layer {layer.name}: {layer.op} is only supported as the last layer")
            shape = tuple(layer.out_shape)
