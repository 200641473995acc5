"""The RTL twin behind the Accelerator interface: slow (a cycle-accurate simulation per call) but exact.

``load`` generates the twin when the model's formats change (shifts are compiled into the RTL) and
otherwise only re-sends the weights (MODE_LOAD_WEIGHTS) with the next call, as a host re-loads a
board after each training step.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from ..accel.base import Accelerator, ForwardResult
from ..golden import quantize_input
from ..quant import QModel
from . import design, twin


def _signature(q: QModel) -> list:
    return [[ql.name, ql.shift, ql.in_fmt.to_json(), ql.out_fmt.to_json()] for ql in q.layers]


class RTLSim(Accelerator):
    name = "rtl"

    def __init__(self, rtl_dir: str | Path | None = None, folding=None, beat_bits: int = design.DEFAULT_BEAT,
                 backpressure: bool = False):
        super().__init__()
        self._tmp = None if rtl_dir else tempfile.TemporaryDirectory(prefix="hilt-rtl-")
        self.rtl_dir = Path(rtl_dir) if rtl_dir else Path(self._tmp.name) / "rtl"
        self.folding, self.beat_bits, self.backpressure = folding, beat_bits, backpressure
        self.last: dict = {}

    def load(self, q: QModel) -> None:
        self.q = q
        info = self.rtl_dir / "rtl.json"
        if not info.exists() or json.loads(info.read_text()).get("signature") != _signature(q):
            # the interface runs forward calls only: the backward pipeline would only lengthen the build
            design.write_rtl(q, self.rtl_dir, self.folding, self.beat_bits, backward=False)
            data = json.loads(info.read_text())
            data["signature"] = _signature(q)
            info.write_text(json.dumps(data, indent=2) + "\n")
        twin.build(self.rtl_dir)

    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        if self.q is None:
            raise RuntimeError("load a quantized model before running the accelerator")
        mode = "train_forward" if taps else "infer"
        x_int = quantize_input(self.q, x)
        result = twin.simulate(self.q, self.rtl_dir, x_int, modes=(mode,), backpressure=self.backpressure,
                               expect=False)
        call = next((c for c in result.get("calls", []) if c["name"] == mode), None)
        if not result["passed"] or call is None:
            raise RuntimeError(f"RTL simulation failed: {result['log'][-2000:]}")
        self.last = call
        self.counters.forward_calls += 1
        self.counters.samples += len(x)
        out = twin.decode(self.q, call["output"], mode, len(x), self.beat_bits)
        return ForwardResult(out[-1], out if taps else None)
