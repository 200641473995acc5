"""Folding: how much hardware parallelism each weighted layer gets.

Every conv/dense layer is a matrix-vector unit over a weight matrix of ``rows`` output channels and
``cols`` inputs per output (``in_channels/groups * kh * kw`` for a conv, the input length for a
dense layer), as in FINN's MVAU. ``pe`` output channels are computed in parallel, each consuming
``simd`` inputs per cycle, so one output pixel takes ``(rows / pe) * (cols / simd)`` cycles.

``pe`` must divide the output channels of one group (a PE never straddles two groups) and ``simd``
must divide ``cols``. The design-space exploration chooses foldings; code generation consumes them.
A folding file is JSON, either ``{"layer": {"pe": P, "simd": S}, ...}`` or a ``hilt dse`` report
whose ``chosen.folding`` holds that mapping.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import HiltError
from .graph import Layer, Network


@dataclass(frozen=True)
class LayerFolding:
    pe: int = 1
    simd: int = 1


def matrix_shape(layer: Layer) -> tuple[int, int]:
    """(rows, cols) of the layer's weight matrix as the matrix-vector unit sees it."""
    if not layer.weighted:
        raise ValueError(f"layer {layer.name}: {layer.op} has no weight matrix")
    w = layer.params["weight"]  # conv (O, C/G, kh, kw), dense (out, in): one row per output
    return w.shape[0], int(np.prod(w.shape[1:]))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def pe_choices(layer: Layer) -> list[int]:
    rows, _ = matrix_shape(layer)
    return _divisors(rows // int(layer.attrs.get("groups", 1)))


def simd_choices(layer: Layer) -> list[int]:
    return _divisors(matrix_shape(layer)[1])


def cycles_per_pixel(layer: Layer, folding: LayerFolding) -> int:
    rows, cols = matrix_shape(layer)
    return (rows // folding.pe) * (cols // folding.simd)


def default_folding(net: Network) -> dict[str, LayerFolding]:
    """The smallest valid design: one PE, one SIMD lane per layer."""
    return {layer.name: LayerFolding() for layer in net.weighted_layers()}


def check_folding(net: Network, folding: dict[str, LayerFolding]) -> None:
    names = {layer.name for layer in net.weighted_layers()}
    for name in folding:
        if name not in names:
            raise HiltError(f"folding names layer {name!r}, which is not a conv/dense layer of {net.name} "
                            f"(layers: {', '.join(sorted(names))})")
    for layer in net.weighted_layers():
        f = folding.get(layer.name, LayerFolding())
        if f.pe not in pe_choices(layer):
            raise HiltError(f"folding of {layer.name}: pe={f.pe} must divide {layer.name}'s output channels per "
                            f"group (choose from {pe_choices(layer)})")
        if f.simd not in simd_choices(layer):
            rows, cols = matrix_shape(layer)
            raise HiltError(f"folding of {layer.name}: simd={f.simd} must divide its {cols} inputs per output")


def parse_folding(obj: dict, net: Network) -> dict[str, LayerFolding]:
    """Folding from a parsed JSON object (plain mapping or a ``hilt dse`` report); validated."""
    if "chosen" in obj and isinstance(obj["chosen"], dict):
        obj = obj["chosen"].get("folding", {})
    if not isinstance(obj, dict):
        raise HiltError(f"folding: expected an object of layer -> {{\"pe\": P, \"simd\": S}}, got {obj!r:.60}")
    folding = default_folding(net)
    for name, spec in obj.items():
        if not isinstance(spec, dict) or not set(spec) <= {"pe", "simd"}:
            raise HiltError(f"folding of {name}: expected {{\"pe\": P, \"simd\": S}}, got {spec!r:.60}")
        values = [spec.get("pe", 1), spec.get("simd", 1)]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            raise HiltError(f"folding of {name}: pe and simd must be positive integers, got {spec!r:.60}")
        folding[name] = LayerFolding(*values)
    check_folding(net, folding)
    return folding


def read_json_object(path: str | Path, what: str, shape: str) -> dict:
    """A JSON object from ``path``, read through hilt.validate (a regular file of bounded size, strict JSON);
    a missing file, bad JSON or another JSON value is one HiltError line naming ``what`` the file should be
    and its ``shape``."""
    from ..validate import read_json

    obj = read_json(path, f"{what} file", f"give a JSON object of {shape}")
    if not isinstance(obj, dict):
        raise HiltError(f"{path}: a {what} file is a JSON object of {shape}")
    return obj


def load_folding(path: str | Path, net: Network) -> dict[str, LayerFolding]:
    return parse_folding(read_json_object(path, "folding", "layer -> {pe, simd}"), net)


def folding_to_json(folding: dict[str, LayerFolding]) -> dict:
    return {name: asdict(f) for name, f in folding.items()}
