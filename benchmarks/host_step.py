"""The host's share of a hardware-in-the-loop training step (LeNet-5), against the accelerator's.

One step of ``hilt.train.hil.finetune`` is: the accelerator's forward pass with taps (FPGA), then on the host
the backward pass through the returned activations, the SGD update and the re-quantization of the weights
(the "host step"), then the weight load through the DMA. This measures the host step on this machine, and
the golden forward pass in the same run as a reference for this machine's speed; the FPGA's time comes from
the DSE's performance model (cycles per sample of the design at the given folding and clock) and the DMA's
weight load from the board's DMA width. The ARM's time is this machine's times ``--arm-factor``: a stated
assumption, not a measurement (no ARM core here). Usage:
    python benchmarks/host_step.py [--batch 32] [--seconds 3] [--freq 200] [--board pynq-z2] [--arm-factor 10]
"""

from __future__ import annotations

import argparse
import copy
import json

from measure import rate  # benchmarks/ is on sys.path when a script in it runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--freq", type=float, default=200.0)
    parser.add_argument("--board", default="pynq-z2")
    parser.add_argument("--arm-factor", type=float, default=10.0,
                        help="assumed slowdown of the board's ARM against this machine's core (default 10)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    from hilt import data, golden, zoo
    from hilt.dse.boards import load_board
    from hilt.dse.perf import performance
    from hilt.frontend import import_onnx
    from hilt.ir.folding import default_folding
    from hilt.quant import quantize
    from hilt.train.hil import host_backward
    from hilt.train.sgd import SGD, SGDConfig

    train_ds, _ = data.load_splits("mnist5k")
    net = import_onnx(zoo.build("lenet5", seed=0))
    x, y = train_ds.x[:args.batch], train_ds.y[:args.batch]
    q = quantize(net, train_ds.x[:500], labels=train_ds.y[:500])
    taps = golden.run(q, golden.quantize_input(q, x))
    work = copy.deepcopy(q)
    opt = SGD(work.network, SGDConfig())

    def host_step():
        _, grads, _ = host_backward(work, taps, y)
        opt.step(grads, 0.01)
        work.requantize_weights(opt.params)

    host = rate(host_step, args.batch, args.seconds)           # samples/s
    fwd = rate(lambda: golden.forward(q, x), args.batch, args.seconds)

    board = load_board(args.board)
    units = {(n, "fwd"): f for n, f in default_folding(net).items()}
    perf = performance(net, units, args.freq, "infer")
    fpga_s = (perf.latency_cycles + (args.batch - 1) * perf.ii_cycles) / (args.freq * 1e6)
    weight_bytes = sum(l.params["weight"].size + 4 * l.params["bias"].size for l in net.weighted_layers())
    load_s = weight_bytes / (board.bytes_per_cycle(args.freq) * args.freq * 1e6)
    host_here_s = args.batch / host
    host_arm_s = host_here_s * args.arm_factor
    total = host_arm_s + fpga_s + load_s
    out = {"batch": args.batch, "host_step_ms_here": 1e3 * host_here_s, "golden_forward_ms_here": 1e3 * args.batch / fwd,
           "host_step_over_golden_forward": fwd / host, "fpga_forward_ms": 1e3 * fpga_s,
           "weight_load_ms": 1e3 * load_s, "arm_factor_assumed": args.arm_factor,
           "host_step_ms_arm_estimate": 1e3 * host_arm_s, "arm_share": host_arm_s / total,
           "fpga_share": (fpga_s + load_s) / total, "freq_mhz": args.freq, "board": args.board,
           "fpga_ii_cycles": perf.ii_cycles, "fpga_latency_cycles": perf.latency_cycles}
    for k, v in out.items():
        print(f"{k:32s} {v:.4g}" if isinstance(v, float) else f"{k:32s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
