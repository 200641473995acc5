"""HardwarePlan: per layer, the units that implement it and how each is built.

Every conv/dense layer is a set of matrix-vector units (FINN's MVAU): ``fwd`` (inference and the
training forward pass), and in training ``err`` (error propagation through the transposed matrix; not
for the first weighted layer, whose input needs no error) and ``grad`` (the weight gradient, the forward
matrix's shape). A unit is folded ``pe`` rows by ``simd`` columns, its window generator takes ``ppc``
input pixels per cycle, and its memory (weights, or the gradient unit's 48-bit accumulators) lives in
BRAM, URAM or LUTRAM, or, for a *deferred* dense gradient unit, as a stash in DDR. A dense layer's error
unit is *tied*: it reads the forward unit's weight banks transposed, with pe and simd swapped.

Streams between layers carry ``in_beat`` / ``out_beat`` values per beat (a pixel's channels, or one
value) through FIFOs of ``fifo_depth`` beats; in training each layer keeps a *stash* for its backward
stage (its input, a ReLU mask or pool argmax) in LUTRAM, BRAM, URAM or DDR.

A :class:`Target` says what an implementation builds. ``MODEL`` is the streaming architecture the
performance model describes in full; ``HLS`` is what the generated HLS code implements today (one value
per stream beat, ``ppc`` values per cycle into the first window generator and one elsewhere,
BRAM/LUTRAM chosen by the tool, gradient units unfolded). A search for a target only proposes plans
that target builds, and code generation refuses a plan its target does not build, so every figure the
search prints for ``HLS`` describes code the project emits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import HiltError
from ..ir import Layer, Network
from ..ir.folding import LayerFolding
from ..ops import op_of
from ..quant.formats import ERR_BITS, GRAD_ACC_BITS  # errors travel as 16-bit words, gradients accumulate in 48

UNIT_KINDS = ("fwd", "err", "grad")
STORAGES = ("bram", "uram", "lutram", "deferred", "tied")
STASHES = ("lutram", "bram", "uram", "ddr")
FIFO_DEPTH = 2  # beats between two stages: a ping and a pong


@dataclass(frozen=True)
class Folding(LayerFolding):
    """A unit's folding: pe x simd, and ``ppc``, the input pixels its window generator takes per cycle
    (FINN's parallel-input sliding window; 1 unless the target allows more)."""

    ppc: int = 1


@dataclass(frozen=True)
class Target:
    """What one implementation builds: the stream beat, window generator widths, memories and stash
    placements it offers, and whether gradient units fold."""

    name: str
    beat: str  # "pixel": a pixel's channels per beat; "value": one value per beat
    ppc: tuple[int, ...]
    storages: tuple[str, ...]
    stashes: tuple[str, ...]
    grad_folding: bool
    not_built: str = ""
    memory_plan: bool = False  # its memories are the arrays plan.memory lists (what the generated code declares)  # what the performance model knows and this target does not build (for messages)


MODEL = Target("model", "pixel", (1, 2, 4), ("bram", "uram", "lutram", "deferred"), STASHES, True)
HLS = Target("hls", "value", (1, 2, 4), ("bram", "uram", "lutram", "deferred"), (), False,
             "pixel-wide streams, per-layer stashes (the backward taps are FIFOs), folded gradient units",
             memory_plan=True)
TARGETS = {t.name: t for t in (MODEL, HLS)}


@dataclass(frozen=True)
class UnitPlan:
    kind: str  # "fwd", "err" or "grad"
    pe: int = 1
    simd: int = 1
    ppc: int = 1
    storage: str = "bram"  # its weights or accumulators: bram, uram, lutram; deferred (dense grad); tied (dense err)

    @property
    def folding(self) -> Folding:
        return Folding(self.pe, self.simd, self.ppc)


@dataclass(frozen=True)
class LayerPlan:
    name: str
    op: str
    units: tuple[UnitPlan, ...] = ()
    in_beat: int = 1  # values per beat on the stream into the layer
    out_beat: int = 1
    fifo_depth: int = FIFO_DEPTH
    stash: str | None = None  # training: where its backward stage's stash lives

    def unit(self, kind: str) -> UnitPlan | None:
        return next((u for u in self.units if u.kind == kind), None)


@dataclass(frozen=True)
class HardwarePlan:
    model: str
    target: str
    mode: str  # "infer" or "train"
    bits: int  # operand width
    acc_bits: int  # forward accumulator width
    freq_mhz: float
    board: str
    batch: int
    layers: tuple[LayerPlan, ...] = field(default_factory=tuple)
    err_bits: int = ERR_BITS
    grad_acc_bits: int = GRAD_ACC_BITS

    def layer(self, name: str) -> LayerPlan:
        for lp in self.layers:
            if lp.name == name:
                return lp
        raise KeyError(name)

    def units(self) -> dict[tuple[str, str], Folding]:
        """(layer, unit) -> folding of every searched unit (a tied error unit follows its forward unit)."""
        return {(lp.name, u.kind): u.folding for lp in self.layers for u in lp.units if u.storage != "tied"}

    def storage(self) -> dict[tuple[str, str], str]:
        """(layer, unit) -> memory, and (layer, "stash") -> where a training stash lives."""
        out = {(lp.name, u.kind): u.storage for lp in self.layers for u in lp.units if u.storage != "tied"}
        out.update({(lp.name, "stash"): lp.stash for lp in self.layers if lp.stash})
        return out

    def deferred(self) -> frozenset:
        return frozenset(lp.name for lp in self.layers if (u := lp.unit("grad")) and u.storage == "deferred")

    def folding(self) -> dict[str, LayerFolding]:
        """The forward units' pe x simd (what a plain folding file holds)."""
        return {lp.name: LayerFolding(u.pe, u.simd) for lp in self.layers if (u := lp.unit("fwd"))}

    def unbuilt(self, target: Target) -> list[str]:
        """What in this plan ``target`` does not build (empty: it builds all of it)."""
        out = []
        if TARGETS[self.target].beat != target.beat:
            out.append(f"{self.target} plans stream {TARGETS[self.target].beat}s, {target.name} streams {target.beat}s")
        for lp in self.layers:
            for u in lp.units:
                if u.ppc not in target.ppc:
                    out.append(f"{lp.name}.{u.kind}: ppc={u.ppc}")
                if u.storage not in target.storages + ("tied",):
                    out.append(f"{lp.name}.{u.kind}: {u.storage} memory")
                if u.kind == "grad" and not target.grad_folding and (u.pe, u.simd) != (1, 1):
                    out.append(f"{lp.name}.grad: pe={u.pe} simd={u.simd}")
            if lp.stash and lp.stash not in target.stashes:
                out.append(f"{lp.name}: stash in {lp.stash}")
        return out

    def to_json(self) -> dict:
        d = asdict(self)
        d["layers"] = [{**{k: v for k, v in asdict(lp).items() if k != "units"},
                        "units": {u.kind: {k: v for k, v in asdict(u).items() if k != "kind"} for u in lp.units}}
                       for lp in self.layers]
        return d

    @classmethod
    def from_json(cls, obj: dict) -> "HardwarePlan":
        layers = tuple(LayerPlan(**{**{k: v for k, v in lp.items() if k != "units"},
                                    "units": tuple(UnitPlan(kind, **spec) for kind, spec in lp["units"].items())})
                       for lp in obj["layers"])
        return cls(**{**obj, "layers": layers})


def unit_matrix(layer: Layer, unit: str) -> tuple[int, int]:
    """(rows, cols) of a unit's matrix; pe must divide rows (per group for convs), simd cols."""
    w = layer.params["weight"]
    if not op_of(layer).windowed:  # dense
        return (w.shape[1], w.shape[0]) if unit == "err" else (w.shape[0], w.shape[1])
    o, cg, kh, kw = w.shape
    groups = int(layer.attrs.get("groups", 1))
    if unit == "err":
        return cg * groups, (o // groups) * kh * kw
    return o, cg * kh * kw


def pe_rows(layer: Layer, unit: str) -> int:
    """The count pe must divide: a PE never straddles two groups."""
    rows, _ = unit_matrix(layer, unit)
    return rows // int(layer.attrs.get("groups", 1)) if op_of(layer).windowed else rows


def tied_error(layer: Layer, first: bool, mode: str) -> bool:
    """A dense layer's error unit reads the forward unit's weight banks transposed: with the folding
    (pe, simd) swapped, each bank supplies exactly the pe x simd block the transposed product needs, so
    it shares the memory and the cycle count and is not searched separately."""
    return mode == "train" and not first and not op_of(layer).windowed


def unit_kinds(net: Network, mode: str) -> list[tuple[str, str]]:
    """(layer, unit) pairs a design chooses (a tied dense error unit rides with its forward unit)."""
    out = []
    for i, layer in enumerate(net.weighted_layers()):
        out.append((layer.name, "fwd"))
        if mode == "train":
            if i > 0 and op_of(layer).windowed:  # a conv's error unit has a matrix of its own
                out.append((layer.name, "err"))
            out.append((layer.name, "grad"))
    return out


def _beat(shape, target: Target) -> int:
    return int(shape[0]) if target.beat == "pixel" and len(shape) == 3 else 1


def make_plan(net: Network, units: dict[tuple[str, str], LayerFolding], storage: dict[tuple[str, str], str] | None = None,
              *, target: Target = HLS, mode: str = "infer", bits: int = 8, acc_bits: int = 32,
              freq_mhz: float = 200.0, board: str = "generic", batch: int = 1) -> HardwarePlan:
    """The plan of ``net`` with the given unit foldings and memories (missing units: 1 x 1 in BRAM)."""
    storage = storage or {}
    weighted = net.weighted_layers()
    first = weighted[0].name if weighted else None
    layers = []
    for layer in net.layers:
        plans = []
        for name, kind in unit_kinds(net, mode):
            if name == layer.name:
                f = units.get((name, kind), LayerFolding())
                plans.append(UnitPlan(kind, f.pe, f.simd, getattr(f, "ppc", 1), storage.get((name, kind), "bram")))
        if layer.weighted and tied_error(layer, layer.name == first, mode):
            fwd = plans[0]
            plans.insert(1, UnitPlan("err", fwd.simd, fwd.pe, 1, "tied"))
        layers.append(LayerPlan(layer.name, layer.op, tuple(plans), _beat(layer.in_shape, target),
                                _beat(layer.out_shape, target), FIFO_DEPTH, storage.get((layer.name, "stash"))))
    return HardwarePlan(net.name, target.name, mode, bits, acc_bits, float(freq_mhz), board, batch, tuple(layers))


def default_plan(net: Network, folding: dict[str, LayerFolding] | None = None, **kw) -> HardwarePlan:
    """The plan with the given forward folding (default 1 x 1 everywhere), everything else 1 x 1 in BRAM."""
    return make_plan(net, {(n, "fwd"): f for n, f in (folding or {}).items()}, **kw)


def check_plan(net: Network, plan: HardwarePlan) -> None:
    """Every unit of ``plan`` fits its layer: names match, pe divides the rows (per group), simd the columns."""
    names = [l.name for l in net.layers]
    if [lp.name for lp in plan.layers] != names:
        raise HiltError(f"the plan describes layers {[lp.name for lp in plan.layers]}, the model has {names}")
    for lp in plan.layers:
        layer = net.layer(lp.name)
        if lp.units and not layer.weighted:
            raise HiltError(f"plan of {lp.name}: a {layer.op} layer has no matrix units, the plan gives it "
                            f"{', '.join(u.kind for u in lp.units)}")
        for u in lp.units:
            rows, cols = unit_matrix(layer, u.kind)
            if rows // int(layer.attrs.get("groups", 1)) % u.pe or cols % u.simd:
                raise HiltError(f"plan of {lp.name}.{u.kind}: pe={u.pe} must divide {pe_rows(layer, u.kind)} and "
                                f"simd={u.simd} must divide {cols}")


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_fields(plan: HardwarePlan) -> None:
    """Every field of a plan read from a file has a type and value the stages can use (one HiltError line
    naming the field), before anything divides by a pe or looks up a target."""
    def bad(where: str, value, want: str):
        raise HiltError(f"plan {where} is {value!r:.60}; give {want}")

    if plan.target not in TARGETS:
        bad("target", plan.target, " or ".join(TARGETS))
    if plan.mode not in ("infer", "train"):
        bad("mode", plan.mode, "infer or train")
    for key in ("bits", "acc_bits", "batch", "err_bits", "grad_acc_bits"):
        if not _positive_int(getattr(plan, key)):
            bad(key, getattr(plan, key), "a positive integer")
    if isinstance(plan.freq_mhz, bool) or not isinstance(plan.freq_mhz, (int, float)) or not 0 < plan.freq_mhz <= 10_000:
        bad("freq_mhz", plan.freq_mhz, "a clock in MHz")
    for lp in plan.layers:
        if not isinstance(lp.name, str):
            bad("layer name", lp.name, "a layer name of the model")
        for key in ("in_beat", "out_beat", "fifo_depth"):
            if not _positive_int(getattr(lp, key)):
                bad(f"{lp.name}.{key}", getattr(lp, key), "a positive integer")
        if lp.stash is not None and lp.stash not in STASHES:
            bad(f"{lp.name}.stash", lp.stash, "one of " + ", ".join(STASHES))
        for u in lp.units:
            if u.kind not in UNIT_KINDS:
                bad(f"{lp.name} unit", u.kind, "one of " + ", ".join(UNIT_KINDS))
            for key in ("pe", "simd", "ppc"):
                if not _positive_int(getattr(u, key)):
                    bad(f"{lp.name}.{u.kind}.{key}", getattr(u, key), "a positive integer")
            if u.storage not in STORAGES:
                bad(f"{lp.name}.{u.kind}.storage", u.storage, "one of " + ", ".join(STORAGES))


def parse_plan(obj: dict, net: Network, **defaults) -> HardwarePlan:
    """A plan from parsed JSON: a plan, a ``hilt dse`` report (its ``chosen.plan``), or a plain folding
    mapping ``{layer: {pe, simd}}`` (everything else from ``defaults``, see ``make_plan``)."""
    from ..ir.folding import parse_folding

    if isinstance(obj.get("chosen"), dict) and "plan" in obj["chosen"]:
        obj = obj["chosen"]["plan"]
    if not isinstance(obj, dict):
        raise HiltError(f"the report's chosen plan is {type(obj).__name__}, not a JSON object of a hardware plan")
    if "layers" in obj and "target" in obj:
        try:
            plan = HardwarePlan.from_json(obj)
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            raise HiltError(f"not a hardware plan ({e})") from None
        check_fields(plan)
        check_plan(net, plan)
        return plan
    return default_plan(net, parse_folding(obj, net), **defaults)


def load_plan(path: str | Path, net: Network, **defaults) -> HardwarePlan:
    from ..ir.folding import read_json_object

    return parse_plan(read_json_object(path, "plan or folding", "a plan, a `hilt dse` report or layer -> {pe, simd}"),
                      net, **defaults)
