"""Board files: one YAML per board in the repository's boards/ folder, validated on load.

Every fact about a board lives in its YAML (part, board_part, PS type, resources from the part's
data sheet, PL clock limits, DDR bandwidth, DMA width, PYNQ name); nothing else in hilt hard-codes
board data. ``--board`` takes a file stem (``zcu104``, any case) or a path to a YAML file. The schema
is checked field by field so that a broken file is named with the field to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import HiltError
from ..validate import finite

BOARDS_DIR = Path(__file__).resolve().parents[3] / "boards"
RESOURCES = ("dsp", "bram18", "uram", "lut", "ff")
PS_TYPES = ("zynq7", "zynqmp")
FIELDS = ("name", "part", "board_part", "ps", "pynq_board", "resources", "pl_clock", "ddr_bandwidth_gbps",
          "dma_width_bits")
CLOCK_FIELDS = ("source", "min_mhz", "max_mhz")
NUMBER = (int, float)
MAX_RESOURCE = 100_000_000  # the largest Versal parts have a few million LUTs; more is a typo
MAX_CLOCK_MHZ = 2_000  # no FPGA fabric clock comes near


@dataclass(frozen=True)
class Board:
    key: str
    name: str
    part: str
    board_part: str | None
    ps: str
    pynq_board: str | None
    resources: dict[str, int]
    clock_min_mhz: float
    clock_max_mhz: float
    clock_source: str
    ddr_bandwidth_gbps: float
    dma_width_bits: int

    @property
    def macs_per_dsp(self) -> int:
        """int8 MACs one DSP slice does per cycle: DSP48E2 (zynqmp) packs two, DSP48E1 (zynq7) one."""
        return 2 if self.ps == "zynqmp" else 1

    def packed_macs(self, bits: int) -> int:
        """Multiplies one DSP slice of a forward unit does at ``bits``-bit operands: two int8 products that
        share their activation on a DSP48E2 (hw/rtl/hilt_mac.sv, the HLS ``mul_pair``), else one."""
        return self.macs_per_dsp if bits <= 8 else 1

    def bytes_per_cycle(self, freq_mhz: float) -> float:
        """What the accelerator can move to or from DDR per PL cycle: one DMA beat, or less where the
        DDR itself is the limit."""
        return min(self.dma_width_bits / 8, self.ddr_bytes_per_cycle(freq_mhz))

    def ddr_bytes_per_cycle(self, freq_mhz: float) -> float:
        """What the PS DDR moves per PL cycle, shared by every DMA channel."""
        return self.ddr_bandwidth_gbps * 1e3 / freq_mhz

    def check_clock(self, mhz: float) -> None:
        if not self.clock_min_mhz <= mhz <= self.clock_max_mhz:
            raise HiltError(f"--freq {mhz:g}: {self.name}'s {self.clock_source} can be set to "
                            f"{self.clock_min_mhz:g}-{self.clock_max_mhz:g} MHz; choose a clock in that range")


def board_names() -> list[str]:
    return sorted(p.stem.lower() for p in BOARDS_DIR.glob("*.yaml"))


def _field(data: dict, key: str, kind, where: str, optional: bool = False):
    """data[key] checked against ``kind`` (bool is never a number); None allowed when optional."""
    if key not in data:
        if optional:
            return None
        raise HiltError(f"{where}: missing field '{key}'")
    value = data[key]
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise HiltError(f"{where}: field '{key}' must be {names}, got {value!r}")
    return value


def _no_extra(data: dict, allowed: tuple[str, ...], where: str) -> None:
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise HiltError(f"{where}: unknown field '{extra[0]}' (fields: {', '.join(allowed)})")


def parse_board(data, where: str, key: str) -> Board:
    if not isinstance(data, dict):
        raise HiltError(f"{where}: a board file is a YAML mapping of {', '.join(FIELDS)}")
    _no_extra(data, FIELDS, where)
    res = _field(data, "resources", dict, where)
    _no_extra(res, RESOURCES, f"{where} resources")
    for r in RESOURCES:
        if _field(res, r, int, f"{where} resources") < 0:
            raise HiltError(f"{where}: resources.{r} must be >= 0")
        finite(res[r], f"{where}: resources.{r}", 0, MAX_RESOURCE)
    if res["dsp"] == 0 or res["lut"] == 0:
        raise HiltError(f"{where}: resources.dsp and resources.lut must be > 0")
    ps = _field(data, "ps", str, where)
    if ps not in PS_TYPES:
        raise HiltError(f"{where}: field 'ps' must be one of {', '.join(PS_TYPES)}, got {ps!r}")
    clock = _field(data, "pl_clock", dict, where)
    _no_extra(clock, CLOCK_FIELDS, f"{where} pl_clock")
    lo = _field(clock, "min_mhz", NUMBER, f"{where} pl_clock")
    hi = _field(clock, "max_mhz", NUMBER, f"{where} pl_clock")
    finite(lo, f"{where}: pl_clock.min_mhz", 0, MAX_CLOCK_MHZ)
    finite(hi, f"{where}: pl_clock.max_mhz", 0, MAX_CLOCK_MHZ)
    if not 0 < lo < hi:
        raise HiltError(f"{where}: pl_clock needs 0 < min_mhz < max_mhz, got {lo}-{hi}")
    ddr = _field(data, "ddr_bandwidth_gbps", NUMBER, where)
    dma = _field(data, "dma_width_bits", int, where)
    finite(ddr, f"{where}: ddr_bandwidth_gbps", 0, 10_000, lo_open=True)
    finite(dma, f"{where}: dma_width_bits", 8, 4096)
    if ddr <= 0 or dma <= 0 or dma % 8:
        raise HiltError(f"{where}: ddr_bandwidth_gbps must be > 0 and dma_width_bits a positive multiple of 8")
    return Board(key, _field(data, "name", str, where), _field(data, "part", str, where),
                 _field(data, "board_part", str, where, optional=True), ps,
                 _field(data, "pynq_board", str, where, optional=True), {r: int(res[r]) for r in RESOURCES},
                 float(lo), float(hi), _field(clock, "source", str, f"{where} pl_clock", optional=True) or "pl_clk0",
                 float(ddr), int(dma))


def load_board(spec: str) -> Board:
    from ..validate import exists, usable_path

    path = usable_path(spec, "--board")
    if path.suffix.lower() not in (".yaml", ".yml"):
        path = BOARDS_DIR / f"{spec.lower()}.yaml"
    if not exists(path):
        raise HiltError(f"--board {spec}: unknown board (known: {', '.join(board_names())}, or a path to a YAML file)")
    from ..validate import read_yaml

    return parse_board(read_yaml(path, "board file"), path.name, path.stem.lower())


def packed_macs(board: str, bits: int) -> int:
    """``Board.packed_macs`` of the board a plan names; one for a board hilt does not know."""
    try:
        return load_board(board.lower()).packed_macs(bits)
    except HiltError:
        return 1
