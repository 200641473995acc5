"""``hilt rtlsim``: the RTL twin of a generated design, cycle by cycle, against the golden model;
``hilt rtlsynth``: its Yosys synthesis next to the DSE's resource estimate."""

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

    p = sub.add_parser("rtlsynth", help="synthesise designs' RTL twins with Yosys synth_xilinx and print LUT/FF/DSP/"
                                        "BRAM next to the DSE's estimate",
                       description="Synthesise the RTL twin of each DIR (a project from `hilt compile`; its rtl/ "
                                   "folder is generated from the manifest's plan if missing) with Yosys `synth_xilinx` "
                                   "for the board's family (xc7 for Zynq-7000, xcup for Zynq UltraScale+), hierarchy "
                                   "kept, and print its LUT/FF/DSP/BRAM18 next to the DSE resource model's estimate "
                                   "(without the shell: the twin has no DMA). These are Yosys-on-the-twin numbers, "
                                   "not Vivado on the HLS design. With four or more designs, `--refit FILE` writes "
                                   "the model's LUT/FF coefficients least-squares fitted to them. Needs yosys on PATH "
                                   "(apt-get install yosys); a design can take many minutes.")
    p.add_argument("projects", metavar="DIR", nargs="+", help="projects to synthesise, or reports (FILE.json) an "
                                                                "earlier run wrote with --json, taken as they are "
                                                                "(to refit over designs synthesised separately)")
    p.add_argument("--rtl-dir", metavar="RTL", help="synthesise this folder instead of DIR/rtl (one DIR only)")
    p.add_argument("--board", help="the board whose family and resource model to use (default: the project's "
                                   "board; needed for a project compiled without one)")
    p.add_argument("--timeout", type=positive_int, default=3600, help="seconds per design (default 3600)")
    p.add_argument("--refit", metavar="FILE", help="write LUT/FF coefficients refitted to these designs (JSON; "
                                                   "needs four or more)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.set_defaults(func=cmd_rtlsynth)


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
                                                      "ppc": 1, "lint": False, "backward": ctx["bwd"] is not None,
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


def _project(path: str):
    from ..validate import load_quantized, mapping, read_json

    project = Path(path)
    if not (project / "manifest.json").is_file() or not (project / "qmodel.npz").is_file():
        raise HiltError(f"{project}: not a project written by `hilt compile` (manifest.json, qmodel.npz missing)")
    manifest = mapping(read_json(project / "manifest.json", "project manifest"), "manifest.json")
    return project, manifest, load_quantized(project / "qmodel.npz")


def cmd_rtlsim(args) -> int:
    from .. import golden
    from ..commands.common import write_json
    from ..loading import load_splits
    from . import twin

    project, manifest, q = _project(args.project)
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
                                       info.get("ppc", 1), info["beat_bits"]) if backward else None
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
        print(f"  DSE model, MODE_BACKWARD: II {pred_bwd['ii_cycles']} cycles (bound by {pred_bwd['bound']}; the "
              f"slowest backward stage {pred_bwd['pipeline_ii_cycles']}), latency {pred_bwd['latency_cycles']} cycles")
    if args.json:
        write_json(args.json, {"project": str(project), "rtl": str(rtl), "top": info["top"], "samples": len(x),
                               "build_seconds": built - start, "run_seconds": ran - built, "bit_exact": ok,
                               "modes": modes, "predicted": pred, "predicted_backward": pred_bwd,
                               "folding": info.get("folding"), "backward_units": info.get("backward_units"),
                               "ppc": info.get("ppc", 1), "beat_bits": info["beat_bits"]})
    return 0 if ok else 1


SYNTH_ROWS = ("lut", "ff", "dsp", "bram18")


