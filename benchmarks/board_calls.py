"""What the driver and the simulated board's register, DMA and DDR models cost, against the same work done
directly in the same run (LeNet-5, PYNQ-Z2 overlay at f_safe, batch 32):

- forward with taps through the driver (``Board.forward``) against the emulator's ``forward``;
- MODE_BACKWARD through the driver (``Board.backward``) against the golden model's ``backward``;
- the layer-sequential engine's driver (``EngineBoard.forward``, one engine run per image) against the engine
  emulator's ``forward``.

The ratios say how much of a simulated-board run is the simulation of the board (packing, DMA and register
models, DDR copies); on silicon the accelerator does the work instead. Run with the board environment:
    .venv-board/bin/python benchmarks/board_calls.py [--batch 32] [--seconds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
from pathlib import Path

from measure import rate  # benchmarks/ is on sys.path when a script in it runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    import numpy as np

    from hilt import golden, zoo
    from hilt.accel import Emulator
    from hilt.board import open_board
    from hilt.board.design import write_overlay
    from hilt.dse.sequential import EngineConfig
    from hilt.engine.accel import EngineEmulator
    from hilt.faults import Chip
    from hilt.frontend import import_onnx
    from hilt.quant import quantize

    rng = np.random.default_rng(0)
    net = import_onnx(zoo.build("lenet5", seed=0))
    q = quantize(net, rng.random((64, 1, 28, 28), dtype=np.float32))
    x = rng.random((args.batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, args.batch)
    chip = Chip(seed=0, f_safe_mhz=200.0)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        board = open_board(write_overlay(q, Path(tmp) / "s", freq_mhz=200.0), simulated=True, chip=copy.deepcopy(chip))
        board.load(q)
        emu = Emulator(copy.deepcopy(chip))
        emu.load(q)
        taps = emu.forward(x, taps=True).taps
        err = golden.error_at_logits(q, taps[-1], labels)
        rows["forward with taps"] = (rate(lambda: board.forward(x, taps=True), len(x), args.seconds),
                                     rate(lambda: emu.forward(x, taps=True), len(x), args.seconds), "emulator")
        rows["backward"] = (rate(lambda: board.backward(taps, err), len(x), args.seconds),
                            rate(lambda: golden.backward(q, taps, err), len(x), args.seconds), "golden backward")
        cfg = EngineConfig(vec=4, lane=8)
        engine = open_board(write_overlay(q, Path(tmp) / "e", freq_mhz=200.0, engine=cfg), simulated=True,
                            chip=copy.deepcopy(chip))
        engine.load(q)
        eng_emu = EngineEmulator(copy.deepcopy(chip), config=engine.config)
        eng_emu.load(q)
        xs = x[:8]
        rows["engine forward with taps"] = (rate(lambda: engine.forward(xs, taps=True), len(xs), args.seconds),
                                            rate(lambda: eng_emu.forward(xs, taps=True), len(xs), args.seconds),
                                            "engine emulator")
    print(f"LeNet-5, batch {args.batch} (engine: {min(8, args.batch)} images, one run each), simulated PYNQ-Z2")
    print(f"{'call':<26s}{'simboard samples/s':>20s}{'reference samples/s':>22s}{'ratio':>8s}  reference")
    out = {}
    for name, (sim, ref, what) in rows.items():
        print(f"{name:<26s}{sim:>20.1f}{ref:>22.1f}{sim / ref:>8.2f}  {what}")
        out[name] = {"simboard": sim, "reference": ref, "ratio": sim / ref, "reference_is": what}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
