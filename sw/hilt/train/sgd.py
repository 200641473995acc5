"""Mini-batch SGD with momentum and weight decay on the float reference.

The master weights are the canonical float32 parameters of the IR (``Network.get_params()``); the
optimiser never touches ONNX initializers directly, and the trained network is saved with
``hilt.frontend.export_onnx``. Everything random (shuffling) derives from ``SGDConfig.seed``, so two
runs with the same config and data give the same weights bit for bit.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..ir import Network
from ..reference import backward, run, softmax_cross_entropy


@dataclass
class SGDConfig:
    """Training settings; serialises to JSON so a run can be recorded and repeated."""

    epochs: int = 12
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # "cosine" or "constant"
    warmup_epochs: float = 0.5  # linear warm-up: large first steps from a random init overshoot
    seed: int = 0

    def lr_at(self, step: int, total_steps: int, steps_per_epoch: int) -> float:
        warmup = int(self.warmup_epochs * steps_per_epoch)
        if step < warmup:
            return self.lr * (step + 1) / warmup
        if self.schedule == "constant":
            return self.lr
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * self.lr * (1.0 + math.cos(math.pi * progress))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


@dataclass
class TrainResult:
    network: Network
    history: list[dict] = field(default_factory=list)
    qmodel: object = None  # hardware-in-the-loop runs: the quantized model as last loaded

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}


def _logits_index(net: Network) -> int:
    """Activation index of the logits: a final softmax is skipped, the loss applies it itself."""
    return -2 if net.has_softmax else -1


def loss_and_grads(net: Network, x: np.ndarray, labels: np.ndarray):
    """Softmax cross-entropy (mean over the batch), canonical gradients, and the logits."""
    acts = run(net, x)
    logits = acts[_logits_index(net)]
    loss, dlogits = softmax_cross_entropy(logits, labels)
    body = net if not net.has_softmax else _without_softmax(net)
    _, grads = backward(body, acts[: len(body.layers) + 1], dlogits)
    return loss, grads, logits


def _without_softmax(net: Network) -> Network:
    return Network(net.name, net.input_name, net.input_shape, net.layers[:-1], net.output_name, net.meta)


def evaluate_float(net: Network, x: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> float:
    """Top-1 accuracy (fraction) of the float reference."""
    correct = 0
    for start in range(0, len(x), batch_size):
        acts = run(net, x[start:start + batch_size])
        correct += int((acts[_logits_index(net)].argmax(axis=1) == labels[start:start + batch_size]).sum())
    return correct / max(1, len(x))


class SGD:
    """PyTorch's SGD on a network's canonical parameters: v = m*v + (g + wd*w); w -= lr*v.

    Holds a private copy of the network whose layers share the optimiser's master weights, so an
    update is visible to the next forward pass without copying. No weight decay on biases.
    """

    def __init__(self, net: Network, config: SGDConfig):
        self.config = config
        self.params = net.get_params()
        self.velocity = {n: {k: np.zeros_like(v) for k, v in p.items()} for n, p in self.params.items()}
        self.network = net.with_params(self.params)
        for layer in self.network.weighted_layers():
            layer.params = self.params[layer.name]

    def step(self, grads, lr: float) -> None:
        for name, p in self.params.items():
            for key, w in p.items():
                g = grads[name][key]
                if key == "weight" and self.config.weight_decay:
                    g = g + self.config.weight_decay * w
                v = self.velocity[name][key]
                v *= self.config.momentum
                v += g
                w -= lr * v


def train(net: Network, train_x: np.ndarray, train_y: np.ndarray, config: SGDConfig = SGDConfig(),
          val: tuple[np.ndarray, np.ndarray] | None = None, progress: bool = True) -> TrainResult:
    """Train ``net`` (a copy; the argument is untouched) and return it with per-epoch metrics."""
    rng = np.random.default_rng(config.seed)
    opt = SGD(net, config)
    current = opt.network
    n = len(train_x)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total = steps_per_epoch * config.epochs
    step = 0
    history = []
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        seen = correct = 0
        loss_sum = 0.0
        start_time = time.perf_counter()
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=not progress, leave=False, unit="batch")
        for b in bar:
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            loss, grads, logits = loss_and_grads(current, train_x[idx], train_y[idx])
            lr = config.lr_at(step, total, steps_per_epoch)
            opt.step(grads, lr)
            seen += len(idx)
            loss_sum += float(loss) * len(idx)
            correct += int((logits.argmax(axis=1) == train_y[idx]).sum())
            step += 1
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        record = {"epoch": epoch + 1, "loss": loss_sum / seen, "train_accuracy": correct / seen,
                  "lr": lr, "seconds": time.perf_counter() - start_time}
        if val is not None:
            record["val_accuracy"] = evaluate_float(current, *val)
        history.append(record)
        if progress:
            shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items())
            tqdm.write(shown)
    return TrainResult(current, history)
