"""The hardware plan a build uses, checked against the board before any vendor tool runs.

Without ``--folding`` the DSE chooses the design (the fastest that fits within the utilisation cap);
with it, the given folding is used and the DSE still decides whether the model fits the board at all.
Either way a model the board cannot hold stops here with the DSE's one-line reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..dse.boards import Board
from ..ir import Network
from ..ir.folding import LayerFolding, check_folding, folding_to_json, load_folding

BACKWARD_OPS = ("conv", "dense", "relu", "maxpool", "flatten")  # layers the generated BP pipeline covers


@dataclass
class Plan:
    mode: str                          # "train" (forward + backward pipelines) or "infer"
    folding: dict[str, LayerFolding]
    cycles_per_sample: int             # the pipeline's initiation interval
    latency_cycles: int | None
    plan: dict                         # the per-layer plan as JSON (manifest "plan")


def design_mode(net: Network) -> str:
    """The generated project carries the backward pipeline when every computed layer has a backward kernel."""
    ops = [l.op for l in net.layers if l.op != "softmax"]
    return "train" if all(op in BACKWARD_OPS for op in ops) else "infer"


def make_plan(net: Network, board: Board, freq_mhz: float, bits: int, cap: float,
              folding_path: str | None = None) -> Plan:
    from ..dse.perf import unit_cycles
    from ..dse.report import report_json
    from ..dse.search import Space, search

    mode = design_mode(net)
    result = search(Space(net, board, freq_mhz, mode, bits), cap)  # raises the DSE's reason when nothing fits
    if folding_path is None:
        chosen = report_json(result, board, freq_mhz, mode, bits, cap, net.name)["chosen"]
        return Plan(mode, result.chosen.folding, int(chosen["ii_cycles"]), int(chosen["latency_cycles"]),
                    {"source": "dse", "mode": mode, "cap": cap, **chosen})
    folding = load_folding(folding_path, net)
    check_folding(net, folding)
    data = json.loads(Path(folding_path).read_text())
    if isinstance(data, dict) and isinstance(data.get("chosen"), dict) and "ii_cycles" in data["chosen"]:
        c = data["chosen"]
        return Plan(mode, folding, int(c["ii_cycles"]), c.get("latency_cycles"),
                    {"source": str(folding_path), "mode": mode, **c})
    # a bare folding: the forward pipeline's initiation interval is its slowest unit
    ii = max(unit_cycles(l, folding.get(l.name, LayerFolding()), "fwd") for l in net.layers if l.weighted)
    return Plan(mode, folding, int(ii), None, {"source": str(folding_path), "mode": mode,
                                               "folding": folding_to_json(folding)})
