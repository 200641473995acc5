"""Reachable cycles per sample of each pipeline stage, from the counting C-sim's loop iterations.

``codegen.csim.run(..., trips={})`` counts every pipelined loop iteration of the generated kernels per
layer struct and loop kind (trips.h). At II = 1 each iteration is a cycle; loops that follow each other
in one process add up, the processes of a dataflow region overlap (the slowest counts). A conv or dense
unit is three processes (layers.h ``conv`` / ``dense``): the window generator (``slide`` steps, each
reading a group of the next row and emitting one window beat) or the vector gatherer (``stream``
reads), the MVAU (``compute``), the output serializer (``out``); a gradient unit two (generator or
gatherer, then ``grad``); a pool one (its generator). Compared with ``hilt.dse.perf.stages`` by
``benchmarks/ii_table.py`` and tests/test_plan.py.
"""

from __future__ import annotations

from .project import c_name

FORWARD_KINDS = ("stream", "window", "compute", "out")


def _sum(trips: dict, struct: str, kinds) -> tuple[int, list[str]]:
    """Loops of one process, one after the other: their total, and each as "kind count"."""
    parts = [(k, trips.get((struct, k), 0)) for k in kinds]
    parts = [(k, n) for k, n in parts if n]
    return sum(n for _, n in parts), [f"{k} {n:,}" for k, n in parts]


def _unit(trips: dict, struct: str) -> tuple[int, str]:
    """A conv or dense unit: three concurrent processes (layers.h conv / dense): the window generator or
    vector gatherer, the MVAU's fold loop, the output serializer; the slowest sets the unit's cycles."""
    gen, what = _generator(trips, struct)
    compute, out = trips.get((struct, "compute"), 0), trips.get((struct, "out"), 0)
    return max(gen, compute, out), f"max({what} {gen:,}; compute {compute:,}; out {out:,})"


def _generator(trips: dict, struct: str) -> tuple[int, str]:
    """A window generator's loop steps (each reads a group of a row and emits a beat: ``slide``), or a
    gatherer's reads (``stream``)."""
    if (struct, "slide") in trips:
        return trips[(struct, "slide")], "generator"
    return trips.get((struct, "stream"), 0), "gather"


def reachable(net, stage, fwd: dict, bwd: dict) -> tuple[int | None, str]:
    """(cycles per sample the generated loops need at II = 1, how they add up) of one model stage;
    None where the generated kernel has no counted loop (a pool's backward is not pipelined, a deferred
    gradient is formed at the batch boundary)."""
    layer = next(l for l in net.layers if l.name == stage.layer)
    n = c_name(layer.name)
    if stage.unit == "fwd":
        return _unit(fwd, f"{n}_p")
    if stage.unit == layer.op:  # pools: the generator's steps; LRN, an unfused ReLU: loops one after the other
        if (f"{n}_p", "slide") in fwd:
            return fwd[(f"{n}_p", "slide")], f"generator {fwd[(f'{n}_p', 'slide')]:,}"
        total, parts = _sum(fwd, f"{n}_p", FORWARD_KINDS)
        return (total or None), " + ".join(parts)
    if stage.unit == "err":
        cycles, how = _unit(bwd, f"{n}_e_p" if layer.op == "conv" else f"{n}_t_p")
        if layer.op == "conv":  # zero insertion is a process of its own, concurrent with the conv
            z, _ = _sum(bwd, f"{n}_z_p", ("stream", "out"))
            return max(cycles, z), f"{how}; zero insertion {z:,}"
        return cycles, how
    if stage.unit == "grad":  # a conv's: window generator and one (o, k) a cycle, concurrent; a dense
        # layer's: its input vector, then one (o, k) a cycle, in one process
        gen, what = _generator(bwd, f"{n}_p")
        grad = bwd.get((f"{n}_p", "grad"), 0)
        if gen == 0 and grad == 0:  # a deferred gradient: stashed per sample, formed at the batch boundary
            return None, "deferred (formed at the batch boundary)"
        if what == "gather":
            return gen + grad, f"stream {gen:,} + grad {grad:,}"
        return max(gen, grad), f"max({what} {gen:,}; grad {grad:,})"
    return None, "not counted"


