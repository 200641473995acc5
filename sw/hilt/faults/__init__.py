"""What makes a chip compute wrongly: timing errors when overclocked, and faults in its memories.

- :class:`Chip`: a die (seed, f_safe, temperature, voltage), its lane delays and fault maps;
- :mod:`.timing`: the carry-settling model of overclocked accumulators;
- :mod:`.memory`: stuck-at bits, ReRAM cells, transient bit flips;
- :mod:`.faq`: fault-aware quantization, the no-retraining mitigation of known stuck-at maps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .chip import Chip
from .faq import fault_aware_quantize
from .memory import FaultMap, flip_bits, stuck_at_map


@dataclass
class FaultConfig:
    """Faults of one run; any combination at once. Rates are per bit (or per ReRAM cell)."""

    stuck_at_rate: float = 0.0  # permanent stuck-at-0/1 bits in weight memory
    reram_rate: float = 0.0  # ReRAM cells stuck at lowest/highest conductance
    reram_cell_bits: int = 2  # bits stored per multi-level ReRAM cell
    seu_act_rate: float = 0.0  # transient flips per activation bit per forward pass
    seu_acc_rate: float = 0.0  # transient flips per accumulator bit per forward pass

    @property
    def any(self) -> bool:
        return any(v > 0 for v in (self.stuck_at_rate, self.reram_rate, self.seu_act_rate, self.seu_acc_rate))

    def to_json(self) -> dict:
        return asdict(self)


def weight_fault_map(chip: Chip, faults: FaultConfig, layer: str, shape, bits: int) -> FaultMap:
    """This chip's permanent faults in one layer's weight memory (stuck-at and ReRAM combined)."""
    fmap = stuck_at_map(chip, layer, shape, bits, faults.stuck_at_rate)
    if faults.reram_rate > 0:
        fmap = fmap.combine(stuck_at_map(chip, layer, shape, bits, faults.reram_rate,
                                         cell_bits=faults.reram_cell_bits, kind="reram"))
    return fmap


__all__ = ["Chip", "FaultConfig", "FaultMap", "fault_aware_quantize", "flip_bits", "stuck_at_map",
           "weight_fault_map"]
