"""What ``hilt dse`` shows: the front as a table, the chosen design against the physical limit, the
JSON report (whose ``chosen.folding`` ``hilt compile --folding`` reads) and the PNG of the front.

Kept apart from the search so that scripts and the benchmarks format results the same way.
"""

from __future__ import annotations

from ..fileio import atomic_path
from ..ir.folding import folding_to_json
from .boards import RESOURCES, Board
from .search import Design, Result

MAX_ROWS = 12


def limit_line(result: Result, board: Board, freq_mhz: float, mode: str, bits: int, model: str) -> str:
    """The physical limit: every DSP at f, doing as many MACs as this model's MAC mix allows."""
    limit = result.chosen.limit_macs_per_s
    per_dsp = limit / (board.resources["dsp"] * freq_mhz * 1e6)
    batch = f", batch {result.chosen.perf.batch}" if mode == "train" else ""
    return (f"{model} on {board.name} at {freq_mhz:g} MHz ({mode}, int{bits}{batch}): physical limit "
            f"{limit / 1e9:,.1f} GMAC/s ({board.resources['dsp']:,} DSP x {per_dsp:.2f} MAC x {freq_mhz:g} MHz)")


def shown_designs(result: Result, rows: int = MAX_ROWS) -> list[Design]:
    """At most ``rows`` designs spread evenly along the front, the chosen one always among them."""
    front = result.front
    shown = front if len(front) <= rows else [front[round(i * (len(front) - 1) / (rows - 1))] for i in range(rows)]
    unique = list({id(d): d for d in shown + [result.chosen]}.values())
    return sorted(unique, key=lambda d: -d.samples_per_s)


def front_table(result: Result, board: Board) -> str:
    from ..commands.common import table

    uram = board.resources["uram"] > 0
    header = ["samples/s", "latency us", "DSP", "BRAM18"] + (["URAM"] if uram else []) + ["LUT", "MAC eff.", ""]
    rows = []
    for d in shown_designs(result):
        u = d.utilisation(board)
        rows.append([f"{d.samples_per_s:,.0f}", f"{d.perf.latency_us:,.1f}", f"{u['dsp']:.0%}", f"{u['bram18']:.0%}"] +
                    ([f"{u['uram']:.0%}"] if uram else []) +
                    [f"{u['lut']:.0%}", f"{d.dsp_efficiency:.0%}", "chosen" if d is result.chosen else ""])
    return table(rows, header, right=set(range(len(header) - 1)))


def summary(result: Result) -> str:
    c, g = result.chosen, result.greedy
    text = (f"chosen: {c.samples_per_s:,.0f} samples/s ({c.macs_per_s / 1e9:,.2f} GMAC/s), "
            f"{c.dsp_efficiency:.0%} of its DSPs' peak, {c.board_efficiency:.0%} of the board's limit; ")
    if c.perf.mode == "train":
        text += (f"pipeline {c.perf.pipeline_samples_per_s:,.0f} samples/s, batch boundary "
                 f"{c.perf.boundary_cycles:,} cycles; ")
    if g is None:
        return text + "the greedy baseline does not fit"
    return text + (f"greedy baseline {g.samples_per_s:,.0f} samples/s with {g.resources['dsp']:,.0f} DSP, "
                   f"{g.resources['bram18']:,.0f} BRAM18")


def design_json(d: Design, board: Board) -> dict:
    p = d.perf
    return {"samples_per_s": d.samples_per_s, "latency_us": p.latency_us, "ii_cycles": p.ii_cycles,
            "latency_cycles": p.latency_cycles, "pipeline_samples_per_s": p.pipeline_samples_per_s,
            "batch_cycles": p.batch_cycles, "boundary_cycles": p.boundary_cycles, **{r: d.resources[r] for r in RESOURCES},
            "utilisation": d.utilisation(board), "macs_per_s": d.macs_per_s, "dsp_efficiency": d.dsp_efficiency,
            "board_efficiency": d.board_efficiency, "origin": d.origin}


def report_json(result: Result, board: Board, freq_mhz: float, mode: str, bits: int, cap: float, model: str) -> dict:
    c = result.chosen
    chosen = design_json(c, board)
    chosen["folding"] = folding_to_json(c.folding)
    chosen["units"] = {f"{name}.{unit}": {"pe": f.pe, "simd": f.simd, "ppc": getattr(f, "ppc", 1),
                                          "storage": c.storage[(name, unit)]}
                       for (name, unit), f in c.units.items()}
    chosen["stashes"] = {name: where for (name, unit), where in c.storage.items() if unit == "stash"}
    chosen["plan"] = c.plan.to_json()  # what `hilt compile --plan` renders
    return {"board": board.key, "target": c.plan.target, "freq_mhz": freq_mhz, "mode": mode, "bits": bits, "cap": cap, "model": model,
            "batch": c.perf.batch, "physical_limit_macs_per_s": c.limit_macs_per_s,
            "pareto": [design_json(d, board) for d in result.front], "chosen": chosen,
            "greedy": design_json(result.greedy, board) if result.greedy else None}


def plot_front(path, result: Result, board: Board, title: str) -> None:
    """samples/s against DSP slices, coloured by BRAM18 share; chosen and greedy designs marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    front, c, g = result.front, result.chosen, result.greedy
    pts = ax.scatter([d.resources["dsp"] for d in front], [d.samples_per_s for d in front],
                     c=[100 * d.utilisation(board)["bram18"] for d in front], cmap="viridis", s=18, label="front")
    fig.colorbar(pts, ax=ax, label="BRAM18 (%)")
    ax.scatter([c.resources["dsp"]], [c.samples_per_s], marker="*", s=200, c="red", label="chosen")
    if g is not None:
        ax.scatter([g.resources["dsp"]], [g.samples_per_s], marker="x", s=80, c="black", label="greedy")
    ax.set_xlabel("DSP slices")
    ax.set_ylabel("samples/s")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
