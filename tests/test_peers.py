"""Peers: the float reference against onnxruntime (forward) and torch autograd (gradients)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnxruntime as ort
import pytest

from hilt import zoo
from hilt.frontend import import_onnx
from hilt.model import Model
from hilt.reference import forward

torch = pytest.importorskip("torch")
nn = torch.nn


def ort_forward(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def rel_range_error(got, ref) -> float:
    return float(np.abs(got - ref).max() / (ref.max() - ref.min()))


@pytest.mark.parametrize("name", zoo.names())
def test_float_forward_equals_onnxruntime_on_the_zoo(name, rng):
    model = zoo.build(name, seed=1)
    net = import_onnx(model)
    x = rng.random((2 if name == "alexnet" else 8, *net.input_shape), dtype=np.float32)
    assert rel_range_error(forward(net, x), ort_forward(model, x)) <= 1e-4


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class BNStridedGrouped(nn.Module):
    """BatchNorm after conv and linear, a strided conv, a grouped conv, padding, average pooling."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8)
        self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False), nn.BatchNorm2d(8)
        self.fc, self.bn = nn.Linear(8 * 4 * 4, 10), nn.BatchNorm1d(10)

    def forward(self, x):
        x = torch.relu(self.b1(self.c1(x)))
        x = torch.relu(self.b2(self.c2(x)))
        x = nn.functional.avg_pool2d(nn.functional.max_pool2d(x, 3, 1, 1), 2)
        return self.bn(self.fc(torch.flatten(x, 1)))


def make(cls):
    torch.manual_seed(0)
    net = cls()
    for m in net.modules():  # non-trivial BatchNorm statistics and affine parameters
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return net.eval()


def export(net, x, dynamo: bool, keep_bn: bool = False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            return torch.onnx.export(net, (x,), dynamo=True, verbose=False).model_proto
        import onnx

        f = io.BytesIO()
        torch.onnx.export(net, (x,), f, dynamo=False, do_constant_folding=not keep_bn, input_names=["x"],
                          dynamic_axes={"x": {0: "N"}})
        return onnx.load_from_string(f.getvalue())


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("cls", [LeNet5, BNStridedGrouped])
def test_torch_exported_models_match_torch_and_onnxruntime(cls, dynamo):
    net = make(cls)
    x = torch.randn(4, *((1, 28, 28) if cls is LeNet5 else (3, 16, 16)))
    model = export(net, x, dynamo)
    got = Model(import_onnx(model)).forward(x.numpy())
    assert rel_range_error(got, ort_forward(model, x.numpy())) <= 1e-4
    assert rel_range_error(got, net(x).detach().numpy()) <= 1e-4


@pytest.mark.parametrize("cls", [LeNet5, BNStridedGrouped])
def test_gradients_equal_torch_autograd_by_initializer_name(cls):
    net = make(cls)
    x = torch.randn(6, *((1, 28, 28) if cls is LeNet5 else (3, 16, 16)))
    labels = np.array([0, 1, 2, 3, 4, 5])
    model = Model(import_onnx(export(net, x, dynamo=False, keep_bn=True)))
    grads = model.gradients(x.numpy(), labels)
    loss = nn.functional.cross_entropy(net(x), torch.from_numpy(labels))
    net.zero_grad()
    loss.backward()
    params = dict(net.named_parameters())
    assert sorted(grads) == sorted(params)  # every trainable tensor, BN scale and shift included
    assert grads.loss == pytest.approx(loss.item(), rel=1e-5)
    for name, g in grads.items():
        ref = params[name].grad.numpy()
        assert g.shape == ref.shape
        assert np.abs(g - ref).max() <= 1e-4 * np.abs(ref).max(), name
