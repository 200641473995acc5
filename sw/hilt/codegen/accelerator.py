"""The generated C++ behind the Accelerator interface: ``CSim`` runs g++ C simulation of the project.

Training on it works like on the emulator: each ``load`` rewrites only the weight stream (the formats
and shifts are compiled into the project; a model with other formats gets a fresh project).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from ..accel.base import Accelerator, ForwardResult
from ..golden import quantize_input
from ..quant import QModel
from .csim import build, run
from .project import compile_project, stream_weights


def _signature(q: QModel) -> list:
    return [[ql.name, ql.shift, ql.lut_shift, ql.in_fmt.to_json(), ql.out_fmt.to_json()] for ql in q.layers]


class CSim(Accelerator):
    name = "csim"

    def __init__(self, project: str | Path | None = None, folding=None):
        super().__init__()
        self._tmp = None if project else tempfile.TemporaryDirectory(prefix="hilt-csim-")
        self.project = Path(project) if project else Path(self._tmp.name) / "project"
        self.folding = folding

    def load(self, q: QModel) -> None:
        self.q = q
        manifest = self.project / "manifest.json"
        if not manifest.exists() or json.loads(manifest.read_text()).get("signature") != _signature(q):
            compile_project(q, self.project, folding=self.folding)
            data = json.loads(manifest.read_text())
            data["signature"] = _signature(q)
            manifest.write_text(json.dumps(data, indent=2) + "\n")
            build(self.project)
        beat_bits = json.loads(manifest.read_text())["beat_bits"]
        stream_weights(q, beat_bits).tofile(self.project / "weights.bin")

    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        if self.q is None:
            raise RuntimeError("load a quantized model before running the accelerator")
        self.counters.forward_calls += 1
        self.counters.samples += len(x)
        out = run(self.project, quantize_input(self.q, x), "train_forward" if taps else "infer")
        return ForwardResult(out[-1], out if taps else None)
