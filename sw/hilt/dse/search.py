"""Multi-objective search of per-layer folding and weight storage, and a FINN-style greedy baseline.

The pipeline's throughput is set by its slowest stage, so for a target initiation interval II every
layer can be chosen independently: the cheapest (pe, simd, storage) whose cycles fit II. Sweeping II
over every cycle count any layer can reach, for several weightings of DSP / BRAM / LUT (each
normalised by the board's amount), gives a set of designs that are each the cheapest at their
throughput under that weighting; their non-dominated subset (throughput up; DSP, BRAM18, LUT, URAM
down) is the Pareto front. The greedy baseline is included as a candidate, so the search never
returns a design worse than it.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field

from ..errors import HiltError
from ..ir import Network
from ..ir.folding import LayerFolding
from .boards import RESOURCES, Board
from .perf import (Performance, macs_per_sample, pe_rows, performance, stages, tied_error, unit_cycles, unit_matrix,
                   units_of)
from .resources import Coefficients, ddr_cycles, fixed_resources, storage_choices, unit_resources

WEIGHTINGS = ({"dsp": 1, "bram18": 1, "uram": 1, "lut": 1, "ff": 0.2},  # balanced
              {"dsp": 1, "bram18": 0.2, "uram": 0.2, "lut": 0.2, "ff": 0.05},  # save DSPs
              {"dsp": 0.2, "bram18": 1, "uram": 1, "lut": 0.2, "ff": 0.05},  # save memory
              {"dsp": 0.2, "bram18": 0.2, "uram": 0.2, "lut": 1, "ff": 0.2})  # save logic


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass
class Design:
    units: dict[tuple[str, str], LayerFolding]  # (layer, "fwd" | "err" | "grad") -> folding
    storage: dict[tuple[str, str], str]
    perf: Performance
    resources: dict[str, float]
    macs: int  # per sample, in the design's mode
    origin: str = "search"

    @property
    def samples_per_s(self) -> float:
        return self.perf.samples_per_s

    @property
    def folding(self) -> dict[str, LayerFolding]:
        """The forward units' folding: what code generation's folding file holds."""
        return {name: f for (name, unit), f in self.units.items() if unit == "fwd"}

    def utilisation(self, board: Board) -> dict[str, float]:
        return {r: (self.resources[r] / board.resources[r] if board.resources[r] else
                    (0.0 if self.resources[r] == 0 else float("inf"))) for r in RESOURCES}

    def fits(self, board: Board, cap: float) -> bool:
        return all(u <= cap for u in self.utilisation(board).values())

    def dsp_efficiency(self, board: Board, bits: int = 8) -> float:
        """Achieved MAC rate over the peak of the DSPs the design uses."""
        per_dsp = board.macs_per_dsp if bits <= 8 else 1
        return self.samples_per_s * self.macs / max(1.0, self.resources["dsp"] * per_dsp * self.perf.freq_mhz * 1e6)

    def board_efficiency(self, board: Board, bits: int = 8) -> float:
        """Achieved MAC rate over the board's physical limit: all DSPs x f x MACs per DSP."""
        per_dsp = board.macs_per_dsp if bits <= 8 else 1
        return self.samples_per_s * self.macs / (board.resources["dsp"] * per_dsp * self.perf.freq_mhz * 1e6)


@dataclass
class _Option:
    folding: LayerFolding
    storage: str
    cycles: int
    res: dict[str, float] = field(default_factory=dict)


