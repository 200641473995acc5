"""C simulation: build a generated project with g++ and run images through it.

Builds are cached: the binary is rebuilt only when a source is newer. Inputs and outputs are files of
AXI4-Stream beats (the accelerator interface's sections at the design's beat width), as the testbench
reads and writes them. The default build is the bounded C-sim: every dataflow process concurrent (a
coroutine; ``"threads"``: an OS thread), FIFOs bounded at their declared depths, deadlocks reported;
``"unbounded"`` is the fast sequential one, ``"vendor"`` compiles against Xilinx's C-sim headers.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..accel import interface, order
from ..errors import HiltError
from .project import MODES
from .streams import layout
from .toolchain import CXXFLAGS, compile_cpp, compiler, mode_flags

TRIPS_HEADER = Path(__file__).with_name("trips.h")
CENSUS_HEADER = Path(__file__).with_name("census.h")


def build(project: str | Path, mode: str = "bounded", trips: bool = False) -> Path:
    """The C simulation binary of ``mode`` (``trips``: the instrumented one, which also counts pipelined loop
    iterations, trips.h, and records every array it declares, census.h)."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    binary = project / (f"{manifest['name']}_{'trips' if trips else 'csim'}" + ("" if mode == "bounded" else f"_{mode}"))
    sources = [project / "tb.cpp", project / f"{manifest['name']}_top.cpp"]
    newest = max(p.stat().st_mtime for p in project.rglob("*") if p.suffix in (".cpp", ".h"))
    if binary.exists() and binary.stat().st_mtime >= newest:
        return binary
    try:
        return compile_cpp(sources, binary, [project, project / "include"], mode,
                           extra=["-include", str(TRIPS_HEADER), "-include", str(CENSUS_HEADER)] if trips else [])
    except HiltError as e:
        raise HiltError(f"{project}: {e}") from None


