"""The layer-sequential engine behind the Accelerator interface.

- ``EngineCSim`` runs the engine's g++ C simulation: ``load`` writes the descriptors and packed
  parameters into the DDR image (a training step rewrites only the parameter regions), ``forward``
  returns every layer's output as it stays in DDR (the program stores every layer: no fused ReLU).
- ``EngineEmulator`` is the virtual chip with the engine's MAC lanes: the LANE physical lanes are
  shared by every layer, output channel o of a group on lane o mod LANE, so one slow lane corrupts
  every LANE-th channel of every conv/dense layer (the streaming pipeline has a lane per channel).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..accel.base import Accelerator, ForwardResult
from ..accel.emulator import Emulator
from ..dse.sequential import EngineConfig
from ..golden import quantize_input
from ..quant import QModel
from .program import build
from .project import run_csim, write_project

ENGINE_LANES = "engine-lanes"  # the chip's name for the engine's physical MAC lanes


class EngineCSim(Accelerator):
    name = "engine-csim"

    def __init__(self, config: EngineConfig = EngineConfig(), project: str | Path | None = None):
        super().__init__()
        self.config = config
        self._tmp = None if project else tempfile.TemporaryDirectory(prefix="hilt-engine-")
        self.project = Path(project) if project else Path(self._tmp.name) / "engine"
        self._written = False

    def load(self, q: QModel) -> None:
        self.q = q
        if not self._written:  # the binary is the bitstream: built once, any model's descriptors run on it
            write_project(q, self.project, self.config, fuse_relu=False)
            self._written = True
        prog = build(q, self.config, fuse_relu=False)
        prog.image[: prog.act_region.offset].tofile(self.project / "ddr.bin")
        self._program = prog

    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        if self.q is None:
            raise RuntimeError("load a quantized model before running the accelerator")
        self.counters.forward_calls += 1
        self.counters.samples += len(x)
        out = run_csim(self.project, quantize_input(self.q, x))
        return ForwardResult(out[-1], out if taps else None)


class EngineEmulator(Emulator):
    name = "engine-emu"

    def __init__(self, chip=None, faults=None, config: EngineConfig = EngineConfig(), **kw):
        super().__init__(chip, faults, **kw)
        self.config = config

    def lane_factors(self, ql, layer, outputs: int) -> np.ndarray:
        groups = int(layer.attrs.get("groups", 1)) if layer.op == "conv" else 1
        lane = (np.arange(outputs) % (outputs // groups)) % self.config.lane
        return self.chip.lane_factors(ENGINE_LANES, self.config.lane)[lane]


def engine_backend(backend: str, chip=None, faults=None, config: EngineConfig = EngineConfig()) -> Accelerator:
    """The engine's accelerator for ``--backend emu|csim``."""
    return EngineCSim(config) if backend == "csim" else EngineEmulator(chip, faults, config)
