"""Multi-objective search of per-layer folding and weight storage, and a FINN-style greedy baseline.

The pipeline's throughput is set by its slowest stage, so for a target initiation interval II every
unit can be chosen independently: the cheapest (pe, simd, storage) whose cycles fit II. Sweeping II
over every cycle count any unit can reach, for several weightings of DSP / BRAM / URAM / LUT (each
normalised by the board's amount), gives designs that are each the cheapest at their II under that
weighting. A design that overruns the cap is repaired by raising the weights of the resources it
overruns and choosing again. The non-dominated feasible designs (samples/s up; DSP, BRAM18, URAM, LUT
down) form the Pareto front. In training, a deferred gradient unit whose ``batch * fold`` hides behind
the gradient read-out costs no time and fits any II; a slower one is held to ``fold <= II``; the front
is filtered on the exact batched throughput. The greedy baseline is a candidate too, so the search
never returns a design worse than it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import HiltError
from ..ir import Network
from ..ir.folding import LayerFolding
from ..plan import MODEL, HardwarePlan, Target, make_plan
from ..quant.formats import ACC_BITS
from .boards import RESOURCES, Board
from .perf import (GRAD_OUT_BYTES, Performance, UnitFolding, fold, macs_per_sample, pe_rows, physical_limit,
                   plan_performance, ppc_choices, stages, tied_error, transfer_cycles, unit_cycles, unit_matrix,
                   units_of)
from .resources import (Coefficients, fixed_resources, stash_bits, stash_choices, stash_cost, stashes,
                        storage_choices, unit_dsp, unit_resources)

OBJECTIVES = ("dsp", "bram18", "uram", "lut")
WEIGHTINGS = ({"dsp": 1, "bram18": 1, "uram": 1, "lut": 1, "ff": 0.2},  # balanced
              {"dsp": 1, "bram18": 0.2, "uram": 0.2, "lut": 0.2, "ff": 0.05},  # save DSPs
              {"dsp": 0.2, "bram18": 1, "uram": 1, "lut": 0.2, "ff": 0.05},  # save memory
              {"dsp": 0.2, "bram18": 0.2, "uram": 0.2, "lut": 1, "ff": 0.2})  # save logic
BALANCED = WEIGHTINGS[0]
REPAIR_STEPS = 16
URAM_BRAM18 = 16  # a URAM (288 Kbit) holds the bits of 16 BRAM18


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass
class Design:
    plan: HardwarePlan  # what it is: every unit's folding and memory, the streams, the stashes
    perf: Performance  # what the performance model makes of the plan
    resources: dict[str, float]
    macs: int  # per sample, in the design's mode
    peak_macs_per_cycle: float  # what the DSPs it uses can do
    limit_macs_per_s: float  # the board's physical limit for this MAC mix
    origin: str = "search"

    @property
    def samples_per_s(self) -> float:
        return self.perf.samples_per_s

    @property
    def units(self) -> dict[tuple[str, str], LayerFolding]:
        """(layer, "fwd" | "err" | "grad") -> folding, read from the plan."""
        return self.plan.units()

    @property
    def storage(self) -> dict[tuple[str, str], str]:
        return self.plan.storage()

    @property
    def folding(self) -> dict[str, LayerFolding]:
        """The forward units' folding: what a plain folding file holds."""
        return self.plan.folding()

    @property
    def macs_per_s(self) -> float:
        return self.samples_per_s * self.macs

    @property
    def dsp_efficiency(self) -> float:
        """Achieved MAC rate over the peak of the DSPs the design uses."""
        return self.macs_per_s / max(1.0, self.peak_macs_per_cycle * self.perf.freq_mhz * 1e6)

    @property
    def board_efficiency(self) -> float:
        """Achieved MAC rate over the board's physical limit (all DSPs x f x MACs per DSP)."""
        return self.macs_per_s / self.limit_macs_per_s

    def utilisation(self, board: Board) -> dict[str, float]:
        return {r: (self.resources[r] / board.resources[r] if board.resources[r] else
                    (0.0 if self.resources[r] == 0 else math.inf)) for r in RESOURCES}

    def fits(self, board: Board, cap: float) -> bool:
        return all(u <= cap for u in self.utilisation(board).values())


