"""``hilt sweep``, ``hilt finetune``, ``hilt faults``, ``hilt profile``: experiments on the virtual chip.

Each writes JSON (a public interface for scripts; accuracies are fractions 0..1) and, with --plot,
a PNG. ``hilt infer --backend emu`` uses the chip options defined here.
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import HiltError
from ..experiments import FinetuneSettings, SweepSettings, chip_finetune, fit_chip, sweep
from ..fileio import atomic_path
from ..loading import load_network
from ..quant.calibrate import CALIBRATION_IMAGES
from ..validate import (CHIP_HINT, check_output_file, chip_fields, clock_mhz, positive_float, read_json, seed,
                        sweep_points as checked_sweep_points, temperature)
from .common import add_data_argument, positive_int, table, write_json

MAX_SWEEP_POINTS = 10_000  # each point runs the held-out set on the chip: more is a typo in the range

F_SAFE_DEFAULT = 200.0


# ---- shared options --------------------------------------------------------------------------

def f_safe_arg(text: str) -> float:
    """--f-safe: a frequency in MHz, or the manifest of an overlay from `hilt build`."""
    if text.endswith(".json"):
        import argparse

        from ..build.overlay import f_safe_from_manifest

        try:
            return f_safe_from_manifest(text)
        except HiltError as err:  # argparse reports it as a usage error (exit 2)
            raise argparse.ArgumentTypeError(str(err)) from None
    return clock_mhz(text)


def add_chip_arguments(p) -> None:
    g = p.add_argument_group("virtual chip")
    g.add_argument("--chip-seed", type=seed, default=0, help="which die: per-lane delays and fault map (default 0)")
    g.add_argument("--temp", type=temperature, default=25.0, metavar="C", help="junction temperature (default 25)")
    g.add_argument("--f-safe", type=f_safe_arg, default=F_SAFE_DEFAULT, metavar="MHZ|manifest.json",
                   help=f"timing-closed frequency of the design, or a built overlay's manifest.json (its f_safe "
                        f"from the Vivado timing report) (default {F_SAFE_DEFAULT:g})")
    g.add_argument("--chip", metavar="CHIP.json", help="a chip written by `hilt profile fit` (overrides the above)")


def chip_from_args(args, seed: int | None = None):
    from ..faults import Chip

    if getattr(args, "chip", None):
        chip = Chip(**chip_fields(read_json(args.chip, "chip file", CHIP_HINT), args.chip))
        if seed is not None:
            chip.seed = seed
        return chip
    return Chip(seed=args.chip_seed if seed is None else seed, f_safe_mhz=args.f_safe, temp_c=args.temp)


def accelerator_from_args(args, seed: int | None = None, q=None):
    """The backend named by --backend: the virtual chip (emu), the generated C++ in C simulation (csim), the
    RTL twin in Verilator (rtl), or the PYNQ driver on a board or the simulated board (board, simboard; these
    need ``q`` and load it). ``--engine sequential`` selects the layer-sequential engine's backends."""
    from ..faults import FaultConfig

    engine = getattr(args, "engine", "streaming") == "sequential"
    if engine and getattr(args, "backend", "emu") in ("board", "simboard"):
        from ..board.backend import open_backend
        from ..dse.sequential import EngineConfig

        return open_backend(args.backend, q, chip_from_args(args, seed), FaultConfig(), args.overlay, args.board_file,
                            engine=EngineConfig())
    if engine:
        from ..engine.accel import engine_backend

        return engine_backend(getattr(args, "backend", "emu"), chip_from_args(args, seed), FaultConfig())
    if getattr(args, "backend", "emu") in ("board", "simboard"):
        from ..board.backend import open_backend

        return open_backend(args.backend, q, chip_from_args(args, seed), FaultConfig(), args.overlay, args.board_file)
    if getattr(args, "backend", "emu") == "csim":
        from ..codegen.accelerator import CSim

        return CSim()
    if getattr(args, "backend", "emu") == "rtl":
        from ..rtl.accelerator import RTLSim

        return RTLSim()
    from ..accel import Emulator

    return Emulator(chip_from_args(args, seed), FaultConfig())


