"""Host SGD: determinism, learning, and (heavy) the LeNet-5 accuracy the foundation issue asks for."""

from __future__ import annotations

import numpy as np
import pytest

from hilt.train import SGD, SGDConfig, evaluate_float, loss_and_grads, train


def _small(mnist_splits, n=512):
    train_ds, test_ds = mnist_splits
    return train_ds.x[:n], train_ds.y[:n], test_ds.x[:200], test_ds.y[:200]


def test_same_seed_same_weights_different_seed_differs(lenet5_net, mnist_splits):
    x, y, _, _ = _small(mnist_splits, 256)
    cfg = SGDConfig(epochs=1, batch_size=32, seed=7)
    a = train(lenet5_net, x, y, cfg, progress=False).network.get_params()
    b = train(lenet5_net, x, y, cfg, progress=False).network.get_params()
    c = train(lenet5_net, x, y, SGDConfig(epochs=1, batch_size=32, seed=8), progress=False).network.get_params()
    for name in a:
        assert np.array_equal(a[name]["weight"], b[name]["weight"])
    assert any(not np.array_equal(a[n]["weight"], c[n]["weight"]) for n in a)


def test_training_leaves_input_network_untouched(lenet5_net, mnist_splits):
    x, y, _, _ = _small(mnist_splits, 64)
    before = lenet5_net.get_params()
    train(lenet5_net, x, y, SGDConfig(epochs=1), progress=False)
    after = lenet5_net.get_params()
    assert all(np.array_equal(before[n]["weight"], after[n]["weight"]) for n in before)


def test_sgd_matches_torch_update_rule(lenet5_net, mnist_splits):
    torch = pytest.importorskip("torch")
    x, y, _, _ = _small(mnist_splits, 16)
    cfg = SGDConfig(momentum=0.9, weight_decay=1e-3)
    opt = SGD(lenet5_net, cfg)
    params = {f"{n}.{k}": torch.tensor(v.copy(), requires_grad=True)
              for n, p in lenet5_net.get_params().items() for k, v in p.items()}
    topt = torch.optim.SGD([{"params": [p for k, p in params.items() if k.endswith("weight")], "weight_decay": 1e-3},
                            {"params": [p for k, p in params.items() if k.endswith("bias")], "weight_decay": 0.0}],
                           lr=0.1, momentum=0.9)
    for _ in range(3):
        _, grads, _ = loss_and_grads(opt.network, x, y)
        for n, g in grads.items():
            for k, v in g.items():
                params[f"{n}.{k}"].grad = torch.tensor(v)
        topt.step()
        opt.step(grads, 0.1)
    for n, p in opt.params.items():
        for k, v in p.items():
            np.testing.assert_allclose(v, params[f"{n}.{k}"].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_a_few_epochs_learn(lenet5_net, mnist_splits):
    x, y, vx, vy = _small(mnist_splits, 1024)
    chance = evaluate_float(lenet5_net, vx, vy)
    result = train(lenet5_net, x, y, SGDConfig(epochs=3), val=(vx, vy), progress=False)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert result.final["val_accuracy"] > max(0.8, chance + 0.5)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]


def test_lenet5_default_training_reaches_97_percent_and_int8_loses_at_most_one_point(lenet5_net, mnist_splits):
    from hilt import golden
    from hilt.quant import quantize

    train_ds, test_ds = mnist_splits
    result = train(lenet5_net, train_ds.x, train_ds.y, SGDConfig(), val=(test_ds.x, test_ds.y), progress=False)
    float_acc = result.final["val_accuracy"]
    q = quantize(result.network, train_ds.x[:1000], bits=8)
    int8_acc = float(np.mean(golden.predict(q, test_ds.x) == test_ds.y))
    assert float_acc >= 0.97
    assert float_acc - int8_acc <= 0.01