@dataclass
class _Option:
    folding: LayerFolding | None  # None: a stash, which has a placement but no folding
    storage: str
    cycles: int  # what must fit II (a deferred gradient: 0 when hidden behind the read-out, else its fold)
    res: dict[str, float] = field(default_factory=dict)
    peak: float = 0.0  # MACs per cycle its DSPs can do
    ddr_bytes: float = 0.0  # per sample (a stash in DDR: written and read back)


class Space:
    """Every unit's options (pe x simd x storage), evaluated once for a model, board, clock and mode."""

    def __init__(self, net: Network, board: Board, freq_mhz: float, mode: str = "infer", bits: int = 8,
                 coef: Coefficients | None = None, batch: int = 32, target: Target = MODEL):
        if not net.weighted_layers():
            raise HiltError(f"{net.name} has no conv/dense layer: there is nothing to fold")
        self.net, self.board, self.freq, self.mode, self.bits, self.batch = net, board, freq_mhz, mode, bits, batch
        self.target = target
        self.coef = coef or Coefficients()
        self.bytes_per_cycle = board.bytes_per_cycle(freq_mhz)
        self.ddr_bytes_per_cycle = board.ddr_bytes_per_cycle(freq_mhz)
        self.fixed = fixed_resources(net, board, mode, bits, self.coef, target)
        self.limit = physical_limit(net, board, freq_mhz, mode, bits)
        self.input_bytes = math.prod(net.input_shape) * bits / 8  # the input DMA, per sample
        self.fixed_ii = max([s.cycles for s in stages(net, {}, mode, beat=target.beat)
                             if s.unit not in ("fwd", "err", "grad")] +
                            [transfer_cycles(self.input_bytes, self.bytes_per_cycle)])
        self.options: dict[tuple[str, str], list[_Option]] = {}
        first = net.weighted_layers()[0].name
        for name, unit in units_of(net, mode):
            self.options[(name, unit)] = self._unit_options(net.layer(name), unit, name == first)
        if mode == "train" and target.stashes:  # where each layer's stash for the backward pass lives
            per_sample = stash_bits(net, bits)
            for name, total in stashes(net, bits).items():
                self.options[(name, "stash")] = [
                    _Option(None, where, 0, stash_cost(total, where, self.coef),
                            ddr_bytes=2 * per_sample[name] / 8 if where == "ddr" else 0.0)
                    for where in stash_choices(total, board) if where in target.stashes]
        self._cycles = {k: np.array([o.cycles for o in opts]) for k, opts in self.options.items()}
        # the strict policy keeps only deferred gradients that cost no time
        self._strict = {k: np.array([math.inf if o.storage == "deferred" and o.cycles > 0 else o.cycles for o in opts])
                        for k, opts in self.options.items()}
        self._share = {k: np.array([self.shares(o.res) for o in opts]) for k, opts in self.options.items()}
        self._ddr = {k: np.array([o.ddr_bytes for o in opts]) for k, opts in self.options.items()}
        self._fixed_share = self.shares(self.fixed)
        self.board_memory = board.resources["bram18"] + URAM_BRAM18 * board.resources["uram"]
        self._memory = {k: np.array([o.res["bram18"] + URAM_BRAM18 * o.res["uram"] for o in opts])
                        for k, opts in self.options.items()}
        self._fixed_memory = self.fixed["bram18"] + URAM_BRAM18 * self.fixed["uram"]
        self._designs: dict[tuple, Design] = {}

    def _unit_options(self, layer, unit: str, first: bool) -> list[_Option]:
        """Every (pe, simd, storage) of one unit with its cycles and resources."""
        tied = unit == "fwd" and tied_error(layer, first, self.mode)
        opts = []
        t = self.target
        ppcs = [p for p in ppc_choices(layer, unit, layer is self.net.layers[0], t.beat) if p in t.ppc]
        fixed = unit == "grad" and not t.grad_folding
        for pe, simd, ppc in itertools.product([1] if fixed else _divisors(pe_rows(layer, unit)),
                                               [1] if fixed else _divisors(unit_matrix(layer, unit)[1]), ppcs):
            f = UnitFolding(pe, simd, ppc)
            peak = unit_dsp(unit, f, self.board, self.bits, tied)[1]
            for storage in [s for s in storage_choices(layer, unit, f, self.bits, self.board) if s in t.storages]:
                if storage == "deferred":  # free when it forms its gradient as fast as the DMA takes it
                    n = fold(layer, f, unit)
                    readout = transfer_cycles(layer.param_count * GRAD_OUT_BYTES, self.bytes_per_cycle)
                    cycles = 0 if self.batch * n <= readout else n
                else:
                    cycles = unit_cycles(layer, f, unit, t.beat)
                res = unit_resources(layer, unit, f, storage, self.board, self.mode, self.bits, self.coef, tied,
                                     self.batch, t)
                opts.append(_Option(f, storage, cycles, res, peak))
        return opts

    def shares(self, res: dict[str, float]) -> np.ndarray:
        """Resources as shares of the board's (a resource the board lacks is prohibitive)."""
        return np.array([res[r] / self.board.resources[r] if self.board.resources[r] else 1e9 * res[r]
                         for r in RESOURCES])

    def cost(self, res: dict[str, float], weights: dict[str, float] = BALANCED) -> float:
        return float(self.shares(res) @ np.array([weights[r] for r in RESOURCES]))

    def design(self, choice: dict[tuple[str, str], _Option], origin: str = "search") -> Design:
        key = tuple(id(o) for o in choice.values())
        if origin == "search" and key in self._designs:
            return self._designs[key]
        res = dict(self.fixed)
        for o in choice.values():
            for r in RESOURCES:
                res[r] += o.res[r]
        plan = self.plan({k: o.folding for k, o in choice.items() if o.folding is not None},
                         {k: o.storage for k, o in choice.items()})
        perf = self.performance(plan, sum(o.ddr_bytes for o in choice.values()))
        d = Design(plan, perf, res,
                   macs_per_sample(self.net, self.mode), sum(o.peak for o in choice.values()) + self.fixed["dsp"],
                   self.limit, origin)
        if origin == "search":
            self._designs[key] = d
        return d

    def performance(self, plan: HardwarePlan, ddr_bytes: float = 0.0) -> Performance:
        """What the performance model makes of ``plan`` on this board: a sample's DDR traffic (its input,
        and ``ddr_bytes`` of stashes kept in DDR) bounds II at the DMA's rate."""
        stream = self.input_bytes + ddr_bytes
        return plan_performance(self.net, plan, transfer_cycles(stream, self.bytes_per_cycle), self.bytes_per_cycle,
                                self.ddr_bytes_per_cycle, stream)

    def plan(self, units: dict[tuple[str, str], LayerFolding], storage: dict[tuple[str, str], str]) -> HardwarePlan:
        """The hardware plan of a choice of unit foldings and memories in this space."""
        return make_plan(self.net, units, storage, target=self.target, mode=self.mode, bits=self.bits,
                         acc_bits=ACC_BITS[self.bits], freq_mhz=self.freq, board=self.board.key, batch=self.batch)

    def pick(self, ii: int, weights: np.ndarray, ddr_weight: float = 1.0,
             strict: bool = False) -> dict[tuple[str, str], _Option] | None:
        """Per unit, the option within ``ii`` cycles of least weighted share (DDR traffic counted as a
        share of what the DMA moves in ``ii`` cycles); None if a unit cannot make ``ii``. ``strict``
        leaves out deferred gradients slower than their own gradient read-out."""
        budget = ii * self.bytes_per_cycle
        cycles = self._strict if strict else self._cycles
        choice = {}
        for key, opts in self.options.items():
            ok = cycles[key] <= ii
            if not ok.any():
                return None
            score = np.where(ok, self._share[key] @ weights + ddr_weight * self._ddr[key] / budget, np.inf)
            choice[key] = opts[int(np.argmin(score))]
        return choice

    def lower_bound(self, ii: int) -> np.ndarray:
        """Per resource, the least share any design within ``ii`` needs (each resource on its own), and
        last the least share of the board's block memory (BRAM18 + URAM, a URAM holding 16 BRAM18's
        bits), which a design cannot dodge by moving memories from BRAM to URAM. If one exceeds the
        cap, no design at this II or faster fits."""
        shares = [self._fixed_share]
        memory = [self._fixed_memory]
        for key in self.options:
            ok = self._cycles[key] <= ii
            if not ok.any():
                return np.full(len(RESOURCES) + 1, np.inf)
            shares.append(self._share[key][ok].min(axis=0))
            memory.append(self._memory[key][ok].min())
        return np.append(np.sum(shares, axis=0), sum(memory) / self.board_memory)

    def fitted(self, ii: int, weights: dict[str, float], cap: float, strict: bool = False) -> Design | None:
        """The cheapest design within ``ii`` under ``weights``; while it overruns the cap (or its DDR
        traffic the DMA's share of ``ii``), every weight is scaled by its use over the limit
        (multiplicative weights: overrun ones grow, idle ones shrink) and it is chosen again. Returns the
        first design within all limits, else the closest (board fit first: DDR overrun only slows)."""
        w = np.array([weights[r] for r in RESOURCES], dtype=float)
        ddr_w = 1.0
        best, best_key = None, (math.inf, math.inf)
        for _ in range(REPAIR_STEPS):
            choice = self.pick(ii, w, ddr_w, strict)
            if choice is None:
                return None
            design = self.design(choice)
            u = self.shares(design.resources) / cap
            u_ddr = (self.input_bytes + sum(o.ddr_bytes for o in choice.values())) / (ii * self.bytes_per_cycle)
            if u.max() <= 1 and u_ddr <= 1:
                return design
            key = (max(u.max(), 1.0), u_ddr)
            if key < best_key:
                best, best_key = design, key
            w *= np.clip(u, 0.5, 4.0)
            ddr_w *= min(max(u_ddr, 0.5), 4.0)
        return best

    def largest_ii(self) -> int:
        return max([int(c.max()) for c in self._cycles.values()] + [self.fixed_ii])

    def smallest(self, cap: float = 1.0) -> Design:
        """A design at the slowest II, repaired towards ``cap``: the best attempt at fitting at all."""
        return self.fitted(self.largest_ii(), BALANCED, cap)

    def reachable_iis(self) -> list[int]:
        iis = sorted({int(c) for cs in self._cycles.values() for c in cs} | {self.fixed_ii})
        return [ii for ii in iis if ii >= self.fixed_ii]


