"""Hardware-in-the-loop training: forward on the accelerator, backward and update on the host.

Every step the float32 master weights are re-quantized in the model's formats and re-loaded; the
accelerator runs the batch and returns every layer's integer output; the host dequantizes those and
backpropagates through *them* (straight-through estimator: rounding is treated as the identity), so
the gradient sees the chip's actual errors. Optional weight clipping (|w| <= clip, with the weight
formats set to cover exactly that range) bounds what a faulty weight bit can do.

Checkpoints hold the master weights, the momentum, the step and the accelerator's call counter; the
shuffling of epoch e is a function of (seed, e) only, so a killed run resumes to the same final
weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from ..fileio import atomic_path
from ..quant import Format, QModel, frac_for
from ..reference import layers as ref_layers
from ..reference import softmax_cross_entropy
from .sgd import SGD, SGDConfig, TrainResult


@dataclass
class HILConfig(SGDConfig):
    epochs: int = 3
    lr: float = 0.01
    warmup_epochs: float = 0.0
    clip: float | None = None  # weight clipping: |w| <= clip * (the layer's initial max |w|); None: off
    checkpoint_every: int = 25  # steps between checkpoints (when a checkpoint path is given)
    backward: str = "host"  # "host": float backward through the taps (STE); "accelerator": the design's BP pipeline


def clip_bounds(q: QModel, clip: float) -> dict[str, float]:
    """Per layer, the clipping bound: a fraction of the layer's current largest weight magnitude."""
    return {l.name: clip * float(np.abs(l.params["weight"]).max()) for l in q.network.weighted_layers()}


def clip_formats(q: QModel, bounds: dict[str, float]) -> None:
    """Weight formats that cover exactly [-bound, bound] (the range clipping guarantees)."""
    for ql in q.layers:
        if ql.name in bounds:
            ql.w_fmt = Format(q.bits, frac_for(bounds[ql.name], q.bits))
            ql.shift = ql.in_fmt.frac + ql.w_fmt.frac - ql.out_fmt.frac


def apply_clip(params: dict, bounds: dict[str, float] | None) -> None:
    if bounds:
        for name, bound in bounds.items():
            np.clip(params[name]["weight"], -bound, bound, out=params[name]["weight"])


def host_backward(q: QModel, taps: list[np.ndarray], labels: np.ndarray):
    """Loss and canonical gradients through the accelerator's dequantized activations (STE)."""
    from ..golden import act_formats

    acts = [fmt.to_float(t) for t, fmt in zip(taps, act_formats(q))]
    loss, d = softmax_cross_entropy(acts[-1], labels)
    grads = {}
    layers = q.network.layers[: len(acts) - 1]
    for i in range(len(layers) - 1, -1, -1):
        d, g = ref_layers.backward(layers[i], acts[i], acts[i + 1], d, need_dx=i > 0)
        if g:
            grads[layers[i].name] = g
    return loss, grads, acts[-1]


def accelerator_backward(q: QModel, accel, taps: list[np.ndarray], labels: np.ndarray):
    """Loss and gradients from the accelerator's own backward pass (MODE_BACKWARD): the host computes only the
    logits' error (softmax minus one-hot, quantized); the errors and integer gradients come from the chip.
    Gradients are scaled to the batch mean, as :func:`host_backward`'s."""
    from .. import golden

    logits = golden.dequantize(q, taps[-1])
    loss, _ = softmax_cross_entropy(logits, labels)
    bp = accel.backward(taps, golden.error_at_logits(q, taps[-1], labels))
    n = len(labels)
    grads = {name: {k: v / n for k, v in g.items()} for name, g in golden.grads_to_float(q, bp).items()}
    return loss, grads, logits


