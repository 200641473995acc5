"""Reading Vivado's ``report_timing_summary`` after routing: WNS/TNS per clock and the design's f_safe.

The report's layout: a "Design Timing Summary" table (one row: WNS, TNS, failing and total endpoints,
then the same for hold (WHS) and pulse width (WPWS)), a "Clock Summary" (clock, waveform, period,
frequency; generated clocks indented under their source) and an "Intra Clock Table" (one row per clock;
a clock without setup paths, such as an MMCM feedback clock, has only its pulse-width columns).

f_safe is the fastest clock at which the accelerator clock's worst setup path still meets timing:
1 / (period - WNS). A negative WNS gives an f_safe below the requested clock: the overlay still works
as built, the design is just run above its timing-closed frequency (which users may want).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import HiltError

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class ClockTiming:
    name: str
    period_ns: float
    wns_ns: float | None  # None: no setup paths in this clock
    tns_ns: float | None
    whs_ns: float | None


@dataclass(frozen=True)
class TimingSummary:
    wns_ns: float
    tns_ns: float
    whs_ns: float
    ths_ns: float
    failing_endpoints: int
    clocks: dict[str, ClockTiming]

    @property
    def met(self) -> bool:
        return self.wns_ns >= 0 and self.whs_ns >= 0

    def accelerator_clock(self, prefix: str = "clk_out1") -> ClockTiming:
        """The clocking wizard's first output (Vivado names it clk_out1_<design>_clk_wiz_<n>)."""
        hits = [c for c in self.clocks.values() if c.name.startswith(prefix)]
        if not hits:
            raise HiltError(f"timing report: no clock named {prefix}* in the clock summary "
                            f"(clocks: {', '.join(self.clocks) or 'none'})")
        return hits[0]

    def f_safe_mhz(self, prefix: str = "clk_out1") -> float:
        clk = self.accelerator_clock(prefix)
        wns = self.wns_ns if clk.wns_ns is None else clk.wns_ns
        return 1000.0 / (clk.period_ns - wns)


def _section(lines: list[str], title: str) -> list[str]:
    """The lines of the report section headed ``| title`` up to the next ``| ...`` banner."""
    start = next((i for i, l in enumerate(lines) if l.strip() == f"| {title}"), None)
    if start is None:
        raise HiltError(f"timing report: no '{title}' section (is this a report_timing_summary file?)")
    out = []
    for line in lines[start + 3:]:
        if line.startswith("| ") and not line.startswith("| -"):
            break
        out.append(line)
    return out


def _numbers(tokens: list[str]) -> list[float] | None:
    return [float(t) for t in tokens] if tokens and all(_NUMBER.match(t) for t in tokens) else None


def parse_timing_summary(text: str) -> TimingSummary:
    lines = text.splitlines()
    design = [n for n in (_numbers(l.split()) for l in _section(lines, "Design Timing Summary")) if n]
    if not design or len(design[0]) != 12:
        raise HiltError("timing report: the Design Timing Summary has no row of 12 numbers")
    wns, tns, failing, _, whs, ths = design[0][:6]
    periods = {}
    for line in _section(lines, "Clock Summary"):
        m = re.match(r"^\s*(\S+)\s+\{[^}]*\}\s+(-?[\d.]+)\s+(-?[\d.]+)\s*$", line)
        if m:
            periods[m.group(1)] = float(m.group(2))
    clocks = {}
    for line in _section(lines, "Intra Clock Table"):
        tokens = line.split()
        if not tokens or tokens[0] not in periods:
            continue
        values = _numbers(tokens[1:])
        full = values is not None and len(values) == 12
        clocks[tokens[0]] = ClockTiming(tokens[0], periods[tokens[0]], values[0] if full else None,
                                        values[1] if full else None, values[4] if full else None)
    for name, period in periods.items():
        clocks.setdefault(name, ClockTiming(name, period, None, None, None))
    return TimingSummary(wns, tns, whs, ths, int(failing), clocks)