class Space:
    """Every layer's options, evaluated once."""

    def __init__(self, net: Network, board: Board, freq_mhz: float, mode: str, bits: int = 8,
                 coef: Coefficients | None = None):
        self.net, self.board, self.freq, self.mode, self.bits = net, board, freq_mhz, mode, bits
        self.coef = coef or Coefficients()
        self.fixed = fixed_resources(net, board, mode, bits, self.coef)
        self.fixed_ii = max([s.cycles for s in stages(net, {}, mode) if s.unit not in ("fwd", "err", "grad")],
                            default=1)
        self.options: dict[tuple[str, str], list[_Option]] = {}
        self._frontiers: dict[int, dict] = {}
        first = net.weighted_layers()[0].name
        for name, unit in units_of(net, mode):
            layer = net.layer(name)
            _, cols = unit_matrix(layer, unit)
            tied = unit == "fwd" and tied_error(layer, name == first, mode)
            opts = []
            for pe, simd in itertools.product(_divisors(pe_rows(layer, unit)), _divisors(cols)):
                f = LayerFolding(pe, simd)
                cycles = unit_cycles(layer, f, unit)
                for storage in storage_choices(layer, unit, f, bits, board):
                    c = max(cycles, ddr_cycles(layer, board, freq_mhz)) if storage == "ddr" else cycles
                    opts.append(_Option(f, storage, c, unit_resources(layer, unit, f, storage, board, mode,
                                                                      bits, self.coef, tied)))
            self.options[(name, unit)] = opts

    def cost(self, res: dict[str, float], weights: dict[str, float]) -> float:
        return sum(weights[r] * res[r] / max(1, self.board.resources[r]) if self.board.resources[r] else
                   (1e9 * res[r]) for r in RESOURCES)

    def design(self, choice: dict[tuple[str, str], _Option], origin: str) -> Design:
        units = {k: o.folding for k, o in choice.items()}
        res = dict(self.fixed)
        for o in choice.values():
            for r in RESOURCES:
                res[r] += o.res[r]
        return Design(units, {k: o.storage for k, o in choice.items()},
                      performance(self.net, units, self.freq, self.mode, max(o.cycles for o in choice.values())), res,
                      macs_per_sample(self.net, self.mode), origin)

    def _frontier(self, w: int):
        """Per layer, options sorted by cycles with the running cheapest (under weighting w): the
        cheapest option within any II is then one binary search away."""
        if w not in self._frontiers:
            table = {}
            for name, opts in self.options.items():
                ordered = sorted(opts, key=lambda o: o.cycles)
                best, running = [], None
                for o in ordered:
                    if running is None or self.cost(o.res, WEIGHTINGS[w]) < self.cost(running.res, WEIGHTINGS[w]):
                        running = o
                    best.append(running)
                table[name] = ([o.cycles for o in ordered], best)
            self._frontiers[w] = table
        return self._frontiers[w]

    def cheapest_at(self, ii: int, w: int) -> Design | None:
        choice = {}
        for name, (cycles, best) in self._frontier(w).items():
            i = bisect.bisect_right(cycles, ii) - 1
            if i < 0:
                return None
            choice[name] = best[i]
        return self.design(choice, "search")

    def smallest(self) -> Design:
        return self.design({n: min(o, key=lambda o: self.cost(o.res, WEIGHTINGS[0])) for n, o in self.options.items()},
                           "smallest")


def dominates(a: Design, b: Design) -> bool:
    ge = a.samples_per_s >= b.samples_per_s and all(a.resources[r] <= b.resources[r] for r in ("dsp", "bram18", "uram", "lut"))
    gt = a.samples_per_s > b.samples_per_s or any(a.resources[r] < b.resources[r] for r in ("dsp", "bram18", "uram", "lut"))
    return ge and gt


def pareto(designs: list[Design]) -> list[Design]:
    front = [d for d in designs if not any(dominates(o, d) for o in designs)]
    unique = {}
    for d in sorted(front, key=lambda d: -d.samples_per_s):
        unique.setdefault((round(d.samples_per_s, 6), tuple(round(d.resources[r]) for r in RESOURCES)), d)
    return list(unique.values())


def greedy(space: Space, cap: float) -> Design | None:
    """FINN SetFolding-like: raise the slowest unit's parallelism (simd first, then pe) step by step
    while the design still fits; stop when the slowest unit cannot grow or the budget is spent. Memories
    stay on chip (as FINN keeps them) unless that does not fit even at 1 x 1. None when nothing fits."""
    for allow_ddr in (False, True):
        design = _greedy(space, cap, allow_ddr)
        if design is not None:
            return design
    return None


