"""A generated project against the golden model: every tap, and (with a backward pipeline) every error
and weight/bias gradient, compared as integers (==)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _row(tap: str, a, b) -> dict:
    a, b = np.asarray(a), np.asarray(b)
    equal = a.shape == b.shape and bool(np.array_equal(a, b))
    return {"tap": tap, "equal": equal, "mismatches": 0 if equal else int((a != b).sum()) if a.shape == b.shape
            else int(max(a.size, b.size))}


def compare_with_golden(project: str | Path, q, x_int: np.ndarray, labels: np.ndarray | None = None,
                        timings: dict | None = None, csim: str = "bounded") -> list[dict]:
    """One row per compared tensor: {"tap", "equal", "mismatches"}. ``labels`` (and a project with a
    backward pipeline) add the errors at every activation and the gradients of every conv/dense layer.
    ``timings`` gets the build, forward and backward seconds; ``csim``: the C-sim build
    (``hilt.codegen.csim``: bounded, unbounded, vendor, threads)."""
    import time

    from .. import golden
    from ..codegen.csim import build, run, run_backward
    from ..validate import mapping, read_json

    project = Path(project)
    start = time.perf_counter()
    build(project, csim)
    built = time.perf_counter()
    taps = run(project, x_int, "train_forward", csim=csim)
    ran = time.perf_counter()
    ref = golden.run(q, x_int)
    rows = [_row("input" if i == 0 else q.network.layers[i - 1].name, a, b) for i, (a, b) in enumerate(zip(taps, ref))]
    if len(taps) != len(ref):
        rows.append({"tap": "tap count", "equal": False, "mismatches": abs(len(taps) - len(ref))})
    backward = mapping(read_json(project / "manifest.json", "project manifest"), "manifest.json").get("backward")
    if backward and labels is not None:
        err = golden.error_at_logits(q, ref[-1], labels)
        errors, grads = run_backward(project, ref, err, csim=csim)
        bp = golden.backward(q, ref, err)
        rows += [_row(f"error {i}", errors[i], bp.errors[i]) for i in range(1, len(bp.errors))]
        if set(grads) != set(bp.grads):
            rows.append({"tap": "gradient layers", "equal": False, "mismatches": len(set(grads) ^ set(bp.grads))})
        for name in bp.grads:
            for key in ("weight", "bias"):
                rows.append(_row(f"{name}.{key} gradient", grads.get(name, {}).get(key, np.zeros(0)),
                                 bp.grads[name][key]))
    if timings is not None:
        timings.update(build=built - start, forward=ran - built, backward=time.perf_counter() - ran)
    return rows