def dominates(a: Design, b: Design) -> bool:
    """a is at least as fast with no more of any resource, and strictly better in one."""
    ge = a.samples_per_s >= b.samples_per_s and all(a.resources[r] <= b.resources[r] for r in OBJECTIVES)
    gt = a.samples_per_s > b.samples_per_s or any(a.resources[r] < b.resources[r] for r in OBJECTIVES)
    return ge and gt


def pareto(designs: list[Design]) -> list[Design]:
    """Non-dominated designs, fastest first, one per distinct (throughput, resources) point."""
    ordered = sorted(designs, key=lambda d: (-d.samples_per_s, [d.resources[r] for r in OBJECTIVES]))
    front: list[Design] = []
    for d in ordered:  # anything that dominates d is at least as fast, so it is already in front
        if not any(dominates(o, d) or _same_point(o, d) for o in front):
            front.append(d)
    return front


def _same_point(a: Design, b: Design) -> bool:
    return math.isclose(a.samples_per_s, b.samples_per_s) and all(a.resources[r] == b.resources[r]
                                                                  for r in OBJECTIVES)


def greedy(space: Space, cap: float) -> Design | None:
    """FINN SetFolding-like: raise the slowest unit's parallelism (simd first, then pe) step by step
    while the design still fits; stop when the slowest unit cannot grow or the budget is spent. Memories
    stay on chip as FINN keeps them (deferred gradients and stashes in DDR only if nothing fits
    otherwise), and window generators take one pixel per cycle. None when even the all-1x1 start does
    not fit."""
    for allow_deferred in (False, True):
        design = _greedy(space, cap, allow_deferred)
        if design is not None:
            return design
    return None


