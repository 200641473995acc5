"""Hardware-in-the-loop fine-tuning through the layer-sequential engine (emulator backend).

The scaled AlexNet (hilt.engine.nets: 11x11 stride-4 conv, LRN, overlapping pools, grouped convs, three
dense layers) is trained in float on MNIST-5k images fitted to 3x115x115, quantized to int8 and run on
the virtual chip with the engine's shared VEC x LANE MAC lanes. The script finds the lowest clock (from
--start upwards) at which held-out accuracy falls by at least --drop points, fine-tunes there with
forward passes on the engine and backward + update on the host, and reports accuracy before and after.
Usage:
    python benchmarks/engine_hil.py [--train 2000] [--test 500] [--epochs 4] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=4, help="float training epochs")
    parser.add_argument("--hil-epochs", type=int, default=1)
    parser.add_argument("--start", type=float, default=240.0)
    parser.add_argument("--step", type=float, default=10.0)
    parser.add_argument("--drop", type=float, default=10.0, help="accuracy points the overclock must cost")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    import numpy as np

    from hilt import data
    from hilt.dse.sequential import EngineConfig
    from hilt.engine.accel import EngineEmulator
    from hilt.engine.nets import scaled_alexnet
    from hilt.faults import Chip, FaultConfig
    from hilt.quant import quantize
    from hilt.train import SGDConfig, train
    from hilt.train.hil import HILConfig, finetune

    start = time.perf_counter()
    net = scaled_alexnet()
    tr, te = data.load_splits()
    tr = data.fit_to(tr.subset(np.arange(args.train)), net.input_shape)
    te = data.fit_to(te.subset(np.arange(args.test)), net.input_shape)
    trained = train(net, tr.x, tr.y, SGDConfig(epochs=args.epochs, lr=0.02), progress=False).network
    q = quantize(trained, tr.x[:256], labels=tr.y[:256])
    emu = EngineEmulator(Chip(seed=0, f_safe_mhz=200.0), FaultConfig(), EngineConfig(vec=8, lane=16))

    def accuracy(model, mhz):
        emu.load(model)
        emu.set_clock(mhz)
        return float((emu.predict(te.x) == te.y).mean())

    base = accuracy(q, 200.0)
    sweep, freq, hurt = [], args.start, None
    while freq < emu.chip.f_crash_mhz:
        acc = accuracy(q, freq)
        sweep.append({"freq_mhz": freq, "accuracy": acc})
        print(f"{freq:g} MHz: {acc * 100:.1f}%", flush=True)
        if base - acc >= args.drop / 100:
            hurt = freq
            break
        freq += args.step
    if hurt is None:
        raise SystemExit("no clock below the crash frequency costs the requested accuracy")
    emu.set_clock(hurt)
    result = finetune(q, emu, tr.x, tr.y, HILConfig(epochs=args.hil_epochs, lr=0.005, batch_size=32),
                      progress=False)
    after = accuracy(result.qmodel, hurt)
    lost, recovered = base - sweep[-1]["accuracy"], after - sweep[-1]["accuracy"]
    out = {"float_trained_epochs": args.epochs, "train": args.train, "test": args.test, "f_safe_accuracy": base,
           "freq_mhz": hurt, "before": sweep[-1]["accuracy"], "after": after, "lost_points": lost * 100,
           "recovered_points": recovered * 100, "recovered_share": recovered / lost if lost else None,
           "sweep": sweep, "seconds": time.perf_counter() - start}
    print(f"scaled AlexNet on the engine (emulator, LANE 16): {base * 100:.1f}% at f_safe 200 MHz, "
          f"{out['before'] * 100:.1f}% at {hurt:g} MHz, {after * 100:.1f}% after {args.hil_epochs} epoch(s) of "
          f"hardware-in-the-loop fine-tuning: {out['recovered_points']:.1f} of {out['lost_points']:.1f} points back")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
