"""``hilt dse MODEL --board B --freq F``: the Pareto front of foldings and the chosen design."""

from __future__ import annotations

from ..errors import HiltError


def register(sub) -> None:
    from ..commands.common import positive_int
    from ..validate import clock_mhz, open_fraction, positive_float

    p = sub.add_parser("dse", help="design-space exploration: Pareto front of per-layer folding for a board",
                       description="Search each conv/dense unit's parallelism (PE x SIMD) and memory for MODEL "
                                   "on --board at --freq: throughput vs DSP/BRAM/URAM/LUT, within --cap of every "
                                   "resource. Prints the front and the chosen design (the fastest that fits, or "
                                   "the cheapest reaching --target-fps) with its MAC efficiency against the "
                                   "board's physical limit; --json is accepted by `hilt compile --folding`. "
                                   "Models: docs/dse.md.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--board", required=True, help="board name (a boards/*.yaml stem, e.g. zcu104) or a YAML path")
    p.add_argument("--freq", type=clock_mhz, required=True, metavar="MHZ", help="PL clock")
    p.add_argument("--mode", choices=("infer", "train"), default="infer",
                   help="forward pipeline only, or forward + backward (training) (default infer)")
    p.add_argument("--batch", type=positive_int, default=32, metavar="N",
                   help="train: samples between weight updates; each batch drains the pipeline and exchanges "
                        "gradients and weights with the host (default 32)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8, help="operand width (default 8)")
    p.add_argument("--target", choices=("hls", "model"), default="hls",
                   help="hls: only what the generated HLS code builds (one value per stream beat, one pixel per "
                        "cycle into window generators, BRAM/LUTRAM, unfolded gradient units), so every figure is "
                        "a property of the code `hilt compile` emits; model: the full streaming architecture of "
                        "docs/dse.md (pixel-wide streams, multi-pixel windows, URAM, DDR stashes), which the "
                        "generator does not build yet (default hls)")
    p.add_argument("--cap", type=open_fraction, default=0.8, help="utilisation cap per resource (default 0.8)")
    p.add_argument("--target-fps", type=positive_float, metavar="N", help="choose the cheapest design reaching N samples/s")
    p.add_argument("--engine", choices=("streaming", "sequential"), default="streaming",
                   help="streaming: the per-layer pipeline's Pareto front (default); sequential: the "
                        "layer-sequential engine's VEC x LANE search and per-layer roofline table (docs/engine.md)")
    p.add_argument("--coefficients", metavar="FILE", help="LUT/FF coefficients of the resource model (JSON, as "
                                                          "`hilt rtlsynth --refit` writes them) instead of the defaults")
    p.add_argument("--json", metavar="FILE", help="front and chosen design as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="the front: samples/s vs DSPs, coloured by BRAM use")
    p.set_defaults(func=cmd_dse)


def load_coefficients(path: str):
    """The resource model's coefficients with the LUT/FF ones a JSON file gives (the others default)."""
    from dataclasses import fields

    from ..validate import mapping, read_json
    from .resources import Coefficients

    known = tuple(f.name for f in fields(Coefficients) if f.name != "shell")
    data = mapping(read_json(path, "coefficients file"), path, allowed=known)
    for k, v in data.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
            raise HiltError(f"{path}: coefficient {k!r} must be a number >= 0 (got {v!r})")
    return Coefficients(**{k: float(v) for k, v in data.items()})


def cmd_dse(args) -> int:
    from ..commands.common import write_json
    from . import report
    from .boards import load_board
    from ..plan import TARGETS
    from .search import Space, search

    if not 0 < args.cap <= 1:
        raise HiltError(f"--cap {args.cap:g}: give a utilisation fraction in (0, 1]")
    if args.target_fps is not None and args.target_fps <= 0:
        raise HiltError(f"--target-fps {args.target_fps:g}: give a positive rate in samples/s")
    from ..validate import check_output_file

    for option in ("json", "plot"):
        if getattr(args, option) is not None:
            check_output_file(getattr(args, option), "--" + option)
    board = load_board(args.board)
    board.check_clock(args.freq)
    net = _network(args.model)
    if args.engine == "sequential":
        return _sequential(args, net, board)
    coef = load_coefficients(args.coefficients) if args.coefficients else None
    space = Space(net, board, args.freq, args.mode, args.bits, coef=coef, batch=args.batch,
                  target=TARGETS[args.target])
    result = search(space, args.cap, args.target_fps)
    print(report.limit_line(result, board, args.freq, args.mode, args.bits, net.name) + f"; target {args.target}")
    print(report.front_table(result, board))
    if len(report.shown_designs(result)) < len(result.front):
        print(f"({len(report.shown_designs(result))} of the {len(result.front)} designs on the front; --json has all)")
    print(report.summary(result))
    if args.json:
        write_json(args.json, report.report_json(result, board, args.freq, args.mode, args.bits, args.cap, net.name))
    if args.plot:
        report.plot_front(args.plot, result, board, f"{net.name} on {board.name}, {args.freq:g} MHz, {args.mode}")
    return 0


def _sequential(args, net, board) -> int:
    from ..commands.common import write_json
    from . import sequential

    if args.mode != "infer" or args.bits != 8:
        raise HiltError("--engine sequential models int8 inference (training reads its taps from DDR and runs the "
                        "backward pass on the host); drop --mode/--bits")
    best = sequential.search(net, board, args.freq, args.cap)
    print("\n".join(sequential.report_lines(net, board, args.freq, best)))
    if args.json:
        write_json(args.json, sequential.report_json(net, board, args.freq, best))
    return 0


def _network(spec: str):
    """The search needs shapes only: a zoo model is built directly rather than through its ONNX round trip
    (which takes seconds for AlexNet's 61 M parameters); files go through the importer as everywhere."""
    from .. import zoo
    from ..loading import load_network
    from ..validate import exists

    if not exists(spec) and spec in zoo.names():
        return zoo.network(spec)
    return load_network(spec)
