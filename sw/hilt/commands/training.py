"""``hilt train``, ``hilt quantize`` and ``hilt eval``: host training and fixed-point accuracy."""

from __future__ import annotations

import numpy as np

from ..errors import HiltError
from ..fileio import atomic_path
from ..loading import load_network
from ..quant.calibrate import CALIBRATION_IMAGES
from ..validate import check_output_file, momentum, nonneg_float, positive_float, seed
from .common import add_data_argument, positive_int, table, write_json


def register(sub) -> None:
    from ..train import SGDConfig

    d = SGDConfig()
    p = sub.add_parser("train", help="train a model on the host (float32 SGD) and save it as ONNX",
                       description="Train MODEL with mini-batch SGD (momentum, weight decay, cosine schedule) "
                                   "on the bundled MNIST-5k or --data, report held-out accuracy per epoch, and "
                                   "write the trained model as ONNX. Deterministic for a given --seed.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", required=True, metavar="TRAINED.onnx")
    add_data_argument(p)
    p.add_argument("--epochs", type=positive_int, default=d.epochs, help=f"(default {d.epochs})")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size, help=f"(default {d.batch_size})")
    p.add_argument("--lr", type=positive_float, default=d.lr, help=f"peak learning rate (default {d.lr})")
    p.add_argument("--momentum", type=momentum, default=d.momentum, help=f"(default {d.momentum})")
    p.add_argument("--weight-decay", type=nonneg_float, default=d.weight_decay, help=f"(default {d.weight_decay})")
    p.add_argument("--schedule", choices=("cosine", "constant"), default=d.schedule)
    p.add_argument("--seed", type=seed, default=d.seed, help="shuffling seed (default 0)")
    p.add_argument("--metrics", metavar="FILE.json", help="write the config and per-epoch metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("quantize", help="calibrate fixed-point formats and write the quantized model",
                       description="Choose per-tensor fixed-point formats for MODEL on calibration images "
                                   "and write the quantized model (integer weights, formats, shifts, LRN tables and the "
                                   "float network) as one .npz file that `hilt infer --quantized` and later stages "
                                   "read.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", required=True, metavar="QMODEL.npz")
    add_data_argument(p)
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--calib", type=positive_int, default=CALIBRATION_IMAGES,
                   help=f"calibration images (default {CALIBRATION_IMAGES})")
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("eval", help="accuracy of a model on held-out data (float and/or fixed point)",
                       description="Top-1 accuracy of MODEL on the held-out images of --data, with the float "
                                   "reference and/or the golden fixed-point model calibrated on training images.")
    p.add_argument("model", metavar="MODEL")
    add_data_argument(p)
    p.add_argument("--backend", default="float,golden", metavar="LIST",
                   help="comma-separated: float, golden, simboard (the PYNQ driver on the simulated board), board "
                        "(a PYNQ board, with --overlay) (default: float,golden)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8)
    p.add_argument("--calib", type=positive_int, default=CALIBRATION_IMAGES,
                   help=f"calibration images (default {CALIBRATION_IMAGES})")
    p.add_argument("--json", metavar="FILE", help="write the accuracies as JSON")
    from ..board.backend import add_arguments as add_board_arguments

    add_board_arguments(p)
    p.set_defaults(func=cmd_eval)


def load_splits(spec: str, net):
    """(train, held_out) data sets of ``spec``, fitted to the network's input shape."""
    from .. import loading

    return loading.load_splits(spec, net)


def _check_classes(net, ds) -> None:
    n_out = net.output_shape[0]
    if int(ds.y.max()) >= n_out:
        raise HiltError(f"model {net.name} has {n_out} outputs but the data has labels up to {int(ds.y.max())}")


def cmd_train(args) -> int:
    from ..frontend import export_onnx
    from ..train import SGDConfig, train

    check_output_file(args.output, "-o")
    if args.metrics is not None:
        check_output_file(args.metrics, "--metrics")
    net = load_network(args.model)
    train_ds, test_ds = load_splits(args.data, net)
    _check_classes(net, train_ds)
    _check_classes(net, test_ds)
    config = SGDConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
                       weight_decay=args.weight_decay, schedule=args.schedule, seed=args.seed)
    print(f"training {net.name} on {len(train_ds)} images ({args.data}), {len(test_ds)} held out")
    result = train(net, train_ds.x, train_ds.y, config, val=(test_ds.x, test_ds.y), progress=not args.quiet)
    export_onnx(result.network, args.output)
    final = result.final
    print(f"held-out accuracy {final['val_accuracy']:.4f} after {config.epochs} epochs -> {args.output}")
    if args.metrics:
        write_json(args.metrics, {"config": vars(config), "data": args.data, "history": result.history})
    return 0


def cmd_quantize(args) -> int:
    from ..quant import calibrate_on

    check_output_file(args.output, "-o")
    net = load_network(args.model)
    train_ds, _ = load_splits(args.data, net)
    q = calibrate_on(net, train_ds, args.bits, args.calib)
    with atomic_path(args.output) as tmp:
        q.save(tmp)
    print(q.summary())
    print(f"wrote {args.output}")
    return 0


def evaluate(net, backends, train_ds, test_ds, bits: int = 8, calib: int = CALIBRATION_IMAGES,
             overlay: str | None = None, board_file: str = "pynq-z2") -> dict[str, float]:
    """Held-out accuracy per backend; the integer backends share one model calibrated on training images only."""
    from functools import cache

    @cache
    def quantized():
        from ..quant import calibrate_on

        return calibrate_on(net, train_ds, bits, calib)

    results = {}
    for backend in backends:
        if backend == "float":
            from ..train import evaluate_float

            results["float"] = evaluate_float(net, test_ds.x, test_ds.y)
        elif backend == "golden":
            from .. import golden

            pred = golden.predict(quantized(), test_ds.x)
            results[f"golden_int{bits}"] = float(np.mean(pred == test_ds.y))
        elif backend in ("simboard", "board"):
            from ..board.backend import open_backend
            from ..faults import Chip

            accel = open_backend(backend, quantized(), Chip(), overlay=overlay, board_file=board_file)
            results[backend] = float(np.mean(accel.predict(test_ds.x) == test_ds.y))
        else:
            raise HiltError(f"--backend {backend}: unknown backend (choose from float, golden, simboard, board)")
    return results


def cmd_eval(args) -> int:
    if args.json is not None:
        check_output_file(args.json, "--json")
    net = load_network(args.model)
    train_ds, test_ds = load_splits(args.data, net)
    _check_classes(net, test_ds)
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    results = evaluate(net, backends, train_ds, test_ds, bits=args.bits, calib=args.calib, overlay=args.overlay,
                       board_file=args.board_file)
    rows = [[name, f"{acc * 100:.2f}%"] for name, acc in results.items()]
    if "float" in results and len(results) > 1:
        for name, acc in results.items():
            if name != "float":
                rows.append([f"{name} - float", f"{(acc - results['float']) * 100:+.2f} points"])
    print(f"{net.name} on {len(test_ds)} held-out images ({args.data})")
    print(table(rows, ["backend", "accuracy"], right={1}))
    if args.json:
        write_json(args.json, {"model": net.name, "data": args.data, "held_out": len(test_ds),
                               "accuracy": results})
    return 0
