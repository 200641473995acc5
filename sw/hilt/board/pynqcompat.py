"""What differs between the pynq releases the driver runs on (3.0.1, 3.1.2, 4.0.0), handled in one place.

- pynq 4.0's ``Overlay.download()`` sets every enabled PL clock from ``clock_dict[i]["frequency"]``, which its
  metadata reader fills from ``PSU__CRL_APB__PL<i>_REF_CTRL__ACT_FREQMHZ``: a Zynq UltraScale+ name. On a
  Zynq-7000 the value stays ``None`` and the download fails (a division by ``None``). The .hwh does record the
  frequency Vivado achieved, as ``PCW_ACT_FPGA<i>_PERIPHERAL_FREQMHZ`` on the ``processing_system7``:
  :func:`fill_pl_clock_frequencies` puts it where pynq looks. pynq 3.0/3.1 set the clocks from the divisors
  and have no ``frequency`` entry: nothing to do there.
- pynq >= 3.1's ``Clocks`` asks the device for its CPU (``device.arch``), 3.0.1 reads ``pynq.ps.CPU_ARCH``
  (the simulated board answers both).

Standard library only (the .hwh is XML): it runs on the board's Python.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import HiltError

ZYNQ7_PS = "processing_system7"


def zynq7_pl_clock_mhz(hwh: str | Path) -> dict[int, float]:
    """``{clock index: MHz}`` of a Zynq-7000 design's PL clocks as its .hwh records them (achieved, else
    requested); empty for a design without a ``processing_system7``."""
    try:
        root = ET.parse(str(hwh)).getroot()
    except (OSError, ET.ParseError) as err:
        raise HiltError(f"{hwh}: cannot read the hardware hand-off ({err}); copy the overlay folder again") from None
    out: dict[int, float] = {}
    for module in root.iter("MODULE"):
        if module.get("MODTYPE") != ZYNQ7_PS:
            continue
        params = {p.get("NAME"): p.get("VALUE") for p in module.iter("PARAMETER")}
        for i in range(4):
            for key in (f"PCW_ACT_FPGA{i}_PERIPHERAL_FREQMHZ", f"PCW_FPGA{i}_PERIPHERAL_FREQMHZ"):
                try:
                    out[i] = float(params[key])
                    break
                except (KeyError, TypeError, ValueError):
                    continue
    return out


def fill_pl_clock_frequencies(overlay, hwh: str | Path) -> list[int]:
    """Fill the ``frequency`` pynq 4.0 left ``None`` for enabled PL clocks; returns the indices filled."""
    clocks = getattr(overlay, "clock_dict", None) or {}
    missing = [i for i, c in clocks.items() if c.get("enable") and "frequency" in c and c["frequency"] is None]
    if not missing:
        return []
    known = zynq7_pl_clock_mhz(hwh)
    absent = [i for i in missing if i not in known]
    if absent:
        raise HiltError(f"{hwh}: no frequency recorded for PL clock(s) {absent} (PCW_ACT_FPGA<i>_PERIPHERAL_FREQMHZ); "
                        f"pynq {_version()} needs it to download: use the .hwh Vivado wrote for this bitstream")
    for i in missing:
        clocks[i]["frequency"] = known[i]
    return missing


def _version() -> str:
    try:
        import pynq

        return str(pynq.__version__)
    except Exception:  # only for the message
        return "?"
