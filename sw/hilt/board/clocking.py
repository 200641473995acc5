"""Setting an MMCM's output frequency: the search of M/D/O and the Clocking Wizard's register words.

The accelerator's clock comes from an AXI Clocking Wizard (Xilinx PG065) with dynamic reconfiguration.
Its output is ``f_in * M / (D * O)``: ``D`` (DIVCLK_DIVIDE) divides the input to the phase detector, ``M``
(CLKFBOUT_MULT_F) multiplies it up to the VCO, ``O`` (CLKOUT0_DIVIDE_F) divides the VCO down to the
output. ``M`` and ``O`` take eighths. Each family bounds the phase-detector input, the VCO and the output
(the limits below are the slowest speed grade's: a setting valid there is valid on every grade).

Register words (PG065, "Clock Configuration Registers"): ``0x200`` holds DIVCLK_DIVIDE in bits 7:0, the
integer part of CLKFBOUT_MULT in bits 15:8 and its fraction in thousandths in bits 25:16; ``0x208`` holds
CLKOUT0_DIVIDE in bits 7:0 and its fraction in thousandths in bits 17:8; writing 3 to ``0x25C`` loads the
new values (bit 0 load, bit 1 "take the values from the registers"); bit 0 of the status register
``0x04`` is the MMCM's lock. Nothing here touches hardware: the driver writes these words, the
simulated board decodes them, both with these functions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction

REG_STATUS = 0x04
REG_CONFIG0 = 0x200       # DIVCLK_DIVIDE, CLKFBOUT_MULT (integer and fraction)
REG_CLKOUT0_DIVIDE = 0x208
REG_CLKOUT0_PHASE = 0x20C
REG_CLKOUT0_DUTY = 0x210
REG_LOAD = 0x25C
LOAD_FROM_REGISTERS = 0x3
STATUS_LOCKED = 0x1
DUTY_50 = 50000           # duty cycle in thousandths of a percent


@dataclass(frozen=True)
class MMCMLimits:
    """What one family's MMCM accepts (MHz and counter ranges)."""

    family: str
    vco_min: float
    vco_max: float
    pfd_min: float
    pfd_max: float
    out_max: float
    mult_min: float = 2.0
    mult_max: float = 64.0
    div_max: int = 106
    out_div_max: float = 128.0

    def to_json(self) -> dict:
        return asdict(self)


# Zynq-7000 (DS187, speed grade -1) and Zynq UltraScale+ (DS925, speed grade -1) MMCMs.
LIMITS = {
    "zynq7": MMCMLimits("zynq7", vco_min=600.0, vco_max=1200.0, pfd_min=10.0, pfd_max=450.0, out_max=800.0),
    "zynqmp": MMCMLimits("zynqmp", vco_min=800.0, vco_max=1600.0, pfd_min=10.0, pfd_max=450.0, out_max=775.0,
                         mult_max=128.0),
}


@dataclass(frozen=True)
class ClockSetting:
    """One M/D/O choice and the frequency it gives."""

    f_in: float
    divide: int        # D
    mult: Fraction     # M, in eighths
    out_div: Fraction  # O, in eighths (fractional only from 2.0 on)

    @property
    def vco_mhz(self) -> float:
        return float(self.f_in * self.mult / self.divide)

    @property
    def mhz(self) -> float:
        return float(Fraction(self.f_in) * self.mult / (self.divide * self.out_div))

    def words(self) -> dict[int, int]:
        """Register offset -> 32-bit word for the Clocking Wizard (PG065)."""
        m_int, m_frac = _split(self.mult)
        o_int, o_frac = _split(self.out_div)
        return {REG_CONFIG0: self.divide | (m_int << 8) | (m_frac << 16),
                REG_CLKOUT0_DIVIDE: o_int | (o_frac << 8),
                REG_CLKOUT0_PHASE: 0,
                REG_CLKOUT0_DUTY: DUTY_50}

    def to_json(self) -> dict:
        return {"f_in_mhz": self.f_in, "divclk_divide": self.divide, "clkfbout_mult": float(self.mult),
                "clkout0_divide": float(self.out_div), "vco_mhz": self.vco_mhz, "mhz": self.mhz}


