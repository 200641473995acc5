"""``hilt compile`` (quantized model -> HLS project) and ``hilt csim`` (g++ C simulation vs golden model)."""

from __future__ import annotations

from pathlib import Path

from ..errors import HiltError

CSIM_MODES = ("bounded", "unbounded", "vendor")  # hilt.codegen.csim builds (its "threads" stays a Python-API option)


def register(sub) -> None:
    from ..commands.common import add_data_argument, positive_int
    from ..quant.calibrate import CALIBRATION_IMAGES
    from ..validate import clock_mhz

    p = sub.add_parser("compile", help="generate the HLS C++ project of a model (sources, Tcl, testbench)",
                       description="Quantize MODEL (ONNX file, zoo name, or a .npz from `hilt quantize`) and write a "
                                   "self-contained Vitis HLS project to DIR: top function, per-layer parameter "
                                   "header, kernel library, weight stream, C-sim testbench, csynth.tcl, manifest.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="project folder; an existing folder is replaced only if hilt wrote it (or with --force)")
    p.add_argument("--force", action="store_true",
                   help="replace DIR even if it holds files hilt did not write")
    p.add_argument("--board", default="zcu104", help="board (part and clock limits; default zcu104)")
    p.add_argument("--freq", type=clock_mhz, default=200.0, metavar="MHZ", help="target clock (default 200)")
    p.add_argument("--plan", "--folding", metavar="JSON", dest="folding",
                   help="the hardware plan: a `hilt dse --target hls --json` report (its chosen plan), a plan, or "
                        "per-layer {pe, simd} of the forward units (--folding: the same)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--rtl", action="store_true", help="also write the RTL twin (SystemVerilog, DIR/rtl) for "
                                                      "`hilt rtlsim`, with the same folding")
    add_data_argument(p)
    p.add_argument("--calib", type=positive_int,
                   help=f"calibration images (default {CALIBRATION_IMAGES}, as every command; the layer-sequential "
                        "engine takes fewer for big models, at most 4 GMAC of float work)")
    from ..engine.command import add_engine_argument

    add_engine_argument(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("csim", help="compile a generated project with g++ and compare it with the golden model",
                       description="Build DIR's C simulation with g++ (cached), run held-out images through it and "
                                   "compare every layer's integer output with the golden model (==).")
    p.add_argument("project", metavar="DIR")
    add_data_argument(p)
    p.add_argument("--samples", type=positive_int, default=100, help="images to run (default 100)")
    p.add_argument("--csim", choices=CSIM_MODES, default="bounded",
                   help="bounded (default): every dataflow process concurrent over FIFOs of their declared depths, "
                        "a deadlock reported with exit code 1, as on silicon; unbounded: unbounded queues, processes "
                        "one after the other (about 6x faster, proves nothing about depths); vendor: Xilinx's "
                        "hls_stream.h / ap_int.h C-sim headers (installed with the hls4ml package)")
    p.add_argument("--json", metavar="FILE")
    p.set_defaults(func=cmd_csim)


def load_quantized(spec: str, data: str, bits: int, calib: int):
    from ..quant import calibrate_on

    if spec.endswith(".npz"):
        from ..validate import load_quantized

        return load_quantized(spec)
    from ..loading import load_network, load_splits

    net = load_network(spec)
    train_ds, _ = load_splits(data, net)
    return calibrate_on(net, train_ds, bits, calib)


def cmd_compile(args) -> int:
    from ..dse.boards import load_board
    from ..plan import HLS, load_plan
    from ..quant.calibrate import CALIBRATION_IMAGES
    from ..validate import check_output_dir
    from .project import compile_project

    check_output_dir(args.output, args.force)  # before either architecture writes anything
    if args.engine != "streaming":
        from ..engine.command import compile_engine

        done = compile_engine(args)
        if done is not None:
            return done
    board = load_board(args.board)
    board.check_clock(args.freq)
    q = load_quantized(args.model, args.data, args.bits, args.calib or CALIBRATION_IMAGES)
    plan = None
    if args.folding:
        plan = load_plan(args.folding, q.network, target=HLS, mode="train" if q.err_out_fmt else "infer",
                         bits=q.bits, acc_bits=q.acc_bits, freq_mhz=args.freq, board=board.key)
    manifest = compile_project(q, args.output, board, args.freq, plan=plan, source=args.model,
                               extra=_rtl_twin(q, board, args.model) if args.rtl else None)
    print(f"wrote {args.output}: {len(manifest['layers'])} layers, top {manifest['top']}, "
          f"{board.name} at {args.freq:g} MHz (generated in {manifest['seconds']:.2f} s)")
    return 0


def _rtl_twin(q, board, source: str):
    """--rtl: the RTL twin written into the project folder (DIR/rtl) before the folder moves into place."""
    def write(project: Path, manifest: dict) -> dict:
        from ..plan import HardwarePlan
        from ..rtl.design import write_rtl

        # the twin is rendered from the plan the HLS project was generated from (its forward units)
        return {"rtl": write_rtl(q, project / "rtl", HardwarePlan.from_json(manifest["plan"]),
                                 board.dma_width_bits, manifest["name"], source)}
    return write


def cmd_csim(args) -> int:
    from .. import golden
    from ..commands.common import write_json
    from ..experiments import compare_with_golden
    from ..loading import load_splits

    project = Path(args.project)
    if not (project / "manifest.json").is_file() or not (project / "qmodel.npz").is_file():
        raise HiltError(f"{project}: not a project written by `hilt compile` (manifest.json, qmodel.npz missing)")
    from ..validate import check_output_file, load_quantized, mapping, read_json

    if args.json is not None:
        check_output_file(args.json, "--json")
    backward = mapping(read_json(project / "manifest.json", "project manifest"), "manifest.json").get("backward")
    q = load_quantized(project / "qmodel.npz")
    _, test_ds = load_splits(args.data, q.network)
    x = golden.quantize_input(q, test_ds.x[: args.samples])
    seconds: dict = {}
    rows = compare_with_golden(project, q, x, test_ds.y[: args.samples], seconds, args.csim)
    ok = all(r["equal"] for r in rows)
    what = "every tap, error and gradient" if backward else "every tap"
    print(f"C-sim ({args.csim}) of {project.name}: {len(x)} images, build {seconds['build']:.1f} s, forward {seconds['forward']:.2f} s, "
          f"backward {seconds['backward']:.2f} s; {what + ' equals the golden model' if ok else 'MISMATCH'}")
    for r in rows:
        if not r["equal"]:
            print(f"  {r['tap']}: {r['mismatches']} values differ")
    if args.json:
        write_json(args.json, {"project": str(project), "samples": len(x), "build_seconds": seconds["build"],
                               "run_seconds": seconds["forward"], "csim": args.csim, "bit_exact": ok, "taps": rows})
    return 0 if ok else 1
