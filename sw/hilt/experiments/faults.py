"""Weight-memory fault experiments: stuck-at faults with each mitigation, ReRAM training curves.

Mitigations combine with '+': ``faq`` (fault-aware quantization of the known map, no training),
``clip`` (fine-tune with weight clipping on a fault-free chip: robustness without knowing the map),
``retrain`` (hardware-in-the-loop fine-tuning on the faulty chip itself).

The forward passes run on what ``make`` builds for a fault configuration and a design (the quantized model
whose formats the hardware is built with: clipping changes the weight formats): by default the emulator;
``hilt faults --backend simboard|board`` passes boards whose driver streams the faulty words into weight memory.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np

from .chip import accuracy

MITIGATIONS = ("faq", "clip", "retrain")


@dataclass
class FaultSettings:
    stuck_at_rates: tuple = (0.01, 0.02, 0.04)  # fractions of weight-memory bits stuck at 0/1
    reram_rate: float = 0.0  # fraction of 2-bit ReRAM cells stuck at lowest/highest conductance
    mitigations: tuple = (frozenset(), frozenset({"faq"}), frozenset({"clip"}), frozenset({"retrain"}),
                          frozenset({"faq", "retrain"}))
    clip: float = 0.5  # clipping bound, a fraction of each layer's largest weight
    epochs: int = 1
    lr: float = 0.01
    progress: bool = True


def mitigation_name(parts: frozenset) -> str:
    return "+".join(m for m in MITIGATIONS if m in parts) or "none"


def faq_store(chip, faults, bits):
    """The host's FAQ step for a known fault map: rewrite each layer's stored integers."""
    from ..faults import fault_aware_quantize, weight_fault_map

    def store(q):
        q = copy.copy(q)
        q.layers = [copy.copy(ql) for ql in q.layers]
        for ql in q.layers:
            if ql.w_fmt is not None:
                fmap = weight_fault_map(chip, faults, ql.name, ql.arrays["weight"].shape, bits)
                ql.arrays = dict(ql.arrays, weight=fault_aware_quantize(ql.layer.params["weight"], ql.w_fmt, fmap))
        return q
    return store


def emulators(chip):
    """The default ``make``: the virtual chip with the given faults (the design does not matter to it)."""
    from ..accel import Emulator

    return lambda faults, design: Emulator(chip, faults)


def clipped_design(q, clip: float):
    """The formats fine-tuning with clipping gives ``q`` (hilt.train.hil.clip_formats): what hardware running the
    clipped model is built for."""
    from ..train.hil import clip_bounds, clip_formats

    design = copy.deepcopy(q)
    clip_formats(design, clip_bounds(design, clip))
    return design


def run_mitigation(parts: frozenset, q, chip, faults, train_ds, test_ds, settings: FaultSettings,
                   make=None) -> dict:
    """Held-out accuracy on the faulty chip after one mitigation, and the seconds each step took."""
    from ..faults import FaultConfig
    from ..train.hil import HILConfig, finetune

    make = make or emulators(chip)
    design = clipped_design(q, settings.clip) if "clip" in parts else q
    faulty = make(faults, design)
    store = faq_store(chip, faults, q.bits) if "faq" in parts else None
    seconds = {}
    model = q
    if "clip" in parts or "retrain" in parts:
        config = HILConfig(epochs=settings.epochs, lr=settings.lr, clip=settings.clip if "clip" in parts else None)
        accel = faulty if "retrain" in parts else make(FaultConfig(), design)
        start = time.perf_counter()
        model = finetune(q, accel, train_ds.x, train_ds.y, config, store=store if "retrain" in parts else None,
                         progress=settings.progress).qmodel
        seconds["training"] = time.perf_counter() - start
    if store is not None:
        start = time.perf_counter()
        model = store(model)
        seconds["faq"] = time.perf_counter() - start
    faulty.load(model)
    return {"accuracy": accuracy(faulty, test_ds), "seconds": seconds}


def fault_study(q, chip, train_ds, test_ds, settings: FaultSettings, make=None) -> dict:
    """Every stuck-at rate x mitigation, the fault-free accuracy, and (when both ran) FAQ's time against one
    epoch of retraining. ``make(faults, design)``: the accelerator to run on (default: the emulator)."""
    from ..faults import FaultConfig

    make = make or emulators(chip)
    results = []
    for rate in settings.stuck_at_rates:
        faults = FaultConfig(stuck_at_rate=rate, reram_rate=settings.reram_rate)
        for parts in settings.mitigations:
            r = run_mitigation(parts, q, chip, faults, train_ds, test_ds, settings, make)
            results.append({"stuck_at_rate": rate, "reram_rate": settings.reram_rate,
                            "mitigation": mitigation_name(parts), **r})
    clean = make(FaultConfig(), q)
    clean.load(q)
    report = {"fault_free_accuracy": accuracy(clean, test_ds), "chip": chip.to_json(), "results": results}
    faq_s = [r["seconds"]["faq"] for r in results if r["mitigation"] == "faq"]
    epoch_s = [r["seconds"]["training"] / settings.epochs for r in results if r["mitigation"] == "retrain"]
    if faq_s and epoch_s:
        report["faq_seconds"] = float(np.mean(faq_s))
        report["retrain_epoch_seconds"] = float(np.mean(epoch_s))
    return report


def reram_curves(q, chip, train_ds, test_ds, settings: FaultSettings, make=None) -> dict:
    """Training curves on a chip with ``reram_rate`` faulty ReRAM cells, without and with clipping."""
    from ..errors import HiltError
    from ..faults import FaultConfig
    from ..train.hil import HILConfig, finetune

    if settings.reram_rate <= 0:
        raise HiltError("--curves needs --reram RATE > 0 (the fraction of faulty ReRAM cells)")
    make = make or emulators(chip)
    faults = FaultConfig(reram_rate=settings.reram_rate)
    curves = {}
    for name, clip in (("none", None), ("clip", settings.clip)):
        accel = make(faults, q if clip is None else clipped_design(q, clip))
        config = HILConfig(epochs=settings.epochs, lr=settings.lr, clip=clip)
        curves[name] = finetune(q, accel, train_ds.x, train_ds.y, config, val=(test_ds.x, test_ds.y),
                                progress=settings.progress).history
    return {"reram_rate": settings.reram_rate, "clip": settings.clip, "chip": chip.to_json(), "curves": curves}
