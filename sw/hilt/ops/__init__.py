"""Op kinds, one module each: everything hilt knows about an op in one place.

Each module holds one :class:`~hilt.ops.base.Op` (``OP``): its output shape and MACs, float forward and
backward (the reference), integer forward and error (the golden model), its HLS config fields and
kernel calls, its stash for the backward pass, and the facts every stage asks (weighted, windowed, a
fixed-rate pipeline stage, integer backward in the golden model, a BP kernel in the generated HLS).
Stages dispatch through ``op_of(layer)``; the lists below are derived from the modules, never typed.
"""

from __future__ import annotations

from . import avgpool, conv, dense, flatten, lrn, maxpool, relu, softmax
from .base import Op

REGISTRY: dict[str, Op] = {m.OP.name: m.OP for m in (conv, dense, relu, maxpool, avgpool, lrn, flatten, softmax)}
OPS = tuple(REGISTRY)
WEIGHTED_OPS = tuple(n for n, kind in REGISTRY.items() if kind.weighted)
FIXED_OPS = tuple(n for n, kind in REGISTRY.items() if kind.fixed_stage)
INT_BACKWARD_OPS = tuple(n for n, kind in REGISTRY.items() if kind.int_backward)
HLS_BACKWARD_OPS = tuple(n for n, kind in REGISTRY.items() if kind.hls_backward)


def op_of(layer) -> Op:
    """The op module of a layer (or of an op name)."""
    name = layer if isinstance(layer, str) else layer.op
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown op {name}") from None


__all__ = ["Op", "REGISTRY", "OPS", "WEIGHTED_OPS", "FIXED_OPS", "INT_BACKWARD_OPS", "HLS_BACKWARD_OPS", "op_of"]
