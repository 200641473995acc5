"""``hilt faults``: accuracy under stuck-at / ReRAM faults with each mitigation, and ReRAM training curves.

The experiments are ``hilt.experiments.fault_study`` and ``reram_curves``; this module parses, calls
and prints.
"""

from __future__ import annotations

from ..errors import HiltError
from ..experiments import MITIGATIONS, FaultSettings, fault_study, reram_curves
from ..validate import fraction, open_fraction
from .chip import add_common, add_finetune_arguments, check_outputs, chip_from_args, parse_rates, save_plot, setup
from .common import table, write_json


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
    p.add_argument("--backend", choices=("emu", "simboard", "board"), default="emu",
                   help="where the forward passes run: emu (the virtual chip), simboard (the PYNQ driver on the "
                        "simulated board) or board (a PYNQ board, with --overlay); on the boards the driver writes "
                        "the faulty words into weight memory, so simboard equals emu for the same chip seed")
    from ..board.backend import add_arguments

    add_arguments(p)
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


def cmd_faults(args) -> int:
    check_outputs(args)
    _, q, train_ds, test_ds = setup(args)
    if args.train_samples:
        train_ds = train_ds.subset(slice(0, args.train_samples))
    chip = chip_from_args(args)
    settings = FaultSettings(tuple(parse_rates(args.stuck_at)), args.reram, tuple(parse_mitigations(args.mitigate)),
                             args.clip, args.epochs, args.lr, progress=not args.quiet)
    make = None
    if args.backend != "emu":
        from ..board.backend import fault_boards

        if args.backend == "board" and (args.curves or any("clip" in m for m in settings.mitigations)):
            raise HiltError("--backend board: clipping changes the weight formats the bitstream is built with; "
                            "leave clip out of --mitigate (and --curves), or run them with --backend simboard")
        make = fault_boards(args.backend, chip, args.overlay, args.board_file)
    if args.curves:
        return _print_curves(args, reram_curves(q, chip, train_ds, test_ds, settings, make), chip)
    report = fault_study(q, chip, train_ds, test_ds, settings, make)
    report["backend"] = args.backend
    results, clean = report["results"], report["fault_free_accuracy"]
    rows = [[f"{r['stuck_at_rate'] * 100:g}%", r["mitigation"], f"{r['accuracy'] * 100:.2f}%"] for r in results]
    print(f"chip seed {chip.seed}: fault-free accuracy {clean * 100:.2f}% on {len(test_ds)} held-out images")
    print(table(rows, ["stuck bits", "mitigation", "accuracy"], right={2}))
    if "faq_seconds" in report:
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


def _print_curves(args, report: dict, chip) -> int:
    curves = report["curves"]
    rows = [[name, str(h["epoch"]), f"{h['loss']:.4f}", f"{h['val_accuracy'] * 100:.2f}%"]
            for name, hist in curves.items() for h in hist]
    print(f"training on a chip with {args.reram * 100:g}% faulty ReRAM cells (seed {chip.seed})")
    print(table(rows, ["clipping", "epoch", "loss", "held-out accuracy"], right={2, 3}))
    if args.json:
        write_json(args.json, report)
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
