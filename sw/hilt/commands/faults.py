"""``hilt faults``: accuracy under stuck-at / ReRAM faults with each mitigation, and ReRAM training curves.

Mitigations combine with '+': ``faq`` (fault-aware quantization of the known map, no training),
``clip`` (fine-tune with weight clipping on a fault-free chip: robustness without knowing the map),
``retrain`` (hardware-in-the-loop fine-tuning on the faulty chip itself).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from ..errors import HiltError
from .chip import accuracy, add_common, check_outputs, add_finetune_arguments, chip_from_args, parse_rates, save_plot, setup
from ..validate import fraction, open_fraction
from .common import table, write_json

MITIGATIONS = ("faq", "clip", "retrain")


def register(sub) -> None:
    p = sub.add_parser("faults", help="accuracy under weight-memory faults with each mitigation (JSON + plot)",
                       description="Evaluate MODEL on the virtual chip with stuck-at faults in weight memory at each "
                                   "--stuck-at rate (fraction of bits) and each --mitigate option, or (--curves) "
                                   "train on a chip with ReRAM cell faults with and without weight clipping.")
    add_common(p)
    p.add_argument("--stuck-at", default="0.01,0.02,0.04", metavar="RATES",
                   help="fractions of weight-memory bits stuck at 0/1 (default 0.01,0.02,0.04)")
    p.add_argument("--reram", type=fraction, default=0.0, metavar="RATE",
                   help="fraction of 2-bit ReRAM cells stuck at lowest/highest conductance (default 0)")
    p.add_argument("--mitigate", default="none,faq,clip,retrain,faq+retrain", metavar="LIST",
                   help="comma-separated; each none or a '+' combination of faq, clip, retrain")
    p.add_argument("--clip", type=open_fraction, default=0.5, metavar="FRACTION",
                   help="clipping bound as a fraction of each layer's largest weight (default 0.5)")
    add_finetune_arguments(p, epochs=1)
    p.add_argument("--curves", action="store_true",
                   help="instead: training curves on a ReRAM-faulty chip, with and without clipping")
    p.set_defaults(func=cmd_faults)


def parse_mitigations(text: str) -> list[frozenset]:
    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        parts = frozenset() if item == "none" else frozenset(item.split("+"))
        if not parts <= set(MITIGATIONS):
            raise HiltError(f"--mitigate {item}: unknown mitigation (use none or a '+' combination of "
                            f"{', '.join(MITIGATIONS)})")
        out.append(parts)
    return out


def name_of(parts: frozenset) -> str:
    return "+".join(m for m in MITIGATIONS if m in parts) or "none"


def faq_store(chip, faults, bits):
    """The host's FAQ step for a known fault map: rewrite each layer's stored integers."""
    from ..faults import fault_aware_quantize, weight_fault_map

    def store(q):
        q = copy.copy(q)
        q.layers = [copy.copy(ql) for ql in q.layers]
        for ql, layer in zip(q.layers, q.network.layers):
            if ql.w_fmt is not None:
                fmap = weight_fault_map(chip, faults, ql.name, ql.arrays["weight"].shape, bits)
                ql.arrays = dict(ql.arrays, weight=fault_aware_quantize(layer.params["weight"], ql.w_fmt, fmap))
        return q
    return store


def run_mitigation(parts, q, chip, faults, train_ds, test_ds, args) -> dict:
    from ..accel import Emulator
    from ..faults import FaultConfig
    from ..train.hil import HILConfig, finetune

    faulty = Emulator(chip, faults)
    store = faq_store(chip, faults, q.bits) if "faq" in parts else None
    seconds = {}
    model = q
    if "clip" in parts or "retrain" in parts:
        config = HILConfig(epochs=args.epochs, lr=args.lr, clip=args.clip if "clip" in parts else None)
        accel = faulty if "retrain" in parts else Emulator(chip, FaultConfig())
        start = time.perf_counter()
        model = finetune(q, accel, train_ds.x, train_ds.y, config, store=store if "retrain" in parts else None,
                         progress=not args.quiet).qmodel
        seconds["training"] = time.perf_counter() - start
    if store is not None:
        start = time.perf_counter()
        model = store(model)
        seconds["faq"] = time.perf_counter() - start
    faulty.load(model)
    return {"accuracy": accuracy(faulty, test_ds), "seconds": seconds}


def cmd_faults(args) -> int:
    from ..faults import FaultConfig

    check_outputs(args)
    _, q, train_ds, test_ds = setup(args)
    if args.train_samples:
        train_ds = train_ds.subset(slice(0, args.train_samples))
    chip = chip_from_args(args)
    if args.curves:
        return reram_curves(args, q, chip, train_ds, test_ds)
    mitigations = parse_mitigations(args.mitigate)
    results = []
    for rate in parse_rates(args.stuck_at):
        faults = FaultConfig(stuck_at_rate=rate, reram_rate=args.reram)
        for parts in mitigations:
            r = run_mitigation(parts, q, chip, faults, train_ds, test_ds, args)
            results.append({"stuck_at_rate": rate, "reram_rate": args.reram, "mitigation": name_of(parts), **r})
    clean = accuracy(_loaded(q, chip), test_ds)
    rows = [[f"{r['stuck_at_rate'] * 100:g}%", r["mitigation"], f"{r['accuracy'] * 100:.2f}%"] for r in results]
    print(f"chip seed {chip.seed}: fault-free accuracy {clean * 100:.2f}% on {len(test_ds)} held-out images")
    print(table(rows, ["stuck bits", "mitigation", "accuracy"], right={2}))
    faq_s = [r["seconds"]["faq"] for r in results if r["mitigation"] == "faq"]
    epoch_s = [r["seconds"]["training"] / args.epochs for r in results if r["mitigation"] == "retrain"]
    report = {"fault_free_accuracy": clean, "chip": chip.to_json(), "results": results}
    if faq_s and epoch_s:
        report["faq_seconds"] = float(np.mean(faq_s))
        report["retrain_epoch_seconds"] = float(np.mean(epoch_s))
        print(f"FAQ takes {report['faq_seconds']:.3f} s; one epoch of retraining {report['retrain_epoch_seconds']:.1f} s")
    if args.json:
        write_json(args.json, report)
    if args.plot:
        def draw(ax):
            for name in dict.fromkeys(r["mitigation"] for r in results):
                pts = [r for r in results if r["mitigation"] == name]
                ax.plot([r["stuck_at_rate"] * 100 for r in pts], [r["accuracy"] * 100 for r in pts], "o-", label=name)
            ax.axhline(clean * 100, color="k", ls=":", label="fault-free")
            ax.set_xlabel("stuck-at bits in weight memory (%)")
            ax.set_ylabel("held-out accuracy (%)")
            ax.set_title(f"stuck-at faults and mitigations, chip seed {chip.seed}")
            ax.legend()
        save_plot(args.plot, draw)
    return 0


def _loaded(q, chip):
    from ..accel import Emulator

    emu = Emulator(chip)
    emu.load(q)
    return emu


def reram_curves(args, q, chip, train_ds, test_ds) -> int:
    from ..accel import Emulator
    from ..faults import FaultConfig
    from ..train.hil import HILConfig, finetune

    if args.reram <= 0:
        raise HiltError("--curves needs --reram RATE > 0 (the fraction of faulty ReRAM cells)")
    emu = Emulator(chip, FaultConfig(reram_rate=args.reram))
    curves = {}
    for name, clip in (("none", None), ("clip", args.clip)):
        config = HILConfig(epochs=args.epochs, lr=args.lr, clip=clip)
        curves[name] = finetune(q, emu, train_ds.x, train_ds.y, config, val=(test_ds.x, test_ds.y),
                                progress=not args.quiet).history
    rows = [[name, str(h["epoch"]), f"{h['loss']:.4f}", f"{h['val_accuracy'] * 100:.2f}%"]
            for name, hist in curves.items() for h in hist]
    print(f"training on a chip with {args.reram * 100:g}% faulty ReRAM cells (seed {chip.seed})")
    print(table(rows, ["clipping", "epoch", "loss", "held-out accuracy"], right={2, 3}))
    if args.json:
        write_json(args.json, {"reram_rate": args.reram, "clip": args.clip, "chip": chip.to_json(), "curves": curves})
    if args.plot:
        def draw(ax):
            for name, hist in curves.items():
                ax.plot([h["epoch"] for h in hist], [h["val_accuracy"] * 100 for h in hist], "o-",
                        label="with clipping" if name == "clip" else "no clipping")
            ax.set_xlabel("epoch")
            ax.set_ylabel("held-out accuracy (%)")
            ax.set_title(f"training with {args.reram * 100:g}% faulty ReRAM cells")
            ax.legend()
        save_plot(args.plot, draw)
    return 0