def _greedy(space: Space, cap: float, allow_deferred: bool) -> Design | None:
    def option(key, f):
        opts = [o for o in space.options[key] if o.folding in (f, None) and
                (allow_deferred or o.storage not in ("deferred", "ddr"))]
        return min(opts, key=lambda o: space.cost(o.res))

    current = {key: option(key, UnitFolding(1, 1)) for key in space.options}
    best = space.design(current, "greedy")
    if not best.fits(space.board, cap):
        return None
    while True:
        slowest = max((k for k in current if k[1] != "stash"), key=lambda k: current[k].cycles)
        f = current[slowest].folding
        layer = space.net.layer(slowest[0])
        simds, pes = _divisors(unit_matrix(layer, slowest[1])[1]), _divisors(pe_rows(layer, slowest[1]))
        if f.simd != simds[-1]:
            nxt = UnitFolding(f.pe, simds[simds.index(f.simd) + 1])
        elif f.pe != pes[-1]:
            nxt = UnitFolding(pes[pes.index(f.pe) + 1], f.simd)
        else:
            return best
        if not any(o.folding == nxt for o in space.options[slowest]):  # the target does not fold this unit
            return best
        trial = dict(current)
        trial[slowest] = option(slowest, nxt)
        design = space.design(trial, "greedy")
        if not design.fits(space.board, cap):
            return best
        current, best = trial, design