def _save_checkpoint(path, opt: SGD, step: int, history: list, accel, config: HILConfig) -> None:
    arrays = {f"p/{n}/{k}": v for n, p in opt.params.items() for k, v in p.items()}
    arrays.update({f"v/{n}/{k}": v for n, p in opt.velocity.items() for k, v in p.items()})
    meta = {"step": step, "history": history, "forward_calls": accel.counters.forward_calls,
            "config": asdict(config)}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def _load_checkpoint(path, opt: SGD, accel, config: HILConfig):
    from ..errors import HiltError

    corrupt = f"{path}: not a checkpoint of this run or corrupt; delete it or use another --checkpoint path"
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # f: closed even if np.load fails
            meta = json.loads(bytes(z["__meta__"]).decode())
            if not isinstance(meta, dict) or meta.get("config") != json.loads(json.dumps(asdict(config))):
                raise HiltError(f"{path}: checkpoint of a run with other settings; delete it or use another path")
            expected = {f"{kind}/{n}/{k}" for kind, group in (("p", opt.params), ("v", opt.velocity))
                        for n, p in group.items() for k in p}
            if set(z.files) - {"__meta__"} != expected:
                raise HiltError(corrupt)
            for key in expected:
                kind, name, param = key.split("/")
                target = (opt.params if kind == "p" else opt.velocity)[name][param]
                value = z[key]
                if value.shape != target.shape or value.dtype.kind != "f" or not np.isfinite(value).all():
                    raise HiltError(corrupt)
                target[...] = value
        step, history, calls = meta["step"], meta["history"], meta["forward_calls"]
        if not (isinstance(step, int) and step >= 0 and isinstance(history, list) and isinstance(calls, int)):
            raise HiltError(corrupt)
    except HiltError:
        raise
    except Exception:  # np.load and json raise a dozen types for a damaged file; all mean the same here
        raise HiltError(corrupt) from None
    accel.counters.forward_calls = calls
    return step, history


def finetune(q: QModel, accel, train_x: np.ndarray, train_y: np.ndarray, config: HILConfig = HILConfig(),
             val: tuple[np.ndarray, np.ndarray] | None = None, checkpoint: str | os.PathLike | None = None,
             store: Callable[[QModel], QModel] | None = None, progress: bool = True,
             on_step: Callable[[int], None] | None = None) -> TrainResult:
    """Fine-tune ``q``'s network on ``accel``. ``store`` may rewrite the integer weights before each
    load (e.g. FAQ for a known fault map). Returns the trained float network and per-epoch metrics."""
    import copy

    q = copy.deepcopy(q)
    opt = SGD(q.network, config)
    bounds = clip_bounds(q, config.clip) if config.clip is not None else None
    if bounds:
        clip_formats(q, bounds)
        apply_clip(opt.params, bounds)
    n = len(train_x)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total = steps_per_epoch * config.epochs
    step, history = 0, []
    if checkpoint is not None and os.path.exists(checkpoint):
        step, history = _load_checkpoint(checkpoint, opt, accel, config)

    def load_weights():
        q.requantize_weights(opt.params)
        accel.load(store(q) if store else q)

    bar = tqdm(total=total, initial=step, disable=not progress, unit="step", desc="hil")
    epoch_stats = {"loss": 0.0, "correct": 0, "seen": 0, "start": time.perf_counter()}
    while step < total:
        epoch, b = divmod(step, steps_per_epoch)
        order = np.random.default_rng([config.seed, epoch]).permutation(n)
        idx = order[b * config.batch_size:(b + 1) * config.batch_size]
        load_weights()
        result = accel.forward(train_x[idx], taps=True)
        if config.backward == "accelerator":
            loss, grads, logits = accelerator_backward(q, accel, result.taps, train_y[idx])
        else:
            loss, grads, logits = host_backward(q, result.taps, train_y[idx])
        opt.step(grads, config.lr_at(step, total, steps_per_epoch))
        apply_clip(opt.params, bounds)
        step += 1
        epoch_stats["loss"] += loss * len(idx)
        epoch_stats["correct"] += int((logits.argmax(axis=1) == train_y[idx]).sum())
        epoch_stats["seen"] += len(idx)
        bar.update(1)
        bar.set_postfix(loss=f"{epoch_stats['loss'] / epoch_stats['seen']:.4f}")
        if step % steps_per_epoch == 0:
            seen = max(1, epoch_stats["seen"])
            record = {"epoch": epoch + 1, "loss": epoch_stats["loss"] / seen,
                      "train_accuracy": epoch_stats["correct"] / seen,
                      "seconds": time.perf_counter() - epoch_stats["start"]}
            if val is not None:
                load_weights()
                record["val_accuracy"] = float(np.mean(accel.predict(val[0]) == val[1]))
            history.append(record)
            epoch_stats = {"loss": 0.0, "correct": 0, "seen": 0, "start": time.perf_counter()}
        if checkpoint is not None and (step % config.checkpoint_every == 0 or step == total):
            _save_checkpoint(checkpoint, opt, step, history, accel, config)
        if on_step is not None:
            on_step(step)
    bar.close()
    q.requantize_weights(opt.params)
    return TrainResult(q.network.with_params(opt.params), history, q)
