"""Forward throughput of the virtual chip against the golden model, measured in the same run.

Cases (LeNet-5, trained briefly so activations are realistic; batch 256):
- emulator, no faults, at f_safe (must be the golden path plus bookkeeping);
- emulator overclocked: the carry-settling timing model on the lanes that can fail, in its fast form
  (prefix sums, failure to failure) and as the sequential reference (addition by addition);
- emulator with stuck-at (2%) and SEU faults at f_safe.
Prints samples/s and each ratio to the golden model's fault-free forward. Usage:
    python benchmarks/emulator.py [--batch 256] [--seconds 3] [--freq 275] [--json FILE]
"""

from __future__ import annotations

import argparse
import json

from measure import rate  # benchmarks/ is on sys.path when a script in it runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--freq", type=float, default=275.0, help="overclocked case (MHz; f_safe is 200)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    from hilt import data, golden, zoo
    from hilt.accel import Emulator
    from hilt.faults import Chip, FaultConfig
    from hilt.frontend import import_onnx
    from hilt.quant import quantize
    from hilt.train import SGDConfig, train

    train_ds, test_ds = data.load_splits()
    net = train(import_onnx(zoo.build("lenet5")), train_ds.x[:2000], train_ds.y[:2000], SGDConfig(epochs=2),
                progress=False).network
    q = quantize(net, train_ds.x[:500])
    x = test_ds.x[: args.batch]
    results = {"batch": args.batch, "golden_samples_per_s": rate(lambda: golden.forward(q, x), len(x), args.seconds)}
    cases = {"no_faults": (Chip(), FaultConfig(), 200.0, False),
             f"timing_{args.freq:g}mhz": (Chip(), FaultConfig(), args.freq, False),
             f"timing_{args.freq:g}mhz_sequential": (Chip(), FaultConfig(), args.freq, True),
             "stuck_at_2pct_seu": (Chip(), FaultConfig(stuck_at_rate=0.02, seu_act_rate=1e-5, seu_acc_rate=1e-6), 200.0,
                                   False)}
    for name, (chip, faults, freq, sequential) in cases.items():
        emu = Emulator(chip, faults, sequential_timing=sequential)
        emu.load(q)
        emu.set_clock(freq)
        r = rate(lambda: emu.forward(x), len(x), args.seconds)
        results[name] = {"samples_per_s": r, "ratio_to_golden": r / results["golden_samples_per_s"]}
    print(f"golden int8 forward: {results['golden_samples_per_s']:,.0f} samples/s (batch {args.batch})")
    for name in cases:
        print(f"emulator {name:29s} {results[name]['samples_per_s']:>10,.0f} samples/s  "
              f"{results[name]['ratio_to_golden']:.3f}x golden")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