def syntax_check(project: str | Path, mode: str = "bounded") -> None:
    """g++ -fsyntax-only -Wall -Werror on the generated sources (``mode="vendor"``: Xilinx's headers)."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    for src in (project / "tb.cpp", project / f"{manifest['name']}_top.cpp"):
        proc = subprocess.run([compiler(), *CXXFLAGS, *mode_flags(mode), "-fsyntax-only", f"-I{project}",
                               f"-I{project / 'include'}", str(src)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise HiltError(f"{src}: does not compile: {proc.stderr.strip().splitlines()[0]}")


def _layouts(manifest) -> list[tuple[tuple, bool]]:
    """Per activation index: the shape its stream is read with, and whether it is a flatten's output
    (hilt.accel.order, from the manifest's layers)."""
    return [(tuple(manifest["input"]["shape"]), False)] + [order.tap_layout(l["op"], l["in_shape"], l["out_shape"])
                                                           for l in manifest["layers"]]


def execute(project: str | Path, mode: str, samples: int, arrays: list, weights: str | None = None,
            csim: str = "bounded", trips: dict | None = None) -> tuple[list[np.ndarray], int]:
    """One call of the design: the input sections' values in, (the output sections' values, status) out.
    With a ``trips`` dict, the counting binary, whose counts land in it as {(struct, kind): iterations}
    (struct without its namespace, e.g. "conv1_p")."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    binary = build(project, csim, trips is not None)
    beat = manifest["beat_bits"]
    ins, outs = layout(manifest, mode, samples)
    weights = weights or str(project / "weights.bin")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        interface.pack_sections(ins, arrays, beat).tofile(tmp / "in.bin")
        env = {**os.environ, "HILT_TRIPS": str(tmp / "trips.txt")}
        proc = subprocess.run([str(binary), weights, str(MODES[mode]), str(samples), str(tmp / "in.bin"),
                               str(tmp / "out.bin"), str(interface.total_beats(outs, beat))],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise HiltError(f"C simulation failed: {proc.stderr.strip()}")
        if trips is not None and (tmp / "trips.txt").exists():
            for line in (tmp / "trips.txt").read_text().splitlines():
                struct, kind, count = line.rsplit(" ", 2)
                trips[(struct.split("::")[-1], kind)] = int(count)
        status = int(proc.stdout.split()[-1])
        return interface.unpack_sections(outs, np.fromfile(tmp / "out.bin", np.uint8), beat), status


def _execute(project: Path, beats: np.ndarray, mode: str, samples: int, weights: str | None = None,
             csim: str = "bounded", trips: dict | None = None) -> np.ndarray:
    """Flat values in (the sections' values one after the other), flat values out."""
    manifest = json.loads((project / "manifest.json").read_text())
    ins, _ = layout(manifest, mode, samples)
    arrays, offset = [], 0
    for sec in ins:
        arrays.append(beats[offset:offset + sec.count])
        offset += sec.count
    if offset != beats.size:
        raise HiltError(f"{beats.size} input values, the {mode} layout takes {offset}")
    out, status = execute(project, mode, samples, arrays, weights, csim, trips)
    if status != interface.Status.OK:
        raise HiltError(f"{project}: mode {mode} ended with status {interface.Status(status).name}")
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def census(project: str | Path) -> list[tuple[str, str, int, int]]:
    """Every array the generated design declares, as its instrumented C simulation records them (census.h):
    (owner, array, elements, bits per element), owner "top" for the top's file-scope memories, else the
    kernel's layer struct without namespace and ``_p``. One train-forward and (where the design has one)
    one backward call of a zero sample run every kernel once."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    binary = build(project, "bounded", trips=True)
    beat = manifest["beat_bits"]
    out: list[tuple[str, str, int, int]] = []
    for mode in ("train_forward", "backward") if manifest.get("backward") else ("train_forward",):
        ins, outs = layout(manifest, mode, 1)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            interface.pack_sections(ins, [np.zeros(s.count, np.int64) for s in ins], beat).tofile(tmp / "in.bin")
            proc = subprocess.run([str(binary), str(project / "weights.bin"), str(MODES[mode]), "1", str(tmp / "in.bin"),
                                   str(tmp / "out.bin"), str(interface.total_beats(outs, beat))], capture_output=True,
                                  text=True, env={**os.environ, "HILT_CENSUS": str(tmp / "census.txt")})
            if proc.returncode != 0:
                raise HiltError(f"C simulation failed: {proc.stderr.strip()}")
            for line in (tmp / "census.txt").read_text().splitlines():
                owner, array, elements, bits = line.rsplit(" ", 3)
                owner = owner.split("::")[-1].removesuffix("_p")
                if mode == "train_forward" or owner != "top":  # the top's memories are recorded by every run
                    out.append((owner, array, int(elements), int(bits)))
    return out


def run_backward(project: str | Path, taps: list[np.ndarray], err: np.ndarray, csim: str = "bounded",
                 trips: dict | None = None):
    """MODE_BACKWARD: (errors per activation index, [None, e1, ..., e_L-1, err]; weight and bias gradients
    per conv/dense layer) in the golden model's layouts, for a batch of forward taps and logits errors."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    if not manifest.get("backward"):
        raise HiltError(f"{project}: generated without a backward pipeline (a layer has no integer backward)")
    layouts = _layouts(manifest)
    n = len(err)
    sample = [order.tap_to_stream(t, *lay) for t, lay in zip(taps, layouts)] + [np.asarray(err).reshape(n, -1)]
    beats = _execute(project, np.concatenate(sample, axis=1).reshape(-1), "backward", n, csim=csim, trips=trips)
    last = len(layouts) - 1
    sizes = [int(np.prod(layouts[i][0])) for i in range(last - 1, 0, -1)]
    per_sample = sum(sizes)
    errors: list = [None] * (last + 1)
    errors[last] = np.asarray(err)
    body = beats[: n * per_sample].reshape(n, per_sample)
    offset = 0
    for i, size in zip(range(last - 1, 0, -1), sizes):
        errors[i] = order.tap_from_stream(body[:, offset:offset + size], *layouts[i])
        offset += size
    rest, grads = beats[n * per_sample:], {}
    for idx, layer in enumerate(manifest["layers"]):
        if layer["op"] not in ("conv", "dense"):
            continue
        o, k = layer["weight_shape"][0], int(np.prod(layer["weight_shape"][1:]))
        w, rest = rest[: o * k].reshape(o, k), rest[o * k:]
        b, rest = rest[:o], rest[o:]
        flat_from = layer.get("flattened_from") if layer["op"] == "dense" else None
        grads[layer["name"]] = {"weight": order.weight_from_rows(w, layer["weight_shape"], flat_from), "bias": b}
    if rest.size:
        raise HiltError(f"C simulation wrote {rest.size} beats more than expected")
    return errors, grads


def run(project: str | Path, x_int: np.ndarray, mode: str = "infer", weights: str | None = None,
        csim: str = "bounded", trips: dict | None = None) -> list[np.ndarray]:
    """Run integer images (N, C, H, W) through the C simulation. Returns [logits] for infer, or every
    tap [input, layer 1, ..., logits] for train_forward, each as an int64 array in the model's layout.
    ``weights``: a weight-stream file to load first (default the project's; "-": keep the initial values)."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    n = len(x_int)
    beats = _execute(project, order.to_hwc(np.asarray(x_int)).reshape(-1), mode, n, weights, csim, trips)
    layouts = _layouts(manifest)[-1:] if mode == "infer" else _layouts(manifest)
    per_sample = sum(int(np.prod(shape)) for shape, _ in layouts)
    if beats.size != n * per_sample:
        raise HiltError(f"C simulation wrote {beats.size} beats, expected {n * per_sample}")
    beats = beats.reshape(n, per_sample)
    out, offset = [], 0
    for shape, flat in layouts:
        size = int(np.prod(shape))
        out.append(order.tap_from_stream(beats[:, offset:offset + size], shape, flat))
        offset += size
    return out
