"""``hilt compile`` (quantized model -> HLS project) and ``hilt csim`` (g++ C simulation vs golden model)."""

from __future__ import annotations

from pathlib import Path

from ..errors import HiltError

CSIM_MODES = ("bounded", "unbounded", "vendor")  # hilt.codegen.csim builds (its "threads" stays a Python-API option)
DEFAULT_CAP = 0.8  # the DSE's default utilisation cap


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
                   help="replace DIR even if it holds files hilt did not write, and write a design whose memory "
                        "plan exceeds the board at the utilisation cap (the manifest says so)")
    p.add_argument("--board", default="zcu104", help="board (part and clock limits; default zcu104)")
    p.add_argument("--freq", type=clock_mhz, default=200.0, metavar="MHZ", help="target clock (default 200)")
    p.add_argument("--plan", "--folding", metavar="JSON", dest="folding",
                   help="the hardware plan: a `hilt dse --target hls --json` report (its chosen plan), a plan, or "
                        "per-layer {pe, simd} of the forward units (--folding: the same); default: the DSE's fastest "
                        "plan that fits the board (`hilt dse --target hls` in the design's mode)")
    p.add_argument("--forward-only", action="store_true",
                   help="no backward pipeline: infer, train-forward (taps out) and load-weights only; the host does "
                        "the backward pass")
    p.add_argument("--cap", type=float, default=DEFAULT_CAP,
                   help=f"utilisation cap per resource the design must fit (default {DEFAULT_CAP})")
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
    from .project import compile_project, design_mode, project_plan

    check_output_dir(args.output, args.force)  # before either architecture writes anything
    if args.engine != "streaming":
        from ..engine.command import compile_engine

        done = compile_engine(args)
        if done is not None:
            return done
    if not 0 < args.cap <= 1:
        raise HiltError(f"--cap {args.cap:g}: give a utilisation fraction in (0, 1]")
    board = load_board(args.board)
    board.check_clock(args.freq)
    q = load_quantized(args.model, args.data, args.bits, args.calib or CALIBRATION_IMAGES)
    forward_only = args.forward_only or getattr(args, "forward_fallback", False)
    mode = "infer" if forward_only else design_mode(q)
    if args.folding:
        plan = load_plan(args.folding, q.network, target=HLS, mode=mode, bits=q.bits, acc_bits=q.acc_bits,
                         freq_mhz=args.freq, board=board.key)
    else:
        plan = searched_plan(q, board, args.freq, mode, args.cap, args.force)
    plan = project_plan(q, board, args.freq, plan=plan, forward_only=forward_only)
    check_fits(q.network, plan, board, args.cap, args.force)  # before anything is written
    manifest = compile_project(q, args.output, board, args.freq, plan=plan, source=args.model,
                               extra=_rtl_twin(q, board, args.model) if args.rtl else None, cap=args.cap)
    memory = manifest["memory"]
    use = ", ".join(f"{memory['totals'][r] + memory['shell'].get(r, 0):,} of {memory['board'][r]:,} {r}"
                    for r in ("bram18", "uram") if memory["board"][r])
    print(f"wrote {args.output}: {len(manifest['layers'])} layers, top {manifest['top']}, {plan.mode} design, "
          f"{board.name} at {args.freq:g} MHz (generated in {manifest['seconds']:.2f} s); on-chip memory {use}"
          + ("" if memory["fits"] else f" -- DOES NOT FIT at {args.cap:.0%} (--force): {memory['overflow']}"))
    return 0


def searched_plan(q, board, freq_mhz: float, mode: str, cap: float, force: bool):
    """The DSE's fastest HLS plan that fits ``board`` (None with --force when none fits: the unfolded plan)."""
    from ..dse import Space, search
    from ..plan import HLS

    from ..plan.memory import memory_plan, overflow
    from .project import shell_blocks

    space = Space(q.network, board, freq_mhz, mode, q.bits, target=HLS)
    try:
        return search(space, cap).chosen.plan
    except HiltError as err:
        if force:
            return None
        reason = str(err).split("; use the layer-sequential")[0]
        smallest = space.smallest(cap).plan  # the design closest to fitting: the array that takes most
        why = overflow(memory_plan(q.network, smallest, board), board, cap, shell_blocks(board))
        if why:
            reason += f"; its smallest design needs {why}"
        hint = "" if mode == "infer" else ", --forward-only (the host does the backward pass)"
        raise HiltError(f"{reason}; try another board (--board){hint}, --engine sequential, or --force to write "
                        f"the unfolded design anyway") from None


def check_fits(net, plan, board, cap: float, force: bool) -> None:
    """Refuse (one line: the resource, the layer and array that take most of it, what to do) a plan whose
    memory plan exceeds ``board`` at ``cap``, unless ``force``."""
    from ..plan.memory import memory_plan, overflow
    from .project import shell_blocks

    why = overflow(memory_plan(net, plan, board), board, cap, shell_blocks(board))
    if why and not force:
        raise HiltError(f"{net.name} ({plan.mode} design) does not fit {board.name}: its memory plan needs {why}; "
                        f"give a plan with less folding or other memories (`hilt dse --target hls`), another board "
                        f"(--board), or --force to write it anyway")


def _rtl_twin(q, board, source: str):
    """--rtl: the RTL twin written into the project folder (DIR/rtl) before the folder moves into place."""
    def write(project: Path, manifest: dict) -> dict:
        from ..plan import HardwarePlan
        from ..rtl.design import write_rtl

        # the twin is rendered from the plan the HLS project was generated from (its forward, error and
        # gradient units), with a backward pipeline exactly when the project has one
        return {"rtl": write_rtl(q, project / "rtl", HardwarePlan.from_json(manifest["plan"]),
                                 board.dma_width_bits, manifest["name"], source,
                                 backward=bool(manifest.get("backward")))}
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