def explore(space: Space, cap: float) -> list[Design]:
    """Candidate designs: the cheapest (repaired to fit) at every reachable II under each weighting,
    from the slowest II to the fastest one the per-resource lower bound still allows; in training
    once with every deferred gradient allowed and once with only those that cost no time."""
    designs = {}
    for ii in reversed(space.reachable_iis()):
        if (space.lower_bound(ii) > cap).any():
            break
        for weights in WEIGHTINGS:
            for strict in ((False, True) if space.mode == "train" else (False,)):
                d = space.fitted(ii, weights, cap, strict)
                if d is not None:
                    designs[id(d)] = d
    return list(designs.values())


@dataclass
class Result:
    front: list[Design]
    chosen: Design
    greedy: Design | None  # None: the greedy baseline's starting point does not fit


def search(space: Space, cap: float = 0.8, target_fps: float | None = None) -> Result:
    """The Pareto front of designs within ``cap`` of every resource, and the chosen one: the fastest, or
    the cheapest (balanced weighting) that reaches ``target_fps``."""
    smallest = space.smallest(cap)
    if not smallest.fits(space.board, cap):
        raise HiltError(does_not_fit(space, cap))
    base = greedy(space, cap)
    feasible = [d for d in explore(space, cap) + ([base] if base else []) + [smallest] if d.fits(space.board, cap)]
    front = pareto(feasible)
    if target_fps is not None:
        reaching = [d for d in front if d.samples_per_s >= target_fps]
        if not reaching:
            raise HiltError(f"--target-fps {target_fps:g}: the fastest design that fits {space.board.name} at "
                            f"{cap:.0%} reaches {front[0].samples_per_s:,.0f} samples/s; lower the target or "
                            f"raise --cap or --freq")
        chosen = min(reaching, key=lambda d: (space.cost(d.resources), -d.samples_per_s))
    else:
        chosen = max(front, key=lambda d: (d.samples_per_s, -space.cost(d.resources)))
    return Result(front, chosen, base)


def does_not_fit(space: Space, cap: float) -> str:
    """One line: the resource that overruns the cap (by the lower bound when even that does) and the
    unit needing most of it."""
    bound = space.lower_bound(space.largest_ii())
    if bound[-1] > cap and not (bound[:-1] > cap).any():  # block memory as a whole, not one kind of it
        worst = max(space.options, key=lambda k: space._memory[k].min())
        have = space.board_memory * 18 / 1024
        need, alone = bound[-1] * have, space._memory[worst].min() * 18 / 1024
        what = (f"at least {need:,.1f} Mbit of block memory (BRAM18 + URAM) of {have:,.1f} (cap {cap * have:,.1f}; "
                f"layer {worst[0]} alone {alone:,.1f})")
    else:
        if (bound[:-1] > cap).any():
            i = int(np.argmax(bound[:-1]))
            need, how = bound[i], "at least"
        else:  # each resource alone fits, but the repair found no combination that fits them all
            u = space.shares(space.smallest(cap).resources)
            i = int(np.argmax(u))
            need, how = u[i], "(found no combination within the cap; the closest)"
        resource, have = RESOURCES[i], space.board.resources[RESOURCES[i]]
        worst = max(space.options, key=lambda k: space._share[k][:, i].min())
        alone = space._share[worst][:, i].min() * have
        what = f"{how} {need * have:,.0f} {resource} of {have:,} (cap {cap * have:,.0f}; layer {worst[0]} alone {alone:,.0f})"
    return (f"{space.net.name} does not fit {space.board.name} at {cap:.0%} utilisation even fully folded: it needs "
            f"{what}; use the layer-sequential engine (weights in DDR) for this model")
