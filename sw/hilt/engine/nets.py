"""A scaled AlexNet for checking the engine quickly: every kind of AlexNet layer (11x11 stride-4 conv,
LRN, overlapping 3/2 max-pools, grouped convs, three dense layers) at 1/8 of the channels and about 1/4
of the input area (3x115x115)."""

from __future__ import annotations

from ..ir import Network
from ..zoo import from_spec

SCALED_ALEXNET = ((3, 115, 115), [
    ("conv1", "conv", (12, 11, 4, 0, 1)), ("relu1", "relu", None), ("norm1", "lrn", (5, 1e-4, 0.75, 1.0)),
    ("pool1", "maxpool", (3, 2)),
    ("conv2", "conv", (32, 5, 1, 2, 2)), ("relu2", "relu", None), ("norm2", "lrn", (5, 1e-4, 0.75, 1.0)),
    ("pool2", "maxpool", (3, 2)),
    ("conv3", "conv", (48, 3, 1, 1, 1)), ("relu3", "relu", None),
    ("conv4", "conv", (48, 3, 1, 1, 2)), ("relu4", "relu", None),
    ("conv5", "conv", (32, 3, 1, 1, 2)), ("relu5", "relu", None), ("pool5", "maxpool", (3, 2)),
    ("flatten", "flatten", None),
    ("fc6", "dense", 512), ("relu6", "relu", None), ("fc7", "dense", 512), ("relu7", "relu", None),
    ("fc8", "dense", 10)])


def scaled_alexnet(seed: int = 0, classes: int = 10) -> Network:
    shape, spec = SCALED_ALEXNET
    spec = spec[:-1] + [("fc8", "dense", classes)]
    return from_spec("alexnet_s", shape, spec, seed)
