"""``hilt compile --engine sequential|auto``: the engine's project for a model, chosen automatically when the
streaming pipeline does not fit the board."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import HiltError

ENGINES = ("auto", "streaming", "sequential")
CALIB_MACS = 4e9  # calibration images as for every command, unless their float forward passes cost more MACs


def add_engine_argument(parser, default: str = "auto") -> None:
    parser.add_argument("--engine", choices=ENGINES, default=default,
                        help="streaming: one pipeline stage per layer, weights on chip; sequential: the "
                             "layer-sequential engine, weights and activations in DDR, programmed by "
                             "descriptors (docs/engine.md); auto: streaming if it fits the board, else "
                             f"sequential (default {default})")


def network_for(spec: str):
    """The network of MODEL; a zoo model is built directly (its ONNX round trip takes seconds for AlexNet)."""
    from .. import zoo
    from ..loading import load_network

    if not Path(spec).exists() and spec in zoo.names():
        return zoo.network(spec)
    return load_network(spec)


def streaming_fits(net, board, freq_mhz: float, bits: int, cap: float = 0.8, mode: str = "infer") -> tuple[bool, str]:
    """Whether the DSE finds a streaming design in ``mode`` within ``cap`` of the board, and its reason if not."""
    from ..dse import Space, search
    from ..plan import HLS

    try:  # the target `hilt compile` emits: what the streaming project would build
        search(Space(net, board, freq_mhz, mode, bits, target=HLS), cap)
    except HiltError as err:
        return False, str(err).split("; use the layer-sequential")[0]
    return True, ""


def streaming_mode(net) -> str:
    """The mode of the streaming project of ``net``: with the backward pipeline where every layer has a kernel."""
    from ..ops import HLS_BACKWARD_OPS

    return "train" if all(l.op in HLS_BACKWARD_OPS for l in net.layers if l.op != "softmax") else "infer"


def calibration_count(net, requested: int | None) -> int:
    """``--calib`` if given, else the one default calibration size capped at CALIB_MACS of float work."""
    from ..quant import CALIBRATION_IMAGES

    if requested:
        return requested
    return int(max(2, min(CALIBRATION_IMAGES, CALIB_MACS // max(1, net.macs))))


def calibrate(net, data: str, count: int, bits: int):
    """Forward-only formats on the first ``count`` training images of ``data`` fitted to the model (the
    engine never runs the integer backward pass; its training uses the host's float backward). Only those
    images are fitted: AlexNet's whole training set at 3x227x227 would take gigabytes."""
    from ..data import fit_to, load_splits
    from ..quant import calibrate_on

    train, _ = load_splits(data, shape=net.input_shape)
    calib = fit_to(train.subset(np.arange(min(count, len(train)))), net.input_shape)
    return calibrate_on(net, calib, bits, count, backward=False)


def compile_engine(args) -> int | None:
    """``hilt compile`` with --engine sequential, or auto when the streaming pipeline does not fit; None
    when auto chooses the streaming pipeline (the caller then generates it)."""
    from ..dse.boards import load_board
    from ..dse.sequential import search
    from ..validate import load_quantized
    from .project import write_project

    start = time.perf_counter()
    board = load_board(args.board)
    board.check_clock(args.freq)
    q = load_quantized(args.model) if args.model.endswith(".npz") else None
    net = q.network if q else network_for(args.model)
    if args.engine == "auto":
        mode = "infer" if args.forward_only else streaming_mode(net)
        fits, why = streaming_fits(net, board, args.freq, args.bits, args.cap, mode)
        if fits:
            return None
        if mode == "train" and streaming_fits(net, board, args.freq, args.bits, args.cap, "infer")[0]:
            print(f"{why}: generating the forward pipeline only (infer, train-forward, load-weights; the host does "
                  f"the backward pass)")
            args.forward_fallback = True
            return None
        print(f"{why}: generating the layer-sequential engine (weights in DDR) instead")
    if getattr(args, "folding", None):
        raise HiltError("--plan/--folding sets the streaming pipeline's per-layer units; the layer-sequential engine "
                        "takes its VEC x LANE from `hilt dse MODEL --engine sequential`")
    if args.bits != 8:
        raise HiltError(f"the layer-sequential engine computes int8; use --bits 8 (not {args.bits})")
    best = search(net, board, args.freq)
    from ..dse.sequential import EngineConfig

    cfg = EngineConfig(**best["config"])
    calib = 0
    if q is None:
        calib = calibration_count(net, args.calib)
        q = calibrate(net, args.data, calib, args.bits)
    manifest = write_project(q, args.output, cfg, board, args.freq, fuse_relu=True, source=args.model)
    out = Path(args.output)
    sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    print(f"wrote {out}: layer-sequential engine, VEC {cfg.vec} x LANE {cfg.lane}, {manifest['count']} descriptors, "
          f"DDR image {manifest['image_bytes'] / 2**20:.1f} MiB (parameters {manifest['param_region'][1] / 2**20:.1f} "
          f"MiB), predicted {best['ms']:.2f} ms per image on {board.name} at {args.freq:g} MHz"
          + (f"; calibrated on {calib} images" if calib else ""))
    print(f"  files: ddr.bin {sizes['ddr.bin'] / 2**20:.1f} MiB, model.npz {sizes['model.npz'] / 2**20:.1f} MiB; "
          f"{time.perf_counter() - start:.1f} s")
    return 0
