"""C-simulation speed of a generated design: the bounded C-sim (a thread per dataflow process, FIFOs at
their declared depths) against the fast unbounded one (processes in order), measured in the same run.

LeNet-5 (MNIST-5k calibration), every mode on the same images; each result is checked against the golden
model (==) before it is timed. Prints samples/s per mode and C-sim, and bounded / unbounded. Usage:
    python benchmarks/csim.py [--samples 20] [--seconds 2] [--model lenet5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from measure import rate  # benchmarks/ is on sys.path when a script in it runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    from hilt import data, golden, zoo
    from hilt.codegen import compile_project
    from hilt.codegen.csim import build, run, run_backward
    from hilt.quant import quantize

    rng = np.random.default_rng(0)
    net = zoo.network(args.model, seed=1)
    if tuple(net.input_shape) == (1, 28, 28):
        train_ds, test_ds = data.load_splits()
        calib, x, labels = train_ds.x[:256], test_ds.x[: args.samples], test_ds.y[: args.samples]
    else:
        calib = rng.random((64, *net.input_shape), dtype=np.float32)
        x, labels = calib[: args.samples], rng.integers(0, 10, args.samples)
    q = quantize(net, calib, labels=np.zeros(len(calib), int))
    results = {"model": args.model, "samples": args.samples}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "p"
        compile_project(q, project)
        x_int = golden.quantize_input(q, x)
        ref = golden.run(q, x_int)
        err = golden.error_at_logits(q, ref[-1], labels)
        for csim in ("bounded", "unbounded"):
            build(project, csim)
            assert np.array_equal(run(project, x_int, "infer", csim=csim)[0], ref[-1])
            for mode in ("infer", "train_forward"):
                results[f"{csim}_{mode}"] = rate(lambda: run(project, x_int, mode, csim=csim), len(x), args.seconds)
            if q.err_out_fmt is not None:
                results[f"{csim}_backward"] = rate(lambda: run_backward(project, ref, err, csim=csim), len(x),
                                                   args.seconds)
    for mode in ("infer", "train_forward", "backward"):
        if f"bounded_{mode}" in results:
            b, u = results[f"bounded_{mode}"], results[f"unbounded_{mode}"]
            results[f"ratio_{mode}"] = b / u
            print(f"{mode:14s} bounded {b:9.1f} samples/s  unbounded {u:9.1f} samples/s  bounded/unbounded {b / u:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
