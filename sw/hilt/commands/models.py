"""``hilt info``, ``hilt infer`` and ``hilt zoo``: looking at and running a model."""

from __future__ import annotations

import numpy as np

from ..errors import HiltError
from ..fileio import atomic_path
from ..loading import load_network
from ..validate import check_images, check_output_file, clock_mhz, load_npy, load_quantized, seed
from .common import shape_str, table, write_json

BACKENDS = ("float", "golden", "emu", "csim", "rtl", "simboard", "board")


def register(sub) -> None:
    p = sub.add_parser("info", help="layer table of a model: op, shapes, parameters, MACs",
                       description="Print each layer of MODEL (ONNX file or zoo name) with its op, input and "
                                   "output shapes, parameter count and multiply-accumulates per sample.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("infer", help="run a model on a .npy batch (float, golden int8, or the virtual chip)",
                       description="Run MODEL on an NCHW float32 batch and save the outputs. The golden "
                                   "backend is the bit-exact fixed-point model every hardware implementation "
                                   "is checked against; it calibrates on the input batch unless --quantized "
                                   "names a file written by `hilt quantize`. The emu backend runs the golden "
                                   "arithmetic on the virtual chip at --freq, with its timing errors; csim runs the "
                                   "generated HLS C++ compiled with g++; rtl runs the RTL twin in Verilator.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--input", required=True, metavar="X.npy", help="NCHW float32 batch (or one CHW sample)")
    p.add_argument("--output", required=True, metavar="Y.npy", help="where to write the outputs")
    p.add_argument("--backend", choices=BACKENDS, default="float")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8, help="golden: operand width (default 8)")
    p.add_argument("--quantized", metavar="QMODEL.npz", help="golden: formats and weights from `hilt quantize`")
    p.add_argument("--int", dest="raw_int", action="store_true",
                   help="golden/emu: write the integer logits instead of their float values")
    p.add_argument("--freq", type=clock_mhz, metavar="MHZ", help="emu: clock of the virtual chip (default: its f_safe)")
    from .chip import add_board_arguments, add_chip_arguments

    add_chip_arguments(p)
    add_board_arguments(p)
    p.set_defaults(func=cmd_infer)

    p = sub.add_parser("zoo", help="built-in models (list, export to ONNX)",
                       description="The model zoo: LeNet-5, the SVHN and CIFAR-10 nets of the BP-pipeline "
                                   "paper, and AlexNet as PipeCNN runs it, built directly as ONNX.")
    zsub = p.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    zl = zsub.add_parser("list", help="list the zoo models")
    zl.set_defaults(func=cmd_zoo_list)
    ze = zsub.add_parser("export", help="write a zoo model as ONNX")
    ze.add_argument("name")
    ze.add_argument("-o", "--output", required=True, metavar="FILE.onnx")
    ze.add_argument("--seed", type=seed, default=0, help="seed of the random initial weights (default 0)")
    ze.set_defaults(func=cmd_zoo_export)


def layer_rows(net) -> list[dict]:
    shape_in = net.input_shape
    rows = []
    for layer in net.layers:
        rows.append({"name": layer.name, "op": layer.op, "input": list(layer.in_shape or shape_in),
                     "output": list(layer.out_shape), "params": layer.param_count, "macs": layer.macs})
    return rows


def cmd_info(args) -> int:
    if args.json is not None:
        check_output_file(args.json, "--json")
    net = load_network(args.model)
    rows = layer_rows(net)
    text_rows = [[r["name"], r["op"], shape_str(r["input"]), shape_str(r["output"]), f"{r['params']:,}",
                  f"{r['macs']:,}"] for r in rows]
    text_rows.append(["total", "", shape_str(net.input_shape), shape_str(net.output_shape),
                      f"{net.param_count:,}", f"{net.macs:,}"])
    print(f"model {net.name}: {len(net.layers)} layers, {net.param_count / 1e6:.2f} M parameters, "
          f"{net.macs / 1e6:.1f} M MACs per sample")
    print(table(text_rows, ["layer", "op", "input", "output", "params", "MACs"], right={4, 5}))
    if args.json:
        write_json(args.json, {"name": net.name, "input_shape": list(net.input_shape), "layers": rows,
                               "params": net.param_count, "macs": net.macs})
    return 0


def _as_batch(x: np.ndarray, net, where: str) -> np.ndarray:
    if x.shape == tuple(net.input_shape):
        x = x[None]
    if x.ndim < 1 or x.shape[1:] != tuple(net.input_shape):
        raise HiltError(f"{where}: shape {shape_str(x.shape) or 'scalar'} does not match the model input "
                        f"Nx{shape_str(net.input_shape)}; save a batch of that shape")
    return check_images(x, where)


def cmd_infer(args) -> int:
    check_output_file(args.output, "--output")
    net = load_network(args.model)
    x = _as_batch(load_npy(args.input), net, args.input)
    if args.backend == "float":
        from ..reference import forward

        y = forward(net, x)
    else:
        from .. import golden
        from ..quant import quantize

        q = load_quantized(args.quantized) if args.quantized else quantize(net, x, bits=args.bits)
        if q.network.input_shape != net.input_shape:
            raise HiltError(f"{args.quantized}: quantized for input {shape_str(q.network.input_shape)}, "
                            f"the model takes {shape_str(net.input_shape)}; quantize this model")
        logits = golden.forward(q, x) if args.backend == "golden" else _on_accelerator(q, x, args)
        y = logits if args.raw_int else golden.dequantize(q, logits)
    with atomic_path(args.output) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, y)
    print(f"{args.backend}: {x.shape[0]} samples -> {args.output} {shape_str(y.shape)} {y.dtype}")
    return 0


def _on_accelerator(q, x, args):
    from ..accel import AcceleratorHang
    from .chip import accelerator_from_args

    accel = accelerator_from_args(args, q=q)
    accel.load(q)
    if args.freq is not None:
        accel.set_clock(args.freq)
    try:
        return accel.forward(x).logits
    except AcceleratorHang:
        crash = f" (above {accel.chip.f_crash_mhz:g} MHz)" if hasattr(accel, "chip") else ""
        raise HiltError(f"the accelerator hangs at {args.freq:g} MHz{crash}; lower --freq") from None


def cmd_zoo_list(args) -> int:
    from .. import zoo

    for name in zoo.names():
        print(f"{name:10s} {zoo.describe(name)}")
    return 0


def cmd_zoo_export(args) -> int:
    from .. import zoo

    if args.name not in zoo.names():
        raise HiltError(f"{args.name}: not a zoo model (zoo: {', '.join(zoo.names())})")
    import onnx

    check_output_file(args.output, "-o")
    model = zoo.build(args.name, seed=args.seed)
    with atomic_path(args.output) as tmp:
        onnx.save(model, str(tmp))
    print(f"wrote {args.output}")
    return 0