def _split(v: Fraction) -> tuple[int, int]:
    whole = int(v)
    return whole, int((v - whole) * 1000)


def decode(config0: int, clkout0: int, f_in: float) -> ClockSetting:
    """The setting a pair of register words asks for (what the wizard loads)."""
    divide = config0 & 0xFF
    mult = Fraction((config0 >> 8) & 0xFF) + Fraction((config0 >> 16) & 0x3FF, 1000)
    out_div = Fraction(clkout0 & 0xFF) + Fraction((clkout0 >> 8) & 0x3FF, 1000)
    return ClockSetting(f_in, divide, mult, out_div)


def valid(s: ClockSetting, limits: MMCMLimits) -> bool:
    """Whether the MMCM locks with this setting (every bound of the family's data sheet)."""
    if not (1 <= s.divide <= limits.div_max and limits.mult_min <= s.mult <= limits.mult_max):
        return False
    if not (1 <= s.out_div <= limits.out_div_max) or (s.out_div < 2 and s.out_div != 1):
        return False
    if (s.mult * 8).denominator != 1 or (s.out_div * 8).denominator != 1:
        return False
    pfd = s.f_in / s.divide
    return (limits.pfd_min <= pfd <= limits.pfd_max and limits.vco_min <= s.vco_mhz <= limits.vco_max
            and s.mhz <= limits.out_max)


def search(target_mhz: float, f_in: float, limits: MMCMLimits) -> ClockSetting:
    """The valid setting whose output is closest to ``target_mhz`` (ties: the higher VCO, lower jitter).

    Every D that keeps the phase detector in range, every M (in eighths) that keeps the VCO in range, and
    for each VCO the output dividers (eighths and integers) around VCO / target: a few thousand candidates
    in integer eighths, fast enough on the board's ARM core."""
    if target_mhz <= 0:
        raise ValueError(f"clock {target_mhz} MHz must be positive")
    best, best_key = None, None
    d_max = min(limits.div_max, int(f_in // limits.pfd_min))
    for d in range(1, d_max + 1):
        if f_in / d > limits.pfd_max:
            continue
        m8_lo = max(int(limits.mult_min * 8), math.ceil(limits.vco_min * d / f_in * 8 - 1e-9))
        m8_hi = min(int(limits.mult_max * 8), math.floor(limits.vco_max * d / f_in * 8 + 1e-9))
        for m8 in range(m8_lo, m8_hi + 1):
            vco = f_in * m8 / (8 * d)
            ideal8 = vco * 8 / target_mhz
            for o8 in {math.floor(ideal8), math.floor(ideal8) + 1, 8 * math.floor(ideal8 / 8),
                       8 * math.floor(ideal8 / 8) + 8}:
                if not (8 <= o8 <= limits.out_div_max * 8) or (o8 < 16 and o8 != 8):
                    continue
                f = vco * 8 / o8
                if f > limits.out_max:
                    continue
                key = (abs(f - target_mhz), -vco, o8 % 8 != 0)
                if best_key is None or key < best_key:
                    best, best_key = (d, m8, o8), key
    if best is None:
        raise ValueError(f"no {limits.family} MMCM setting reaches {target_mhz:g} MHz from {f_in:g} MHz")
    d, m8, o8 = best
    return ClockSetting(f_in, d, Fraction(m8, 8), Fraction(o8, 8))


def reachable(limits: MMCMLimits) -> tuple[float, float]:
    """Lowest and highest output frequency the family's MMCM gives."""
    return limits.vco_min / limits.out_div_max, limits.out_max


def ps_clock_steps(pll_mhz: float, lo: float, hi: float) -> list[float]:
    """The frequencies a PS fabric clock (PLL / (div0 * div1), 6-bit dividers) reaches between lo and hi:
    what the fall-back without a Clocking Wizard can set."""
    steps = {pll_mhz / (a * b) for a in range(1, 64) for b in range(1, 64)}
    return sorted(f for f in steps if lo <= f <= hi)
