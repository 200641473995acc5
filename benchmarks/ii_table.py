"""Predicted vs reachable II per layer: the DSE's performance model against the generated loops.

For each zoo model and plan (the DSE's chosen ZCU104 plan for the HLS target, and the unfolded one),
the project is generated and its counting C-sim build (trips.h: one count per pipelined loop iteration,
per layer struct and loop kind) runs one sample through train-forward and, where the design has one,
backward. A stage's *reachable* cycles per sample are the iterations of its pipelined loops, each one cycle at
II = 1 (what the partitioning of docs/hls.md allows), nothing counted for pipeline fills; its
*predicted* cycles are ``hilt.dse.perf.stages`` for the same plan (value beats). Loops that follow each
other in one process add up; the processes of a dataflow region overlap, so a stage of several (a conv:
window generator, MVAU, output serializer; its error unit also zero insertion) takes its slowest one's.
A window generator's steps (``slide``) each read a group of the row and emit one beat.

Usage:
    python benchmarks/ii_table.py [--models lenet5 svhn cifar10] [--board zcu104] [--json FILE]
Prints one markdown table per model and plan (the table in docs/hls.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np



def plans(net, q, board_key: str):
    """[(label, plan)]: the DSE's chosen plan for the board (training if the model has a backward
    pipeline, else or where no training design fits, inference); where nothing fits the board, the same
    on the largest board (most block RAM) where it fits; and the unfolded plan."""
    from hilt.dse import Space, load_board, search
    from hilt.dse.boards import BOARDS_DIR
    from hilt.errors import HiltError
    from hilt.plan import HLS, default_plan

    mode = "train" if q.err_out_fmt is not None else "infer"
    others = sorted((load_board(p.stem) for p in BOARDS_DIR.glob("*.yaml")), key=lambda b: -b.resources["bram18"])
    out = []
    for board in [load_board(board_key)] + [b for b in others if b.key != board_key]:
        for m in dict.fromkeys((mode, "infer")):
            try:
                out.append((f"DSE {board.key} {m}", search(Space(net, board, 200.0, m, target=HLS), 0.8).chosen.plan))
                break
            except HiltError as e:
                print(f"{net.name}: no {m} design fits {board.key}: {e}")
        if out:
            break
    out.append(("unfolded", default_plan(net, target=HLS, mode=mode, bits=q.bits, acc_bits=q.acc_bits,
                                         board=board_key)))
    return out


def counted(project: Path, q, x_int, labels, backward: bool) -> tuple[dict, dict]:
    """Trip counts of one sample: (train-forward, backward) as {(struct, kind): iterations}."""
    from hilt import golden
    from hilt.codegen.csim import run, run_backward

    fwd, bwd = {}, {}
    run(project, x_int, "train_forward", csim="unbounded", trips=fwd)
    if backward:
        ref = golden.run(q, x_int)
        run_backward(project, ref, golden.error_at_logits(q, ref[-1], labels), csim="unbounded", trips=bwd)
    return fwd, bwd


def table(name: str, label: str, net, plan, fwd: dict, bwd: dict) -> tuple[list[str], dict]:
    from hilt.codegen.reachable import reachable
    from hilt.dse.perf import stages

    rows = [f"**{name}, {label}**", "",
            "| stage | folding (pe x simd) | predicted | reachable | reachable / predicted | loops (iterations per sample) |",
            "|---|---|---|---|---|---|"]
    units = plan.units()
    worst_pred, worst_reach, data = 0, 0, []
    for st in stages(net, units, plan.mode, plan.deferred(), "value"):
        if st.unit == "loss":
            continue
        cycles, how = reachable(net, st, fwd, bwd)  # hilt.codegen.reachable
        f = units.get((st.layer, st.unit))
        if st.unit == "err" and f is None:
            lp = plan.layer(st.layer).unit("err")
            f = lp.folding if lp else None
        fold = f"{f.pe} x {f.simd}" if f else "-"
        worst_pred = max(worst_pred, st.cycles)
        if cycles is not None:
            worst_reach = max(worst_reach, cycles)
        ratio = f"{cycles / st.cycles:.2f}" if cycles and st.cycles else "-"
        rows.append(f"| {st.layer} {st.unit} | {fold} | {st.cycles:,} | {'-' if cycles is None else f'{cycles:,}'} "
                    f"| {ratio} | {how} |")
        data.append({"layer": st.layer, "unit": st.unit, "folding": fold, "predicted": st.cycles,
                     "reachable": cycles, "loops": how})
    rows += ["", f"design II (slowest stage): predicted {worst_pred:,} cycles, reachable {worst_reach:,} "
                 f"({worst_reach / worst_pred:.2f}x)", ""]
    return rows, {"model": name, "plan": label, "stages": data, "ii_predicted": worst_pred,
                  "ii_reachable": worst_reach}


def main() -> int:
    from hilt import golden, zoo
    from hilt.codegen import compile_project
    from hilt.quant import quantize

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["lenet5", "svhn", "cifar10"], help="zoo models")
    ap.add_argument("--board", default="zcu104", help="board the DSE searches for (default zcu104)")
    ap.add_argument("--json", metavar="FILE", help="also write the tables as JSON")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    report = []
    for name in args.models:
        net = zoo.network(name)
        x = rng.random((8, *net.input_shape), dtype=np.float32)
        labels = rng.integers(0, int(np.prod(net.layers[-1].out_shape)), len(x))
        q = quantize(net, x, labels=labels)
        x_int = golden.quantize_input(q, x[:1])
        for label, plan in plans(net, q, args.board):
            with tempfile.TemporaryDirectory() as tmp:
                manifest = compile_project(q, Path(tmp) / "p", plan=plan)
                fwd, bwd = counted(Path(tmp) / "p", q, x_int, labels[:1], manifest["backward"])
            rows, data = table(name, label, net, plan, fwd, bwd)
            print("\n".join(rows), flush=True)
            report.append(data)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
