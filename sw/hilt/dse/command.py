"""``hilt dse MODEL --board B --freq F``: the Pareto front of foldings and the chosen design."""

from __future__ import annotations

from ..errors import HiltError
from ..ir.folding import folding_to_json
from ..loading import load_network


MAX_ROWS = 12


def register(sub) -> None:

    p = sub.add_parser("dse", help="design-space exploration: Pareto front of per-layer folding for a board",
                       description="Search each conv/dense layer's parallelism (PE x SIMD) and weight storage for "
                                   "MODEL on --board at --freq: throughput vs DSP/BRAM/LUT, within --cap of the "
                                   "board. Prints the front and the chosen design (the fastest that fits, or the "
                                   "cheapest reaching --target-fps) with its MAC efficiency against the physical "
                                   "limit; --json is accepted by `hilt compile --folding`.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--board", required=True, help="board name (see boards/*.yaml) or a YAML path")
    p.add_argument("--freq", type=float, required=True, metavar="MHZ", help="PL clock")
    p.add_argument("--mode", choices=("infer", "train"), default="infer",
                   help="forward pipeline only, or forward + backward (training) (default infer)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--cap", type=float, default=0.8, help="utilisation cap per resource (default 0.8)")
    p.add_argument("--target-fps", type=float, metavar="N", help="choose the cheapest design reaching N samples/s")
    p.add_argument("--json", metavar="FILE", help="front and chosen design as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="the front: samples/s vs DSPs, coloured by BRAM use")
    p.set_defaults(func=cmd_dse)


def design_json(d, board, bits: int) -> dict:
    return {"samples_per_s": d.samples_per_s, "latency_us": d.perf.latency_us, "ii_cycles": d.perf.ii_cycles,
            **{r: d.resources[r] for r in ("dsp", "bram18", "uram", "lut", "ff")},
            "utilisation": d.utilisation(board), "dsp_efficiency": d.dsp_efficiency(board, bits),
            "board_efficiency": d.board_efficiency(board, bits), "origin": d.origin}


def cmd_dse(args) -> int:
    from ..commands.chip import save_plot
    from ..commands.common import table, write_json
    from .boards import load_board
    from .search import Space, search

    if not 0 < args.cap <= 1:
        raise HiltError(f"--cap {args.cap}: give a utilisation fraction in (0, 1]")
    board = load_board(args.board)
    board.check_clock(args.freq)
    net = load_network(args.model)
    space = Space(net, board, args.freq, args.mode, args.bits)
    result = search(space, args.cap, args.target_fps)
    per_dsp = board.macs_per_dsp if args.bits <= 8 else 1
    limit = board.resources["dsp"] * per_dsp * args.freq * 1e6
    shown = result.front if len(result.front) <= MAX_ROWS else \
        [result.front[round(i * (len(result.front) - 1) / (MAX_ROWS - 1))] for i in range(MAX_ROWS)]
    if result.chosen not in shown:
        shown = sorted(shown + [result.chosen], key=lambda d: -d.samples_per_s)
    rows = []
    for d in shown:
        u = d.utilisation(board)
        rows.append([f"{d.samples_per_s:,.0f}", f"{d.perf.latency_us:,.1f}", f"{u['dsp']:.0%}", f"{u['bram18']:.0%}",
                     f"{u['lut']:.0%}", f"{d.dsp_efficiency(board, args.bits):.0%}", "*" if d is result.chosen else ""])
    print(f"{net.name} on {board.name} at {args.freq:g} MHz ({args.mode}, int{args.bits}): physical limit "
          f"{limit / 1e9:,.1f} GMAC/s ({board.resources['dsp']} DSP x {per_dsp} MAC x {args.freq:g} MHz)")
    print(table(rows, ["samples/s", "latency us", "DSP", "BRAM18", "LUT", "MAC eff.", "chosen"],
                right={0, 1, 2, 3, 4, 5}))
    if len(shown) < len(result.front):
        print(f"({len(shown)} of the {len(result.front)} designs on the front; --json has all)")
    c, g = result.chosen, result.greedy
    baseline = (f"greedy baseline {g.samples_per_s:,.0f} samples/s with {g.resources['dsp']:,.0f} DSP, "
                f"{g.resources['bram18']:,.0f} BRAM18" if g else "the greedy baseline does not fit")
    print(f"chosen: {c.samples_per_s:,.0f} samples/s, {c.dsp_efficiency(board, args.bits):.0%} of its DSPs' peak, "
          f"{c.board_efficiency(board, args.bits):.0%} of the board's; {baseline}")
    if args.json:
        chosen = design_json(c, board, args.bits)
        chosen["folding"] = folding_to_json(c.folding)
        chosen["units"] = {f"{name}.{unit}": {"pe": f.pe, "simd": f.simd, "storage": c.storage[(name, unit)]}
                           for (name, unit), f in c.units.items()}
        write_json(args.json, {"board": board.key, "freq_mhz": args.freq, "mode": args.mode, "bits": args.bits,
                               "cap": args.cap, "model": net.name, "physical_limit_macs_per_s": limit,
                               "pareto": [design_json(d, board, args.bits) for d in result.front],
                               "chosen": chosen, "greedy": design_json(g, board, args.bits) if g else None})
    if args.plot:
        def draw(ax):
            pts = ax.scatter([d.resources["dsp"] for d in result.front], [d.samples_per_s for d in result.front],
                             c=[d.utilisation(board)["bram18"] * 100 for d in result.front], cmap="viridis", s=18)
            ax.figure.colorbar(pts, ax=ax, label="BRAM18 (%)")
            ax.scatter([c.resources["dsp"]], [c.samples_per_s], marker="*", s=200, c="red", label="chosen")
            if g:
                ax.scatter([g.resources["dsp"]], [g.samples_per_s], marker="x", s=80, c="black", label="greedy")
            ax.set_xlabel("DSP slices")
            ax.set_ylabel("samples/s")
            ax.set_title(f"{net.name} on {board.name}, {args.freq:g} MHz, {args.mode}")
            ax.legend()
        save_plot(args.plot, draw)
    return 0
