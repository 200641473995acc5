"""A virtual chip: what makes one die differ from another, and the environment it runs in.

All randomness of a chip (per-lane delay variation, its stuck-at fault map) derives from its seed
and the layer's name, so the same chip always behaves the same, and two seeds are two different dies.
See docs/chip.md for the model and the reasoning behind every parameter.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Chip:
    seed: int = 0
    f_safe_mhz: float = 200.0  # timing-closed frequency (design estimate or a Vivado timing report)
    crash_ratio: float = 1.75  # beyond f_safe * crash_ratio the control logic fails: the accelerator hangs
    temp_c: float = 25.0  # junction temperature
    voltage_factor: float = 1.0  # delay multiplier from supply voltage (1.0 nominal, > 1 undervolted)
    lane_sigma: float = 0.04  # per-MAC-lane delay variation (relative standard deviation)
    layer_scale: dict[str, float] = field(default_factory=dict)  # fitted per-layer delay scales (profiles)

    # timing-closure corner: the slowest lane (3 sigma) at the hottest rated temperature
    T_NOMINAL = 25.0
    T_CORNER = 85.0
    DELAY_PER_DEGREE = 0.002  # +0.2 % delay per degree C
    LANE_LIMIT = 3.0  # lane variation is truncated at 3 sigma: the screened-die guarantee
    FIXED_FRACTION = 0.4  # share of an addition's worst-case path that is not carry ripple

    @property
    def f_crash_mhz(self) -> float:
        return self.f_safe_mhz * self.crash_ratio

    @property
    def env_factor(self) -> float:
        return (1.0 + self.DELAY_PER_DEGREE * (self.temp_c - self.T_NOMINAL)) * self.voltage_factor

    @property
    def corner_factor(self) -> float:
        return (1.0 + self.LANE_LIMIT * self.lane_sigma) * (
            1.0 + self.DELAY_PER_DEGREE * (self.T_CORNER - self.T_NOMINAL))

    def rng(self, *keys) -> np.random.Generator:
        """A generator for one purpose of this chip: keys are ints or strings (hashed stably)."""
        ints = [k if isinstance(k, int) else zlib.crc32(str(k).encode()) for k in keys]
        return np.random.default_rng([self.seed, *ints])

    def lane_factors(self, layer: str, lanes: int) -> np.ndarray:
        """Relative delay of each MAC lane of a layer (1.0 = typical), fixed for this die."""
        z = np.clip(self.rng("lanes", layer).standard_normal(lanes), -self.LANE_LIMIT, self.LANE_LIMIT)
        return (1.0 + self.lane_sigma * z) * self.layer_scale.get(layer, 1.0)

    def to_json(self) -> dict:
        return asdict(self)