def parse_freqs(text: str) -> list[float]:
    """'100:400:25' (start:stop:step, stop included), '250', or '200,250,300'."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if not all(np.isfinite((start, stop, step))) or step <= 0 or stop < start:
                raise ValueError
            if (stop - start) / step + 1 > MAX_SWEEP_POINTS:
                raise HiltError(f"--freq {text}: {(stop - start) / step + 1:,.0f} points; a sweep takes at most "
                                f"{MAX_SWEEP_POINTS:,} (use a larger step)")
            freqs = [float(f) for f in np.arange(start, stop + step / 2, step)]
        else:
            freqs = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise HiltError(f"--freq {text}: give MHz as START:STOP:STEP, a list A,B,C or one value") from None
    if not freqs or len(freqs) > MAX_SWEEP_POINTS or not all(0 < f <= 10_000 for f in freqs):
        raise HiltError(f"--freq {text}: give 1 to {MAX_SWEEP_POINTS:,} clocks, each a positive number of MHz "
                        f"up to 10,000")
    return freqs


def parse_rates(text: str) -> list[float]:
    try:
        rates = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        rates = []
    if not rates or not all(0 <= r <= 1 for r in rates):
        raise HiltError(f"--stuck-at {text}: give comma-separated fractions of bits between 0 and 1, e.g. 0.01,0.02")
    return rates


def setup(args):
    """(network, quantized model, train split, held-out split) for a chip experiment."""
    from ..quant import calibrate_on
    from .training import load_splits

    net = load_network(args.model)
    train_ds, test_ds = load_splits(args.data, net)
    q = calibrate_on(net, train_ds, args.bits, args.calib)
    if getattr(args, "samples", None):
        test_ds = test_ds.subset(slice(0, args.samples))
    return net, q, train_ds, test_ds


def check_outputs(args) -> None:
    """Refuse unwritable output paths before an experiment runs (it may take hours)."""
    for option in ("json", "plot", "output", "checkpoint"):
        if getattr(args, option, None) is not None:
            check_output_file(getattr(args, option), "--" + option)


def add_common(p, samples: bool = True) -> None:
    p.add_argument("model", metavar="MODEL", help="trained ONNX model (e.g. from `hilt train`) or zoo name")
    add_data_argument(p)
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--calib", type=positive_int, default=CALIBRATION_IMAGES,
                   help=f"calibration images (default {CALIBRATION_IMAGES})")
    if samples:
        p.add_argument("--samples", type=positive_int, help="held-out images to evaluate (default: all)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="write a plot of the results")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_chip_arguments(p)


def add_finetune_arguments(p, epochs: int) -> None:
    p.add_argument("--epochs", type=positive_int, default=epochs, help=f"fine-tuning epochs (default {epochs})")
    p.add_argument("--lr", type=positive_float, default=0.01, help="peak learning rate (default 0.01)")
    p.add_argument("--train-samples", type=positive_int, help="training images for fine-tuning (default: all)")


def save_plot(path, draw) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    draw(ax)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


# ---- sweep -----------------------------------------------------------------------------------

def cmd_sweep(args) -> int:
    check_outputs(args)
    freqs = parse_freqs(args.freq)
    chip = chip_from_args(args)
    _, q, _, test_ds = setup(args)
    accel = accelerator_from_args(args, q=q) if args.backend != "emu" else None
    points = sweep(q, chip, test_ds, SweepSettings(freqs, progress=not args.quiet), accel=accel)
    rows = [[f"{p['freq_mhz']:g}", "hang" if p["hung"] else f"{p['accuracy'] * 100:.2f}%",
             "-" if p["corrupted_rate"] is None else f"{p['corrupted_rate'] * 100:.3f}%"] for p in points]
    print(f"chip seed {chip.seed}, {chip.temp_c:g} C: f_safe {chip.f_safe_mhz:g} MHz, hangs above "
          f"{chip.f_crash_mhz:g} MHz; {len(test_ds)} held-out images")
    print(table(rows, ["MHz", "accuracy", "corrupted accumulations"], right={1, 2}))
    result = {"f_safe_mhz": chip.f_safe_mhz, "f_crash_mhz": chip.f_crash_mhz, "chip": chip.to_json(),
              "model": args.model, "held_out": len(test_ds), "backend": args.backend, "points": points}
    if hasattr(accel, "status"):
        result["board"] = accel.status()  # clock requested vs set at each point, the hangs and their recovery
    if args.json:
        write_json(args.json, result)
    if args.plot:
        def draw(ax):
            ok = [p for p in points if not p["hung"]]
            ax.plot([p["freq_mhz"] for p in ok], [p["accuracy"] * 100 for p in ok], "o-", label="accuracy")
            ax.axvline(chip.f_safe_mhz, color="g", ls="--", label="f_safe")
            ax.axvline(chip.f_crash_mhz, color="r", ls="--", label="hangs above")
            ax.set_xlabel("clock (MHz)")
            ax.set_ylabel("held-out accuracy (%)")
            ax.set_title(f"accuracy vs clock, chip seed {chip.seed}, {chip.temp_c:g} C")
            ax.legend()
        save_plot(args.plot, draw)
    return 0


# ---- finetune --------------------------------------------------------------------------------

def cmd_finetune(args) -> int:
    from ..frontend import export_onnx
    from ..accel import AcceleratorHang

    check_outputs(args)
    chip = chip_from_args(args)
    if args.backend == "emu" and args.freq > chip.f_crash_mhz:
        raise HiltError(f"--freq {args.freq:g}: the chip hangs above {chip.f_crash_mhz:g} MHz "
                        f"(f_safe {chip.f_safe_mhz:g} MHz); choose a lower clock")
    _, q, train_ds, test_ds = setup(args)
    if args.train_samples:
        train_ds = train_ds.subset(slice(0, args.train_samples))
    other = chip_from_args(args, seed=args.other_chip_seed if args.other_chip_seed is not None else chip.seed + 1)
    accels = {key: accelerator_from_args(args, c.seed, q=q) for key, c in (("this", chip), ("other", other))}
    settings = FinetuneSettings(args.freq, args.epochs, args.lr, args.batch_size, args.seed, args.checkpoint,
                                progress=not args.quiet, extra={"backward": args.backward})
    try:
        out, result = chip_finetune(q, accels, train_ds, test_ds, settings)
    except AcceleratorHang:
        raise HiltError(f"--freq {args.freq:g}: the chip hung during fine-tuning; choose a lower clock") from None
    before, after = out["before"], out["after"]
    report = {"freq_mhz": args.freq, "chip_seed": chip.seed, "other_chip_seed": other.seed,
              "before_accuracy": before["this"], "after_accuracy": after["this"],
              "other_chip_before_accuracy": before["other"], "other_chip_after_accuracy": after["other"],
              "config": out["config"], "history": result.history}
    rows = [["this chip (seed %d)" % chip.seed, f"{before['this'] * 100:.2f}%", f"{after['this'] * 100:.2f}%"],
            ["other chip (seed %d)" % other.seed, f"{before['other'] * 100:.2f}%", f"{after['other'] * 100:.2f}%"]]
    print(f"hardware-in-the-loop fine-tuning at {args.freq:g} MHz, {len(test_ds)} held-out images")
    print(table(rows, ["", "before", "after"], right={1, 2}))
    if args.output:
        export_onnx(result.network, args.output)
    if args.json:
        write_json(args.json, report)
    if args.plot:
        def draw(ax):
            epochs = [0] + [h["epoch"] for h in result.history]
            ax.plot(epochs, [before["this"] * 100] + [h["val_accuracy"] * 100 for h in result.history], "o-",
                    label=f"chip {chip.seed} (trained on)")
            ax.plot([0, epochs[-1]], [before["other"] * 100, after["other"] * 100], "s--", label=f"chip {other.seed}")
            ax.set_xlabel("epoch")
            ax.set_ylabel("held-out accuracy (%)")
            ax.set_title(f"fine-tuning on the chip at {args.freq:g} MHz")
            ax.legend()
        save_plot(args.plot, draw)
    return 0


# ---- profile ---------------------------------------------------------------------------------

def cmd_profile_fit(args) -> int:
    check_outputs(args)
    measured = read_json(args.measured, "sweep file", "record one with `hilt sweep --json`")
    checked_sweep_points(measured, args.measured)
    _, q, _, test_ds = setup(args)
    base = chip_from_args(args)
    freqs = sorted({p["freq_mhz"] for p in measured["points"] if not p.get("hung")})
    emulated = sweep(q, base, test_ds, SweepSettings(freqs, progress=not args.quiet))
    chip = fit_chip(measured, emulated, base)
    with atomic_path(args.output) as tmp:
        tmp.write_text(json.dumps(chip.to_json(), indent=2) + "\n")
    rows = [[name, f"{scale:.3f}"] for name, scale in chip.layer_scale.items()]
    print(table(rows, ["layer", "delay scale"], right={1}))
    print(f"hangs above {chip.f_crash_mhz:g} MHz; wrote {args.output} (use it with --chip)")
    return 0


# ---- registration ----------------------------------------------------------------------------

def add_board_arguments(p) -> None:
    from ..board.backend import add_arguments

    add_arguments(p)


def register(sub) -> None:
    from . import faults

    p = sub.add_parser("sweep", help="accuracy vs clock on the virtual chip, with per-layer error rates",
                       description="Run MODEL on the virtual chip at each --freq and report held-out accuracy and "
                                   "the fraction of corrupted accumulations per layer. Past the crash clock the "
                                   "chip hangs; the sweep records it, resets and goes on.")
    add_common(p)
    p.add_argument("--freq", default="100:400:25", metavar="MHZ", help="START:STOP:STEP, A,B,C or one value "
                                                                        "(default 100:400:25)")
    p.add_argument("--backend", choices=("emu", "simboard", "board"), default="emu",
                   help="emu (the virtual chip), simboard (the PYNQ driver on the simulated board, whose chip is "
                        "the same virtual chip) or board (a PYNQ board, with --overlay)")
    add_board_arguments(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("finetune", help="hardware-in-the-loop fine-tuning on the (virtual) chip",
                       description="Fine-tune MODEL with forward passes on the chip at --freq and backward/update on "
                                   "the host; report held-out accuracy before/after on this chip and on another.")
    add_common(p)
    p.add_argument("--backend", choices=("emu", "csim", "rtl", "simboard", "board"), default="emu",
                   help="accelerator: emu (the virtual chip), csim (the generated HLS C++ under g++), rtl (the RTL "
                        "twin in Verilator: exact, slow), simboard (the PYNQ driver on the simulated board) or "
                        "board (a PYNQ board, with --overlay)")
    add_board_arguments(p)
    p.add_argument("--engine", choices=("streaming", "sequential"), default="streaming",
                   help="the accelerator's architecture: the streaming pipeline (default) or the layer-sequential "
                        "engine (shared VEC x LANE MAC lanes, every layer's output read back from DDR)")
    p.add_argument("--freq", type=clock_mhz, required=True, metavar="MHZ", help="clock of the forward passes")
    p.add_argument("--backward", choices=("host", "accelerator"), default="host",
                   help="where the backward pass runs: host (default: float backward through the chip's taps) or "
                        "accelerator (the design's integer BP pipeline, MODE_BACKWARD: emu, simboard, board with an "
                        "overlay built with it)")
    p.add_argument("--other-chip-seed", type=seed, help="second die to evaluate on (default chip seed + 1)")
    add_finetune_arguments(p, epochs=3)
    p.add_argument("--batch-size", type=positive_int, default=32, help="(default 32)")
    p.add_argument("--seed", type=seed, default=0, help="shuffling seed (default 0)")
    p.add_argument("--checkpoint", metavar="FILE.npz", help="save progress here and resume from it if present")
    p.add_argument("-o", "--output", metavar="TUNED.onnx", help="write the fine-tuned model")
    p.set_defaults(func=cmd_finetune)

    faults.register(sub)

    p = sub.add_parser("profile", help="fit a virtual chip to a measured sweep (per-layer error onsets, crash)",
                       description="`hilt profile fit SWEEP.json MODEL -o CHIP.json` fits per-layer lane delays and "
                                   "the crash clock so the emulator reproduces a recorded sweep (from a board or "
                                   "another chip); load the result with --chip.")
    psub = p.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    pf = psub.add_parser("fit", help="fit a chip to a sweep JSON")
    pf.add_argument("measured", metavar="SWEEP.json")
    add_common(pf)
    pf.add_argument("-o", "--output", required=True, metavar="CHIP.json")
    pf.set_defaults(func=cmd_profile_fit)
