"""``hilt build MODEL --board B --freq F``: a model to a PYNQ overlay through Vitis HLS and Vivado."""

from __future__ import annotations


def register(sub) -> None:
    from ..commands.common import add_data_argument, positive_int
    from ..quant.calibrate import CALIBRATION_IMAGES
    from .kinds import KINDS

    p = sub.add_parser(
        "build", help="model -> HLS IP -> Vivado block design -> bitstream -> PYNQ overlay folder",
        description="Check MODEL fits --board (DSE), generate its HLS project, run Vitis HLS (C synthesis, IP "
                    "export) and Vivado (block design: PS, AXI DMA, the accelerator on a clocking wizard output "
                    "at --freq with dynamic reconfiguration, GPIO-driven reset; implementation; bitstream), read "
                    "the timing report back and write the overlay folder DIR/overlay (NAME.bit, NAME.hwh, "
                    "manifest.json, NAME.qmodel.npz). Stages whose inputs did not change are skipped; each vendor "
                    "run's log is kept in DIR/logs. Without vitis_hls/vivado on PATH it stops at the first vendor "
                    "call naming the tool and its settings script (exit 2). Walk-through: docs/build.md.")
    p.add_argument("model", metavar="MODEL", help="ONNX file, zoo name, or a .npz written by `hilt quantize`")
    p.add_argument("--board", default="zcu104", help="board (a boards/*.yaml stem or a YAML path; default zcu104)")
    p.add_argument("--freq", type=float, default=200.0, metavar="MHZ",
                   help="accelerator clock (clocking wizard output and HLS target; default 200)")
    p.add_argument("--plan", "--folding", metavar="JSON", dest="plan",
                   help="the hardware plan: a `hilt dse --target hls --json` report (its chosen plan), a plan, "
                        "per-layer {pe, simd} of the forward units, or a built overlay's manifest.json "
                        "(default: the DSE's fastest HLS design that fits)")
    p.add_argument("-o", "--output", metavar="DIR", help="build folder (default out/NAME_BOARD_FREQMHz)")
    p.add_argument("--engine", "--kind", dest="kind", default="auto", choices=["auto", *sorted(KINDS)],
                   help="accelerator kind: streaming (one pipeline stage per layer, weights on chip), sequential "
                        "(the layer-sequential engine: weights and activations in DDR, its own AXI4 masters, no "
                        "DMA; docs/engine.md), or auto: streaming if the DSE fits it on --board, else sequential, "
                        "as `hilt compile --engine auto` (default auto)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--cap", type=float, default=0.8, help="DSE utilisation cap per resource (default 0.8)")
    p.add_argument("--jobs", type=positive_int, default=4, help="Vivado implementation jobs (default 4)")
    p.add_argument("--calib", type=positive_int,
                   help=f"calibration images (default {CALIBRATION_IMAGES}, as every command; the sequential engine "
                        "takes fewer for a large model, as `hilt compile`)")
    add_data_argument(p)
    p.add_argument("--csim", action="store_true", help="C-simulate the generated project against the golden model "
                                                       "(g++) before the vendor tools")
    p.add_argument("--dry-run", action="store_true", help="stop before the first vendor tool call (exit 0)")
    p.add_argument("--until", choices=("tcl", "hls", "vivado"),
                   help="stop after this stage (tcl: generated files only; hls: the exported IP; vivado: bitstream "
                        "without packaging)")
    p.add_argument("--json", metavar="FILE", help="the overlay manifest, or the stages run, as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines, no vendor tool output")
    p.set_defaults(func=cmd_build)


def cmd_build(args) -> int:
    from ..commands.common import write_json
    from .flow import Request, build

    req = Request(model=args.model, board=args.board, freq_mhz=args.freq, output=args.output, plan=args.plan,
                  kind=args.kind, bits=args.bits, data=args.data, calib=args.calib, cap=args.cap, jobs=args.jobs,
                  dry_run=args.dry_run, until=args.until, csim=args.csim, quiet=args.quiet)
    man = build(req)
    if args.json:
        write_json(args.json, man if man is not None else {"dry_run": True, "stages": req.log})
    return 0
