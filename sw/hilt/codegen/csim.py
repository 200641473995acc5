"""C simulation: build a generated project with g++ and run images through it.

Builds are cached: the binary is rebuilt only when a source is newer. Inputs and outputs are files of
little-endian int32 beats, as the testbench reads and writes them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import HiltError
from .project import MODES

CXXFLAGS = ["-std=c++14", "-O2", "-Wall", "-Werror"]


def _compiler() -> str:
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        raise HiltError("no C++ compiler found: install g++ (e.g. apt-get install g++) to run C simulation")
    return cxx


def build(project: str | Path) -> Path:
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    binary = project / f"{manifest['name']}_csim"
    sources = [project / "tb.cpp", project / f"{manifest['name']}_top.cpp"]
    newest = max(p.stat().st_mtime for p in project.rglob("*") if p.suffix in (".cpp", ".h"))
    if binary.exists() and binary.stat().st_mtime >= newest:
        return binary
    cmd = [_compiler(), *CXXFLAGS, f"-I{project}", f"-I{project / 'include'}", *map(str, sources), "-o", str(binary)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HiltError(f"{project}: g++ failed: {proc.stderr.strip().splitlines()[0] if proc.stderr else proc.returncode}")
    return binary


def syntax_check(project: str | Path) -> None:
    """g++ -fsyntax-only -Wall -Werror on the generated sources (vendor headers would come via -isystem)."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    for src in (project / "tb.cpp", project / f"{manifest['name']}_top.cpp"):
        proc = subprocess.run([_compiler(), "-std=c++14", "-fsyntax-only", "-Wall", "-Werror", f"-I{project}",
                               f"-I{project / 'include'}", str(src)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise HiltError(f"{src}: does not compile: {proc.stderr.strip().splitlines()[0]}")


def to_hwc(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1) if x.ndim == 4 else x


def from_hwc(flat: np.ndarray, shape) -> np.ndarray:
    """One sample's beats back to the model's layout (C, H, W) or (N,)."""
    if len(shape) == 3:
        c, h, w = shape
        return flat.reshape(h, w, c).transpose(2, 0, 1)
    return flat.reshape(shape)


def run(project: str | Path, x_int: np.ndarray, mode: str = "infer") -> list[np.ndarray]:
    """Run integer images (N, C, H, W) through the C simulation. Returns [logits] for infer, or every
    tap [input, layer 1, ..., logits] for train_forward, each as an int64 array in the model's layout."""
    project = Path(project)
    manifest = json.loads((project / "manifest.json").read_text())
    binary = build(project)
    n = len(x_int)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        to_hwc(np.asarray(x_int)).astype("<i4").tofile(tmp / "in.bin")
        proc = subprocess.run([str(binary), str(project / "weights.bin"), str(MODES[mode]), str(n),
                               str(tmp / "in.bin"), str(tmp / "out.bin")], capture_output=True, text=True)
        if proc.returncode != 0:
            raise HiltError(f"C simulation failed: {proc.stderr.strip()}")
        beats = np.fromfile(tmp / "out.bin", "<i4").astype(np.int64)
    # a flatten's output streams in its input map's HWC order: read it with that map's shape, then flatten
    layers = manifest["layers"]
    shapes = [manifest["input"]["shape"]] + [l["in_shape"] if l["op"] == "flatten" else l["out_shape"] for l in layers]
    flat = [False] + [l["op"] == "flatten" for l in layers]
    if mode == "infer":
        shapes, flat = shapes[-1:], flat[-1:]
    per_sample = sum(int(np.prod(s)) for s in shapes)
    if beats.size != n * per_sample:
        raise HiltError(f"C simulation wrote {beats.size} beats, expected {n * per_sample}")
    beats = beats.reshape(n, per_sample)
    out, offset = [], 0
    for shape, is_flat in zip(shapes, flat):
        size = int(np.prod(shape))
        tap = np.stack([from_hwc(beats[i, offset:offset + size], shape) for i in range(n)])
        out.append(tap.reshape(n, -1) if is_flat else tap)
        offset += size
    return out