def cmd_rtlsynth(args) -> int:
    from ..commands.common import write_json
    from ..dse.boards import load_board
    from ..dse.resources import Coefficients, design_features
    from ..plan import HardwarePlan
    from . import synth, twin

    if args.rtl_dir and len(args.projects) > 1:
        raise HiltError("--rtl-dir names the twin of one project; give one DIR with it")
    if args.refit and len(args.projects) < 4 and not any(p.endswith(".json") for p in args.projects):
        raise HiltError(f"--refit needs four or more designs to fit four coefficients (got {len(args.projects)})")
    if any(not (p.endswith(".json") and Path(p).is_file()) for p in args.projects):
        synth.yosys()  # before any work; earlier reports alone (a refit) need no yosys
    rows = []
    for path in args.projects:
        if path.endswith(".json") and Path(path).is_file():  # an earlier report: its designs, not synthesised again
            for row in _report_designs(path):
                rows.append(row)
                _print_synth(row)
            continue
        project, manifest, q = _project(path)
        board = load_board(args.board or str(manifest.get("board", "zcu104")).lower())
        rtl = _rtl_dir(project, manifest, q, args.rtl_dir)
        info = json.loads((rtl / "rtl.json").read_text())
        plan = HardwarePlan.from_json(manifest["plan"]) if "plan" in manifest else None
        family = synth.FAMILY.get(board.ps, "xcup")
        print(f"synthesising {info['top']} ({project}) with yosys synth_xilinx -family {family} ...", flush=True)
        got = synth.synthesize(rtl, family, args.timeout)
        est = synth.estimate(q, info, board, plan)
        units = twin.model_units(q, info["folding"], None, info.get("ppc", 1))
        rows.append({"project": str(project), "top": info["top"], "board": board.key, "family": family,
                     "folding": info["folding"], "ppc": info.get("ppc", 1), "seconds": got["seconds"],
                     "yosys": got["total"], "modules": got["modules"], "estimate": est,
                     "features": design_features(q.network, units, "infer"), "version": got["yosys"]})
        _print_synth(rows[-1])
        if args.json:  # after each design: a long run leaves what it has finished
            write_json(args.json, {"designs": rows})
    report = {"designs": rows}
    if args.refit and len(rows) < 4:
        raise HiltError(f"--refit needs four or more designs to fit four coefficients (got {len(rows)})")
    if args.refit:
        import numpy as np

        features = np.array([[r["features"][k] for k in ("lanes", "units", "fixed_stages")] + [1.0] for r in rows])
        rank = int(np.linalg.matrix_rank(features))
        if rank < 4:
            raise HiltError(f"--refit: these {len(rows)} designs' lanes, units and fixed-rate stages (with the constant) "
                            f"have rank {rank}, so four coefficients are not determined; add designs of other models "
                            f"(other unit and stage counts)")
        base = Coefficients()
        fitted = base.refit([r["features"] for r in rows],
                            [{"lut": r["yosys"]["lut_logic"], "ff": r["yosys"]["ff"]} for r in rows])
        report["refit"] = {k: getattr(fitted, k) for k in ("lut_per_lane", "ff_per_lane", "lut_per_unit",
                                                            "ff_per_unit", "lut_per_fixed_stage", "ff_per_fixed_stage")}
        print("LUT/FF coefficients refitted to these Yosys designs (logic LUTs; LUTRAM is modelled as memory):")
        for k, v in report["refit"].items():
            print(f"  {k:20s} {getattr(base, k):8.1f} -> {v:8.1f}")
        report["refit_fit"] = _refit_residuals(rows, fitted, features)
        write_json(args.refit, report["refit"])
    if args.json:
        write_json(args.json, report)
    return 0


def _refit_residuals(rows: list[dict], fitted, features) -> list[dict]:
    """Each design's logic LUTs and FFs as the refitted coefficients give them (per lane, unit and stage,
    plus the designs' mean remainder as the constant: the twin's fixed logic, not a board's shell), next
    to Yosys' figures, printed and returned for the report."""
    print(f"  {'design':28s} {'LUT Yosys':>10s} {'refit':>8s} {'FF Yosys':>9s} {'refit':>8s}")
    out = []
    fit = {}
    for kind in ("lut", "ff"):
        slope = features[:, :3] @ [getattr(fitted, f"{kind}_per_{k}") for k in ("lane", "unit", "fixed_stage")]
        measured = [r["yosys"]["lut_logic" if kind == "lut" else "ff"] for r in rows]
        fit[kind] = slope + float(sum(m - s for m, s in zip(measured, slope)) / len(rows))
    for i, r in enumerate(rows):
        name = f"{r['top']} {Path(r.get('project', '')).name}".strip()
        y = r["yosys"]
        out.append({"design": name, "lut": y["lut_logic"], "lut_refit": round(float(fit["lut"][i])),
                    "ff": y["ff"], "ff_refit": round(float(fit["ff"][i]))})
        print(f"  {name[:28]:28s} {y['lut_logic']:10d} {out[-1]['lut_refit']:8d} {y['ff']:9d} {out[-1]['ff_refit']:8d}")
    return out


def _report_designs(path: str) -> list[dict]:
    from ..validate import mapping, read_json

    report = mapping(read_json(path, "rtlsynth report"), path)
    designs = report.get("designs")
    need = {"top", "board", "family", "seconds", "yosys", "estimate", "features"}
    if not isinstance(designs, list) or not all(isinstance(d, dict) and need <= set(d) for d in designs):
        raise HiltError(f"{path}: not a report written by `hilt rtlsynth --json` (a 'designs' list with "
                        f"{', '.join(sorted(need))})")
    return designs


def _print_synth(row: dict) -> None:
    print(f"  {row['top']} on {row['board']} ({row['family']}), Yosys {row['seconds']:.0f} s")
    print(f"  {'resource':10s} {'DSE estimate':>13s} {'Yosys':>9s}")
    for r in SYNTH_ROWS:
        print(f"  {r:10s} {row['estimate'][r]:13.0f} {row['yosys'][r]:9d}")
    y = row["yosys"]
    print(f"  (Yosys LUTs: {y['lut_logic']} logic + {y['lutram_luts']} as LUTRAM/SRL; {y['carry']} carry chains)")
