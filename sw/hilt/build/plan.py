"""The hardware plan a build uses, checked against the board before any vendor tool runs.

The plan is the project's one hardware plan (:class:`hilt.plan.HardwarePlan`) for the HLS target, the
design the generated project implements, so the cycles the build reports are the performance model's
figures for the code it emits. Without ``--plan`` the DSE searches HLS-target plans and chooses the
fastest that fits within the utilisation cap; with it, the given plan (a plan, a ``hilt dse --json``
report, a plain folding, or a built overlay's manifest.json) is used, refused here if the HLS code does
not build it, and the DSE still decides whether the model fits the board at all. Either way a model the
board cannot hold stops here with the DSE's one-line reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..dse.boards import Board
from ..errors import HiltError
from ..ir import Network
from ..ops import HLS_BACKWARD_OPS
from ..plan import HLS, HardwarePlan


@dataclass
class Plan:
    hardware: HardwarePlan             # what the generated project implements (rendered into its params.h)
    source: str                        # "dse", or the file the plan came from
    cycles_per_sample: int             # the pipeline's initiation interval (performance model, this board)
    latency_cycles: int

    @property
    def mode(self) -> str:
        """"train" (forward + backward pipelines) or "infer"."""
        return self.hardware.mode

    @property
    def folding(self):
        return self.hardware.folding()

    @property
    def plan(self) -> dict:
        """The manifest's ``plan``: the hardware plan's JSON and where it came from (``hilt build --plan``
        reads it back from the manifest)."""
        return {"source": self.source, **self.hardware.to_json()}


def design_mode(net: Network) -> str:
    """The generated project carries the backward pipeline when every computed layer has a backward kernel."""
    ops = [l.op for l in net.layers if l.op != "softmax"]
    return "train" if all(op in HLS_BACKWARD_OPS for op in ops) else "infer"


def _plan_object(path: str) -> dict:
    """The JSON object of a plan file; an overlay manifest gives the plan it was built from."""
    from ..ir.folding import read_json_object

    obj = read_json_object(path, "plan or folding", "a plan, a `hilt dse` report, layer -> {pe, simd}, or an "
                                                    "overlay manifest")
    if isinstance(obj.get("plan"), dict) and "f_safe_mhz" in obj:  # an overlay's manifest.json
        obj = obj["plan"]
    return {k: v for k, v in obj.items() if k != "source"} if "layers" in obj and "target" in obj else obj


def make_plan(net: Network, board: Board, freq_mhz: float, bits: int, cap: float,
              plan_path: str | None = None) -> Plan:
    from ..codegen.project import check_hls_builds
    from ..dse.search import Space, search
    from ..plan import parse_plan
    from ..quant.formats import ACC_BITS

    mode = design_mode(net)
    space = Space(net, board, freq_mhz, mode, bits, target=HLS)
    result = search(space, cap)  # raises the DSE's reason when nothing fits
    if plan_path is None:
        hardware, source, perf = result.chosen.plan, "dse", result.chosen.perf
    else:
        hardware = parse_plan(_plan_object(plan_path), net, target=HLS, mode=mode, bits=bits,
                              acc_bits=ACC_BITS[bits], freq_mhz=freq_mhz, board=board.key, batch=space.batch)
        check_hls_builds(hardware, net)
        if hardware.bits != bits:
            raise HiltError(f"{plan_path}: the plan is for {hardware.bits}-bit operands, the build for {bits} "
                            f"(--bits)")
        hardware = replace(hardware, freq_mhz=float(freq_mhz), board=board.key)  # the plan as this build runs it
        source, perf = str(plan_path), space.performance(hardware)
    return Plan(hardware, source, int(perf.ii_cycles), int(perf.latency_cycles))