def _greedy(space: Space, cap: float, allow_ddr: bool) -> Design | None:
    def option(key, f):
        opts = [o for o in space.options[key] if o.folding == f and (allow_ddr or o.storage != "ddr")]
        return min(opts, key=lambda o: space.cost(o.res, WEIGHTINGS[0]))

    current = {key: option(key, LayerFolding(1, 1)) for key in space.options}
    best = space.design(current, "greedy")
    if not best.fits(space.board, cap):
        return None
    while True:
        slowest = max(current, key=lambda k: current[k].cycles)
        f = current[slowest].folding
        layer = space.net.layer(slowest[0])
        simds, pes = _divisors(unit_matrix(layer, slowest[1])[1]), _divisors(pe_rows(layer, slowest[1]))
        if f.simd != simds[-1]:
            nxt = LayerFolding(f.pe, simds[simds.index(f.simd) + 1])
        elif f.pe != pes[-1]:
            nxt = LayerFolding(pes[pes.index(f.pe) + 1], f.simd)
        else:
            return best
        trial = dict(current)
        trial[slowest] = option(slowest, nxt)
        design = space.design(trial, "greedy")
        if not design.fits(space.board, cap):
            return best
        current, best = trial, design


def explore(space: Space, cap: float) -> list[Design]:
    """All candidate designs: the cheapest per reachable II under each weighting, plus the greedy one."""
    iis = sorted({o.cycles for opts in space.options.values() for o in opts if o.cycles >= 1} | {space.fixed_ii})
    iis = [ii for ii in iis if ii >= space.fixed_ii] or [space.fixed_ii]
    designs = [space.greedy_design] if getattr(space, "greedy_design", None) is not None else []
    seen = set()
    for w in range(len(WEIGHTINGS)):
        for ii in iis:
            d = space.cheapest_at(ii, w)
            if d is None:
                continue
            key = (tuple(sorted((k, f.pe, f.simd) for k, f in d.units.items())), tuple(sorted(d.storage.items())))
            if key not in seen:
                seen.add(key)
                designs.append(d)
    return designs


@dataclass
class Result:
    front: list[Design]
    chosen: Design
    greedy: Design | None  # None: the greedy baseline's starting point does not fit


def search(space: Space, cap: float = 0.8, target_fps: float | None = None) -> Result:
    smallest = space.smallest()
    if not smallest.fits(space.board, cap):
        raise HiltError(_does_not_fit(space, smallest, cap))
    space.greedy_design = greedy(space, cap)
    candidates = explore(space, cap)
    feasible = [d for d in candidates if d.fits(space.board, cap)]
    front = pareto(feasible)
    if target_fps is not None:
        reaching = [d for d in feasible if d.samples_per_s >= target_fps]
        if not reaching:
            best = max(feasible, key=lambda d: d.samples_per_s)
            raise HiltError(f"--target-fps {target_fps:g}: the fastest design that fits {space.board.name} at "
                            f"{cap:.0%} reaches {best.samples_per_s:,.0f} samples/s")
        chosen = min(reaching, key=lambda d: (space.cost(d.resources, WEIGHTINGS[0]), -d.samples_per_s))
    else:
        chosen = max(feasible, key=lambda d: (d.samples_per_s, -space.cost(d.resources, WEIGHTINGS[0])))
    return Result(front, chosen, space.greedy_design)


def _does_not_fit(space: Space, smallest: Design, cap: float) -> str:
    util = smallest.utilisation(space.board)
    resource = max(util, key=util.get)
    worst_layer, worst = None, -1.0
    for (name, _), opts in space.options.items():
        need = min(o.res[resource] for o in opts)
        if need > worst:
            worst_layer, worst = name, need
    return (f"{space.net.name} does not fit {space.board.name} at {cap:.0%} utilisation even fully folded: it needs "
            f"{smallest.resources[resource]:,.0f} {resource} of {space.board.resources[resource]:,} "
            f"(layer {worst_layer} alone {worst:,.0f}); use the layer-sequential engine (weights in DDR) for this model")
