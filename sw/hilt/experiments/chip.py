"""Experiments on the virtual chip: the clock sweep, chip-profile fitting and fine-tuning on the chip."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np


def accuracy(accel, ds) -> float:
    """Top-1 accuracy of an accelerator (with a model loaded) on a data set."""
    return float(np.mean(accel.predict(ds.x) == ds.y))


@dataclass
class SweepSettings:
    freqs: list[float]  # MHz, in the order they run
    faults: object = None  # a hilt.faults.FaultConfig (None: no injected faults)
    progress: bool = True


def sweep(q, chip, ds, settings: SweepSettings, accel=None) -> list[dict]:
    """Accuracy and per-layer corrupted-accumulation rates at each clock; hangs are recorded and
    recovered (reset, then the next point runs at its own clock).

    ``accel``: a backend with ``q`` loaded to sweep instead of an emulator of ``chip`` (the PYNQ driver on a
    board or the simulated board); one that counts no accumulations (a board) reports ``corrupted_rate`` None."""
    from tqdm.auto import tqdm

    from ..accel import AcceleratorHang, Counters

    emulated = accel is None  # an emulator counts every accumulation, even when none was corrupted
    if emulated:
        from ..accel import Emulator
        from ..faults import FaultConfig

        accel = Emulator(chip, settings.faults or FaultConfig())
        accel.load(q)
    points = []
    for f in tqdm(settings.freqs, desc="sweep", unit="MHz", disable=not settings.progress):
        accel.counters = Counters()
        accel.set_clock(f)
        try:
            acc = accuracy(accel, ds)
            c = accel.counters
            layers = {n: v["corrupted"] / max(1, v["accumulations"]) for n, v in c.per_layer.items()}
            counted = emulated or c.accumulations > 0
            points.append({"freq_mhz": f, "accuracy": acc, "hung": False,
                           "corrupted_rate": c.corrupted_accumulations / max(1, c.accumulations) if counted else None,
                           "timing_failures": c.timing_failures, "layers": layers})
        except AcceleratorHang:
            accel.reset()
            points.append({"freq_mhz": f, "accuracy": None, "hung": True, "corrupted_rate": None, "layers": {}})
    return points


def onsets(points: list[dict]) -> dict[str, float]:
    """Per layer, the lowest clock at which it showed corrupted accumulations."""
    out: dict[str, float] = {}
    for p in sorted(points, key=lambda p: p["freq_mhz"]):
        for name, rate in (p.get("layers") or {}).items():
            if rate and name not in out:
                out[name] = p["freq_mhz"]
    return out


def fit_chip(measured: dict, emulated: list[dict], base):
    """A chip whose per-layer lane delays reproduce the measured onset of errors, and its crash clock.

    Delay is inversely proportional to the clock at which a path starts to fail, so a layer that failed
    from f_m on the board but from f_e on the base chip gets its lanes slowed by f_e / f_m."""
    m, e = onsets(measured["points"]), onsets(emulated)
    scales = {name: e[name] / m[name] for name in m if name in e}
    ok = [p["freq_mhz"] for p in measured["points"] if not p.get("hung")]
    hung = [p["freq_mhz"] for p in measured["points"] if p.get("hung")]
    crash = base.crash_ratio
    if hung and ok:
        below = [f for f in ok if f < min(hung)]
        crash = ((max(below) + min(hung)) / 2 if below else min(hung)) / base.f_safe_mhz
    return dataclasses.replace(base, layer_scale=scales, crash_ratio=crash)


@dataclass
class FinetuneSettings:
    freq_mhz: float  # clock of the forward passes
    epochs: int = 3
    lr: float = 0.01
    batch_size: int = 32
    seed: int = 0
    checkpoint: str | None = None
    progress: bool = True
    extra: dict = field(default_factory=dict)  # further HILConfig fields (clip, ...)


def chip_finetune(q, accels: dict, train_ds, test_ds, settings: FinetuneSettings):
    """Fine-tune ``q`` with forward passes on ``accels["this"]`` at the clock, backward and update on the
    host; held-out accuracy before and after on every accelerator of ``accels`` (e.g. "this" and "other",
    a second die). Returns (report dict, hilt.train.hil result)."""
    from ..train.hil import HILConfig, finetune

    for accel in accels.values():
        accel.set_clock(settings.freq_mhz)

    def evaluate(model):
        out = {}
        for key, accel in accels.items():
            accel.load(model)
            out[key] = accuracy(accel, test_ds)
        return out

    before = evaluate(q)
    config = HILConfig(epochs=settings.epochs, lr=settings.lr, batch_size=settings.batch_size, seed=settings.seed,
                       **settings.extra)
    result = finetune(q, accels["this"], train_ds.x, train_ds.y, config, val=(test_ds.x, test_ds.y),
                      checkpoint=settings.checkpoint, progress=settings.progress)
    after = evaluate(result.qmodel)
    report = {"freq_mhz": settings.freq_mhz, "before": before, "after": after,
              "config": json.loads(config.to_json()), "history": result.history}
    return report, result
