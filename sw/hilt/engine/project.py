"""The engine's project folder (``hilt compile --engine sequential``) and its g++ C simulation.

The folder holds the top function and testbench rendered from templates/engine, the kernel library,
``ddr.bin`` (descriptors and packed parameters: the DDR image up to the activations), ``program.json``
(every region and descriptor field) and ``model.npz`` (the integer model, numpy alone loads it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import jinja2
import numpy as np

from ..codegen.project import c_name
from ..dse.sequential import EngineConfig
from ..errors import HiltError
from ..quant import QModel
from .program import FIELDS, Program, build

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "engine"
LIBRARY = ROOT / "hw" / "hls" / "hilt"
CXXFLAGS = ["-std=c++17", "-O2", "-Wall", "-Werror"]


def program_json(prog: Program, q: QModel) -> dict:
    net = q.network
    names = ["input"] + [l.name for l in net.layers[: len(prog.taps) - 1]]
    return {"config": prog.config.to_json(), "image_bytes": prog.size, "desc_words": int(prog.descriptors.shape[1]),
            "descriptor_fields": list(FIELDS), "count": len(prog.steps),
            "steps": [{"name": s.name, "op": s.op, "relu": s.relu, "band": s.band,
                       "descriptor": {k: int(np.int32(v)) for k, v in zip(FIELDS, d)}, **s.stats}
                      for s, d in zip(prog.steps, prog.descriptors.view(np.int32))],
            "params": {k: [r.offset, r.size] for k, r in prog.params.items()},
            "param_region": [prog.param_region.offset, prog.param_region.size],
            "input": [prog.input.offset, prog.input.size], "activations": [prog.act_region.offset, prog.act_region.size],
            "taps": [None if t is None else {"name": n, "offset": t[0].offset, "size": t[0].size, "shape": list(t[1])}
                     for n, t in zip(names, prog.taps)]}


def save_compact(q: QModel, path: Path) -> None:
    """The project's ``model.npz``: the quantized-model file in its compact form (:mod:`hilt.quant.qfile`)."""
    q.save(path, floats=False)


def load_compact(path) -> tuple[dict, list[dict[str, np.ndarray]]]:
    """(header, per-layer integer arrays) of a ``model.npz``: numpy alone, as on the board."""
    from ..quant.qfile import read_qmodel

    return read_qmodel(path)


def write_project(q: QModel, out_dir, cfg: EngineConfig = EngineConfig(), board=None, freq_mhz: float = 200.0,
                  fuse_relu: bool = True, source: str = "", name: str | None = None) -> dict:
    """Write the engine project for ``q``; returns the manifest (program.json plus names and timing)."""
    start = time.perf_counter()
    prog = build(q, cfg, fuse_relu)
    name = c_name(name or f"{q.network.name}_engine")
    pj = program_json(prog, q)
    ctx = {"name": name, "guard": name.upper(), "top": f"{name}_top", "cfg": cfg, "defines": cfg.defines(),
           "board": getattr(board, "name", "generic"), "part": getattr(board, "part", "xczu7ev-ffvc1156-2-e"),
           "freq_mhz": f"{freq_mhz:g}", "period_ns": f"{1000.0 / freq_mhz:.3f}", "source": source or q.network.name,
           "depth": prog.size, "desc_words": prog.descriptors.size,
           "port_bits": cfg.port_bytes * 8, "extra_ports": list(range(1, cfg.wports)),
           "steps": [{"name": s["name"], "op": s["op"], "relu": s["relu"], "band": s["band"],
                      "out": s["descriptor"]["out"]} for s in pj["steps"]]}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.part")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "include").mkdir(parents=True)
    for target, template in {f"{name}_top.h": "top.h.j2", f"{name}_top.cpp": "top.cpp.j2", "tb.cpp": "tb.cpp.j2",
                             "csynth.tcl": "csynth.tcl.j2", "README.md": "README.md.j2"}.items():
        (tmp / target).write_text(env.get_template(template).render(**ctx))
    shutil.copytree(LIBRARY, tmp / "include" / "hilt")
    prog.image[: prog.act_region.offset].tofile(tmp / "ddr.bin")  # activations start zeroed in the testbench
    save_compact(q, tmp / "model.npz")
    manifest = {"name": name, "top": ctx["top"], "engine": "sequential", "source": ctx["source"],
                "board": ctx["board"], "part": ctx["part"], "freq_mhz": freq_mhz, "fuse_relu": fuse_relu, **pj}
    (tmp / "program.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    manifest["seconds"] = time.perf_counter() - start
    return manifest


def _compiler() -> str:
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        raise HiltError("no C++ compiler found: install g++ (e.g. apt-get install g++) to run C simulation")
    return cxx


def build_csim(project) -> Path:
    """g++ build of the project's C simulation (cached until a source changes)."""
    project = Path(project)
    manifest = json.loads((project / "program.json").read_text())
    binary = project / f"{manifest['name']}_csim"
    newest = max(p.stat().st_mtime for p in project.rglob("*") if p.suffix in (".cpp", ".h"))
    if binary.exists() and binary.stat().st_mtime >= newest:
        return binary
    cmd = [_compiler(), *CXXFLAGS, "-pthread", f"-I{project}", f"-I{project / 'include'}", str(project / "tb.cpp"),
           str(project / f"{manifest['name']}_top.cpp"), "-o", str(binary)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HiltError(f"{project}: g++ failed: {proc.stderr.strip()[:2000]}")
    return binary


def run_csim(project, x_int: np.ndarray, ddr_image: Path | None = None,
             binary: Path | None = None) -> list[np.ndarray | None]:
    """Run integer images (N, C, H, W) through the C simulation (``binary``: another build of the same
    testbench); returns every stored activation, stacked over the batch: [input, layer 1, ..., logits]
    (None where a ReLU was fused into its conv)."""
    project = Path(project)
    manifest = json.loads((project / "program.json").read_text())
    binary = binary or build_csim(project)
    x = np.asarray(x_int)
    n = len(x)
    in_off, in_size = manifest["input"]
    act_off, act_size = manifest["activations"]
    if x[0].size != in_size:
        raise HiltError(f"input of {x[0].size} values per sample; the program expects {in_size}")
    if x.min(initial=0) < -128 or x.max(initial=0) > 127:
        raise HiltError("engine inputs are int8: quantize them with the model's input format first")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        x.astype(np.int8).reshape(n, -1).tofile(tmp / "in.bin")
        proc = subprocess.run([str(binary), str(ddr_image or project / "ddr.bin"), str(manifest["count"]), str(in_off),
                               str(in_size), str(act_off), str(act_size), str(n), str(tmp / "in.bin"),
                               str(tmp / "out.bin")], capture_output=True, text=True)
        if proc.returncode != 0:
            raise HiltError(f"engine C simulation failed (exit {proc.returncode}): {proc.stderr.strip()[:2000]}")
        acts = np.fromfile(tmp / "out.bin", np.uint8)
    if acts.size != n * act_size:
        raise HiltError(f"engine C simulation wrote {acts.size} bytes, expected {n * act_size}")
    acts = acts.reshape(n, act_size)
    out = []
    for t in manifest["taps"]:
        if t is None:
            out.append(None)
            continue
        start = t["offset"] - act_off
        out.append(acts[:, start:start + t["size"]].view(np.int8).astype(np.int64).reshape(n, *t["shape"]))
    return out
