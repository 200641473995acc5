"""``hilt compile`` (quantized model -> HLS project) and ``hilt csim`` (g++ C simulation vs golden model)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import HiltError


def register(sub) -> None:
    from ..commands.common import add_data_argument, positive_int

    p = sub.add_parser("compile", help="generate the HLS C++ project of a model (sources, Tcl, testbench)",
                       description="Quantize MODEL (ONNX file, zoo name, or a .npz from `hilt quantize`) and write a "
                                   "self-contained Vitis HLS project to DIR: top function, per-layer parameter "
                                   "header, kernel library, weight stream, C-sim testbench, csynth.tcl, manifest.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--board", default="zcu104", help="board (part and clock limits; default zcu104)")
    p.add_argument("--freq", type=float, default=200.0, metavar="MHZ", help="target clock (default 200)")
    p.add_argument("--folding", metavar="JSON", help="per-layer {pe, simd}, or a `hilt dse --json` report")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    add_data_argument(p)
    p.add_argument("--calib", type=positive_int, default=256, help="calibration images (default 256)")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("csim", help="compile a generated project with g++ and compare it with the golden model",
                       description="Build DIR's C simulation with g++ (cached), run held-out images through it and "
                                   "compare every layer's integer output with the golden model (==).")
    p.add_argument("project", metavar="DIR")
    add_data_argument(p)
    p.add_argument("--samples", type=positive_int, default=100, help="images to run (default 100)")
    p.add_argument("--csim", choices=("bounded", "threads", "unbounded", "vendor"), default="bounded",
                   help="bounded (default): every dataflow process concurrent (coroutines) over FIFOs of the "
                        "declared depths, deadlocks reported (exit 1); threads: the same on OS threads; "
                        "unbounded: fast, processes in order, depths unchecked; vendor: Xilinx's C-sim headers "
                        "(hls4ml's ap_types), processes in order")
    p.add_argument("--json", metavar="FILE")
    p.set_defaults(func=cmd_csim)


def load_quantized(spec: str, data: str, bits: int, calib: int):
    from ..quant import QModel, quantize

    if spec.endswith(".npz"):
        return QModel.load(spec)
    from ..commands.training import load_splits
    from ..loading import load_network

    net = load_network(spec)
    train_ds, _ = load_splits(data, net)
    return quantize(net, train_ds.x[:calib], bits=bits, labels=train_ds.y[:calib])


def cmd_compile(args) -> int:
    from ..dse.boards import load_board
    from ..ir.folding import load_folding
    from .project import compile_project

    board = load_board(args.board)
    board.check_clock(args.freq)
    q = load_quantized(args.model, args.data, args.bits, args.calib)
    folding = load_folding(args.folding, q.network) if args.folding else None
    manifest = compile_project(q, args.output, board, args.freq, folding, source=args.model)
    q.save(Path(args.output) / "qmodel.npz")
    print(f"wrote {args.output}: {len(manifest['layers'])} layers, top {manifest['top']}, "
          f"{board.name} at {args.freq:g} MHz (generated in {manifest['seconds']:.2f} s)")
    return 0


def cmd_csim(args) -> int:
    from .. import golden
    from ..commands.common import write_json
    from ..commands.training import load_splits
    from ..quant import QModel
    from .csim import build, run

    project = Path(args.project)
    if not (project / "manifest.json").is_file() or not (project / "qmodel.npz").is_file():
        raise HiltError(f"{project}: not a project written by `hilt compile` (manifest.json, qmodel.npz missing)")
    q = QModel.load(project / "qmodel.npz")
    _, test_ds = load_splits(args.data, q.network)
    x = golden.quantize_input(q, test_ds.x[: args.samples])
    start = time.perf_counter()
    build(project, args.csim)
    built = time.perf_counter()
    taps = run(project, x, "train_forward", csim=args.csim)
    ran = time.perf_counter()
    ref = golden.run(q, x)
    rows = []
    for i, (a, b) in enumerate(zip(taps, ref)):
        name = "input" if i == 0 else q.network.layers[i - 1].name
        rows.append({"tap": name, "equal": bool(np.array_equal(a, b)), "mismatches": int((a != b).sum())})
    backward = json.loads((project / "manifest.json").read_text()).get("backward")
    if backward:
        from .csim import run_backward

        err = golden.error_at_logits(q, ref[-1], test_ds.y[: args.samples])
        errors, grads = run_backward(project, ref, err, csim=args.csim)
        bp = golden.backward(q, ref, err)
        for i in range(1, len(bp.errors) - 1):
            a, b = errors[i], bp.errors[i]
            rows.append({"tap": f"error {i}", "equal": bool(np.array_equal(a, b)), "mismatches": int((a != b).sum())})
        for name, g in grads.items():
            for key in ("weight", "bias"):
                a, b = g[key], bp.grads[name][key]
                rows.append({"tap": f"{name}.{key} gradient", "equal": bool(np.array_equal(a, b)),
                             "mismatches": int((a != b).sum())})
    done = time.perf_counter()
    ok = all(r["equal"] for r in rows)
    what = "every tap, error and gradient" if backward else "every tap"
    print(f"C-sim of {project.name}: {len(x)} images, build {built - start:.1f} s, forward {ran - built:.2f} s, "
          f"backward {done - ran:.2f} s; {what + ' equals the golden model' if ok else 'MISMATCH'}")
    for r in rows:
        if not r["equal"]:
            print(f"  {r['tap']}: {r['mismatches']} values differ")
    if args.json:
        write_json(args.json, {"project": str(project), "samples": len(x), "build_seconds": built - start,
                               "run_seconds": ran - built, "bit_exact": ok, "taps": rows})
    return 0 if ok else 1
