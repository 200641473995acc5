"""The block design as a picture, drawn from the calls a generated overlay.tcl makes (nothing drawn by hand).

    python tests/tcl/diagram.py docs/images/block_design.png [BOARD] [FREQ]

Cells are the recorded create_bd_cell calls, placed in columns by their distance from the PS over the
AXI connections; edges are the recorded connect_bd_intf_net (AXI / AXI-Stream) and connect_bd_net
(clocks, resets) calls, each drawn from the net's first pin to its others.
"""

from __future__ import annotations

import sys
import tempfile
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checks import cells as recorded_cells  # noqa: E402
from recorder import Interpreter  # noqa: E402


def record(board_key: str = "zcu104", freq: float = 300.0):
    from hilt.build import blockdesign, kinds
    from hilt.build.flow import render_vivado
    from hilt.dse.boards import load_board

    ctx = blockdesign.context("lenet5", load_board(board_key), freq, kinds.get("streaming"), "lenet5", "ip", "out")
    tcl, xdc = render_vivado(ctx)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "overlay.tcl").write_text(tcl)
        return Interpreter("vivado", effects=True).source(Path(d) / "overlay.tcl"), ctx


def edges(rec) -> list[tuple[str, str, str]]:
    """(kind, from pin, to pin): kind is 'axi', 'stream', 'clock' or 'reset'."""
    out = []
    for c in rec.named("connect_bd_intf_net"):
        a, b = c.args
        kind = "stream" if "AXIS" in a + b or a.endswith(("_r", "in_r")) or b.endswith("_r") else "axi"
        out.append((kind, a, b))
    for c in rec.named("connect_bd_net"):
        first = c.args[0]
        port = first.split("/")[1]
        kind = "clock" if "clk" in port or port == "locked" else "reset"
        out += [(kind, first, p) for p in c.args[1:]]
    return out


def layout(rec) -> dict[str, tuple[int, int]]:
    cells = recorded_cells(rec)
    adj = {c: set() for c in cells}
    for kind, a, b in edges(rec):
        ca, cb = a.split("/")[0], b.split("/")[0]
        if ca != cb and kind in ("axi", "stream"):
            adj[ca].add(cb)
            adj[cb].add(ca)
    ps = next(c for c, v in cells.items() if "processing_system7" in v or "zynq_ultra_ps_e" in v)
    depth, queue = {ps: 0}, deque([ps])
    while queue:
        c = queue.popleft()
        for n in sorted(adj[c]):
            if n not in depth:
                depth[n] = depth[c] + 1
                queue.append(n)
    last = max(depth.values()) + 1
    for c in cells:  # cells on no AXI path (the resets) form the last column
        depth.setdefault(c, last)
    cols: dict[int, list[str]] = {}
    for c in cells:
        cols.setdefault(depth[c], []).append(c)
    return {c: (col, row) for col, names in cols.items() for row, c in enumerate(names)}


HW, HH = 1.1, 0.4  # half width and height of a cell's box


def _clip(p, q):
    """The point where the segment from box centre p towards q leaves p's box."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    t = min(HW / abs(dx) if dx else float("inf"), HH / abs(dy) if dy else float("inf"))
    return p[0] + t * dx, p[1] + t * dy


def draw(rec, ctx, path: str) -> list[tuple[str, str, str]]:
    """Two panels over the same placement: AXI and AXI-Stream paths, then clocks and resets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    cells = recorded_cells(rec)
    pos = layout(rec)
    xy = {c: (col * 3.0, -row * 1.5) for c, (col, row) in pos.items()}
    colors = {"axi": "tab:blue", "stream": "tab:orange", "clock": "tab:red", "reset": "tab:purple"}
    names = {"axi": "AXI4 / AXI4-Lite (arrow: master to slave)", "stream": "AXI4-Stream",
             "clock": "clock (arrow: from the source)", "reset": "reset (arrow: from the source)"}
    fig, axes = plt.subplots(1, 2, figsize=(16, 6.2))
    drawn = []
    for ax, kinds_here, title in ((axes[0], ("axi", "stream"), "control and data paths"),
                                  (axes[1], ("clock", "reset"), "clocks and resets")):
        seen = set()
        for kind, a, b in edges(rec):
            ca, cb = a.split("/")[0], b.split("/")[0]
            if ca == cb or kind not in kinds_here:
                continue
            drawn.append((kind, a, b))
            rad = 0.25 if (ca, cb, kind) in seen or (cb, ca, kind) in seen else 0.08
            seen.add((ca, cb, kind))
            ax.add_patch(FancyArrowPatch(_clip(xy[ca], xy[cb]), _clip(xy[cb], xy[ca]),
                                         connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>", mutation_scale=11,
                                         lw=2.0 if kind in ("axi", "stream") else 1.0, color=colors[kind],
                                         alpha=0.8))
            if kind == "stream":
                mx, my = (xy[ca][0] + xy[cb][0]) / 2, (xy[ca][1] + xy[cb][1]) / 2
                ax.text(mx + (0.35 if ca == "axi_dma" else -0.35), my, f"{a.split('/')[1]} -> {b.split('/')[1]}",
                        fontsize=7, color=colors[kind], ha="left" if ca == "axi_dma" else "right")
        for c, (x, y) in xy.items():
            ax.add_patch(FancyBboxPatch((x - HW, y - HH), 2 * HW, 2 * HH, boxstyle="round,pad=0.03", fc="white",
                                        ec="black", lw=1.2, zorder=3))
            ax.text(x, y + 0.1, c, ha="center", va="center", fontsize=9.5, weight="bold", zorder=4)
            ax.text(x, y - 0.18, cells[c].split(":")[2], ha="center", va="center", fontsize=7.5, color="dimgray",
                    zorder=4)
        for kind in kinds_here:
            ax.plot([], [], color=colors[kind], lw=2, label=names[kind])
        ax.legend(loc="lower left", fontsize=8)
        ax.set_title(title, fontsize=11)
        xs, ys = [p[0] for p in xy.values()], [p[1] for p in xy.values()]
        ax.set_xlim(min(xs) - 1.4, max(xs) + 1.4)
        ax.set_ylim(min(ys) - 1.3, max(ys) + 0.7)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle(f"{ctx['board']} overlay block design, recorded from the generated overlay.tcl: accelerator clock "
                 f"clk_wiz/clk_out1 = {float(ctx['freq_mhz']):g} MHz, control clock {float(ctx['control_mhz']):g} MHz")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return drawn


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "block_design.png"
    board = sys.argv[2] if len(sys.argv) > 2 else "zcu104"
    rec, ctx = record(board, float(sys.argv[3]) if len(sys.argv) > 3 else 300.0)
    n = draw(rec, ctx, out)
    print(f"wrote {out}: {len(recorded_cells(rec))} cells, {len(n)} connections")
