"""The model zoo, built directly as ONNX with the exact shapes the performance anchors used.

- ``lenet5``: LeCun's LeNet-5 as in the BP-pipeline paper (1x28x28, 44,426 parameters);
- ``svhn`` and ``cifar10``: the two nets of the BP-pipeline paper's SVHN and CIFAR-10 experiments;
- ``alexnet``: AlexNet exactly as PipeCNN runs it (Caffe's bvlc_alexnet: 227x227x3, conv1 11x11 s4,
  LRN before each of the first two overlapping 3/2 max-pools, grouped conv2/4/5; 60,965,224 params).

Weights are random (PyTorch's default uniform initialisation, seeded), so the models are ready to be
trained by ``hilt train``. Initializer names follow PyTorch (``conv1.weight``, ``fc6.bias``).
"""

from __future__ import annotations

import numpy as np
import onnx

from ..ir import DirectSources, Layer, Network

# Each spec: (name, op, args). conv args: (out, kernel, stride, pad, groups); dense: out;
# maxpool: (kernel, stride); lrn: (size, alpha, beta, bias).
_SPECS = {
    "lenet5": ((1, 28, 28), "LeNet-5, 1x28x28 (MNIST), 44,426 parameters", [
        ("conv1", "conv", (6, 5, 1, 0, 1)), ("relu1", "relu", None), ("pool1", "maxpool", (2, 2)),
        ("conv2", "conv", (16, 5, 1, 0, 1)), ("relu2", "relu", None), ("pool2", "maxpool", (2, 2)),
        ("flatten", "flatten", None),
        ("fc1", "dense", 120), ("relu3", "relu", None), ("fc2", "dense", 84), ("relu4", "relu", None),
        ("fc3", "dense", 10)]),
    "svhn": ((3, 32, 32), "BP-pipeline SVHN net, 3x32x32, 2 conv + 2 fc", [
        ("conv1", "conv", (32, 3, 1, 1, 1)), ("relu1", "relu", None), ("pool1", "maxpool", (2, 2)),
        ("conv2", "conv", (64, 3, 1, 1, 1)), ("relu2", "relu", None), ("pool2", "maxpool", (2, 2)),
        ("flatten", "flatten", None),
        ("fc1", "dense", 128), ("relu3", "relu", None), ("fc2", "dense", 10)]),
    "cifar10": ((3, 32, 32), "BP-pipeline CIFAR-10 net, 3x32x32, 4 conv + 2 fc", [
        ("conv1", "conv", (32, 3, 1, 1, 1)), ("relu1", "relu", None),
        ("conv2", "conv", (32, 3, 1, 1, 1)), ("relu2", "relu", None), ("pool1", "maxpool", (2, 2)),
        ("conv3", "conv", (64, 3, 1, 1, 1)), ("relu3", "relu", None),
        ("conv4", "conv", (64, 3, 1, 1, 1)), ("relu4", "relu", None), ("pool2", "maxpool", (2, 2)),
        ("flatten", "flatten", None),
        ("fc1", "dense", 512), ("relu5", "relu", None), ("fc2", "dense", 10)]),
    "alexnet": ((3, 227, 227), "AlexNet as PipeCNN runs it, 3x227x227, 60,965,224 parameters", [
        ("conv1", "conv", (96, 11, 4, 0, 1)), ("relu1", "relu", None), ("norm1", "lrn", (5, 1e-4, 0.75, 1.0)),
        ("pool1", "maxpool", (3, 2)),
        ("conv2", "conv", (256, 5, 1, 2, 2)), ("relu2", "relu", None), ("norm2", "lrn", (5, 1e-4, 0.75, 1.0)),
        ("pool2", "maxpool", (3, 2)),
        ("conv3", "conv", (384, 3, 1, 1, 1)), ("relu3", "relu", None),
        ("conv4", "conv", (384, 3, 1, 1, 2)), ("relu4", "relu", None),
        ("conv5", "conv", (256, 3, 1, 1, 2)), ("relu5", "relu", None), ("pool5", "maxpool", (3, 2)),
        ("flatten", "flatten", None),
        ("fc6", "dense", 4096), ("relu6", "relu", None), ("fc7", "dense", 4096), ("relu7", "relu", None),
        ("fc8", "dense", 1000)]),
}


def names() -> list[str]:
    return list(_SPECS)


def describe(name: str) -> str:
    return _SPECS[name][1]


def _uniform(rng, fan_in: int, shape) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)  # torch.nn.Conv2d / Linear default initialisation
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def network(name: str, seed: int = 0) -> Network:
    """The zoo model as an IR network with seeded random weights."""
    shape, _, spec = _SPECS[name]
    return from_spec(name, shape, spec, seed)


def from_spec(name: str, input_shape: tuple[int, ...], spec, seed: int = 0) -> Network:
    """A network from a layer list in the zoo's spec format (see ``_SPECS``), seeded random weights."""
    shape = tuple(input_shape)
    rng = np.random.default_rng(seed)
    layers = []
    for lname, op, args in spec:
        layer = Layer(lname, op, tuple(shape), ())
        if op == "conv":
            out, k, s, p, g = args
            fan_in = shape[0] // g * k * k
            layer.attrs = {"kernel": (k, k), "stride": (s, s), "pads": (p, p, p, p), "groups": g}
            layer.params = {"weight": _uniform(rng, fan_in, (out, shape[0] // g, k, k)),
                            "bias": _uniform(rng, fan_in, (out,))}
        elif op == "dense":
            layer.params = {"weight": _uniform(rng, shape[0], (args, shape[0])), "bias": _uniform(rng, shape[0], (args,))}
        elif op == "maxpool":
            k, s = args
            layer.attrs = {"kernel": (k, k), "stride": (s, s), "pads": (0, 0, 0, 0), "ceil_mode": False}
        elif op == "lrn":
            layer.attrs = dict(zip(("size", "alpha", "beta", "bias"), args))
        if layer.weighted:
            layer.sources = DirectSources(f"{lname}.weight", f"{lname}.bias")
        layer.out_shape = layer.expected_out_shape()
        layer.onnx_nodes = (lname,)
        shape = layer.out_shape
        layers.append(layer)
    net = Network(name, "input", tuple(input_shape), layers, output_name="logits")
    net.validate()
    return net


def build(name: str, seed: int = 0) -> onnx.ModelProto:
    """The zoo model as a checked ONNX model (opset 13, input 'input', output 'logits', batch 'N')."""
    from ..frontend.export import to_onnx

    return to_onnx(network(name, seed), producer="hilt.zoo")
