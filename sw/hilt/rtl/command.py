"""``hilt rtlsim``: the RTL twin of a generated design, cycle by cycle, against the golden model."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import HiltError


def register(sub) -> None:
    from ..commands.common import add_data_argument, positive_int

    p = sub.add_parser("rtlsim", help="simulate a design's RTL twin (Verilator + cocotb) and compare it with the "
                                      "golden model",
                       description="Build the RTL twin of DIR (a project from `hilt compile`; its rtl/ folder is "
                                   "generated from the manifest's hardware plan if `--rtl` was not given) with Verilator "
                                   "(cached by content hash), drive its AXI4-Lite and AXI4-Stream ports from a cocotb "
                                   "bench with random backpressure, and report per mode whether every output beat "
                                   "equals the golden model's (integer ==) and the cycles per sample next to the DSE "
                                   "performance model's. Exit 1 on any mismatch.")
    p.add_argument("project", metavar="DIR")
    add_data_argument(p)
    p.add_argument("--samples", type=positive_int, default=8, help="held-out images to run (default 8)")
    p.add_argument("--rtl-dir", metavar="RTL", help="simulate this folder instead of DIR/rtl: one written by "
                                                    "`hilt compile --rtl`, or Verilog exported by Vitis HLS "
                                                    "(solution/impl/verilog; top named as in the manifest)")
    p.add_argument("--no-backpressure", action="store_true", help="keep TVALID/TREADY high (faster)")
    p.add_argument("--seed", type=int, default=0, help="backpressure pattern seed (default 0)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.set_defaults(func=cmd_rtlsim)


def _beat_bits(manifest: dict) -> int:
    from ..dse.boards import load_board

    try:
        return load_board(str(manifest.get("board", "zcu104")).lower()).dma_width_bits
    except HiltError:
        return 64


def _rtl_dir(project: Path, manifest: dict, q, override: str | None) -> Path:
    from ..ir.folding import parse_folding
    from ..plan import HardwarePlan
    from .design import write_rtl

    if override:
        rtl = Path(override)
        if not rtl.is_dir():
            raise HiltError(f"{rtl}: no such folder (--rtl-dir)")
        if not (rtl / "rtl.json").exists():  # Verilog from Vitis HLS: describe it for the bench
            sources = sorted(p.name for p in rtl.iterdir() if p.suffix in (".v", ".sv"))
            if not sources:
                raise HiltError(f"{rtl}: no .v or .sv files")
            ctx = design_context(q, manifest)
            (rtl / "rtl.json").write_text(json.dumps({"top": manifest["top"], "beat_bits": _beat_bits(manifest),
                                                      "sources": sources, "folding": manifest.get("folding", {}),
                                                      "ppc": 1, "backward": ctx["bwd"] is not None,
                                                      "backward_units": ctx["backward_units"]}, indent=2) + "\n")
        return rtl
    rtl = project / "rtl"
    if not (rtl / "rtl.json").exists():  # the project's plan (older manifests: their folding)
        folding = (HardwarePlan.from_json(manifest["plan"]) if "plan" in manifest
                   else parse_folding(manifest.get("folding", {}), q.network))
        write_rtl(q, rtl, folding, _beat_bits(manifest), name=manifest.get("name"),
                  backward=bool(manifest.get("backward")))
    return rtl


def design_context(q, manifest: dict) -> dict:
    """The twin's description of the project's plan: what the bench needs of Verilog from elsewhere
    (whether MODE_BACKWARD is there, the backward units' folding for the DSE figures)."""
    from ..plan import HardwarePlan
    from .design import context

    plan = HardwarePlan.from_json(manifest["plan"]) if "plan" in manifest else None
    try:
        return context(q, plan, _beat_bits(manifest), backward=bool(manifest.get("backward")))
    except HiltError:  # a layer the twin has no unit for: the bench still runs the modes the manifest has
        return {"bwd": {} if manifest.get("backward") else None, "backward_units": {}}


def cmd_rtlsim(args) -> int:
    from .. import golden
    from ..commands.common import write_json
    from ..loading import load_splits
    from ..validate import load_quantized, mapping, read_json
    from . import twin

    project = Path(args.project)
    if not (project / "manifest.json").is_file() or not (project / "qmodel.npz").is_file():
        raise HiltError(f"{project}: not a project written by `hilt compile` (manifest.json, qmodel.npz missing)")
    manifest = mapping(read_json(project / "manifest.json", "project manifest"), "manifest.json")
    q = load_quantized(project / "qmodel.npz")
    rtl = _rtl_dir(project, manifest, q, args.rtl_dir)
    info = json.loads((rtl / "rtl.json").read_text())
    _, test_ds = load_splits(args.data, q.network)
    x = golden.quantize_input(q, test_ds.x[: args.samples])
    start = time.perf_counter()
    twin.build(rtl)
    built = time.perf_counter()
    backward = bool(info.get("backward"))
    modes = ("infer", "train_forward") + (("backward",) if backward else ())
    # cycles grow with the samples: allow each call ample time per sample
    result = twin.simulate(q, rtl, x, modes=modes, backpressure=not args.no_backpressure, seed=args.seed,
                           labels=test_ds.y[: args.samples], timeout_cycles=2_000_000 + 1_000_000 * len(x))
    ran = time.perf_counter()
    pred = twin.predicted(q, info.get("folding", {}), info.get("ppc", 1))
    pred_bwd = twin.predicted_backward(q, info.get("folding", {}), info.get("backward_units", {}),
                                       info.get("ppc", 1)) if backward else None
    modes = []
    for c in result.get("calls", []):
        row = {"mode": c["name"], "ok": bool(c.get("ok")), "bit_exact": c.get("equal"),
               "cycles": c.get("cycles"), "ii_cycles": c.get("ii_cycles"), "latency_cycles": c.get("latency_cycles"),
               "failed_checks": sorted(k for k, v in c.get("checks", {}).items() if not v)}
        if c.get("error"):
            row["error"] = c["error"]
        modes.append(row)
    ok = result["passed"] and all(m["ok"] for m in modes)
    print(f"RTL sim of {info['top']}: {len(x)} images, build {built - start:.1f} s, simulation {ran - built:.1f} s; "
          f"{'every output equals the golden model' if ok else 'MISMATCH'}")
    print(f"  {'mode':14s} {'bit-exact':>9s} {'II (cycles)':>12s} {'latency':>9s}")
    for m in modes:
        ii = f"{m['ii_cycles']:.0f}" if m.get("ii_cycles") else "-"
        lat = str(m["latency_cycles"]) if m.get("latency_cycles") else "-"
        exact = "-" if m["bit_exact"] is None else ("yes" if m["bit_exact"] else "NO")
        print(f"  {m['mode']:14s} {exact:>9s} {ii:>12s} {lat:>9s}" +
              (f"  failed: {', '.join(m['failed_checks'])}" if m["failed_checks"] else ""))
    print(f"  DSE model: II {pred['ii_cycles']} cycles, latency {pred['latency_cycles']} cycles")
    if pred_bwd:
        print(f"  DSE model, backward stages: II {pred_bwd['ii_cycles']} cycles, latency "
              f"{pred_bwd['latency_cycles']} cycles")
    if args.json:
        write_json(args.json, {"project": str(project), "rtl": str(rtl), "top": info["top"], "samples": len(x),
                               "build_seconds": built - start, "run_seconds": ran - built, "bit_exact": ok,
                               "modes": modes, "predicted": pred, "predicted_backward": pred_bwd,
                               "folding": info.get("folding"), "backward_units": info.get("backward_units"),
                               "ppc": info.get("ppc", 1), "beat_bits": info["beat_bits"]})
    return 0 if ok else 1
