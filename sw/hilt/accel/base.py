"""The one interface every accelerator backend implements: emulator, C-sim, RTL sim, PYNQ board.

Training, sweeps and notebooks talk to an :class:`Accelerator` only, so they run unchanged on the
virtual chip and on silicon. Backends take a quantized model (``hilt.quant.QModel``), a clock in MHz,
and float NCHW images (the driver quantizes them with the model's input format, as the host does
before a DMA transfer); they return integer logits and, on request, every layer's integer output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field

import numpy as np

from ..quant import QModel


class AcceleratorHang(RuntimeError):
    """The accelerator stopped answering (clock past its crash frequency). Call ``reset()`` to recover."""


@dataclass
class Counters:
    forward_calls: int = 0
    samples: int = 0
    macs: int = 0
    timing_failures: int = 0  # additions whose carry did not settle in the clock period
    corrupted_accumulations: int = 0  # accumulator results that differ from the exact sum
    accumulations: int = 0
    seu_flips: int = 0
    hangs: int = 0
    per_layer: dict[str, dict[str, int]] = field(default_factory=dict)

    def layer(self, name: str) -> dict[str, int]:
        return self.per_layer.setdefault(name, {"accumulations": 0, "corrupted": 0, "timing_failures": 0})

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class ForwardResult:
    logits: np.ndarray  # int, (N, classes), in the model's logits format
    taps: list[np.ndarray] | None = None  # int activations [input, layer 1, ..., logits]


class Accelerator(ABC):
    name = "accelerator"

    def __init__(self):
        self.q: QModel | None = None
        self._clock = 100.0
        self.counters = Counters()

    @abstractmethod
    def load(self, q: QModel) -> None:
        """Load (or re-load) the quantized weights and formats."""

    def set_clock(self, mhz: float) -> None:
        if mhz <= 0:
            raise ValueError(f"clock {mhz} MHz must be positive")
        self._clock = float(mhz)

    @property
    def clock_mhz(self) -> float:
        return self._clock

    @abstractmethod
    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        """Run a batch; raises AcceleratorHang if the accelerator does not answer."""

    def backward(self, taps: list, err: np.ndarray):
        """MODE_BACKWARD: forward taps and the integer logits error in, a ``golden.BackwardResult`` out."""
        from ..errors import HiltError

        raise HiltError(f"the {self.name} backend runs no backward pass; use the host's (the default)")

    def reset(self) -> None:
        """Recover from a hang (re-program / reset the accelerator). Weights must be re-loaded."""

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return np.concatenate([self.forward(x[i:i + batch_size]).logits.argmax(axis=1)
                               for i in range(0, len(x), batch_size)])
