"""Board files: one YAML per board in the repository's boards/ folder, validated on load.

Every fact about a board lives in its YAML (part, board_part, PS type, resources from the part's
data sheet, PL clock limits, DDR bandwidth, DMA width, PYNQ name); nothing else in hilt hard-codes
board data. ``--board`` takes a file stem (``zcu104``) or a path to a YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import HiltError

BOARDS_DIR = Path(__file__).resolve().parents[3] / "boards"
RESOURCES = ("dsp", "bram18", "uram", "lut", "ff")
PS_TYPES = ("zynq7", "zynqmp")


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

    def check_clock(self, mhz: float) -> None:
        if not self.clock_min_mhz <= mhz <= self.clock_max_mhz:
            raise HiltError(f"--freq {mhz:g}: {self.name}'s {self.clock_source} can be set to "
                            f"{self.clock_min_mhz:g}-{self.clock_max_mhz:g} MHz")


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.yaml"))


def _require(data: dict, key: str, kind, where: str):
    if key not in data:
        raise HiltError(f"{where}: missing field '{key}'")
    value = data[key]
    if kind is not None and not isinstance(value, kind) or isinstance(value, bool):
        raise HiltError(f"{where}: field '{key}' must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def parse_board(data, where: str, key: str) -> Board:
    if not isinstance(data, dict):
        raise HiltError(f"{where}: a board file is a YAML mapping")
    res = _require(data, "resources", dict, where)
    for r in RESOURCES:
        v = _require(res, r, int, f"{where} resources")
        if v < 0:
            raise HiltError(f"{where}: resources.{r} must be >= 0")
    ps = _require(data, "ps", str, where)
    if ps not in PS_TYPES:
        raise HiltError(f"{where}: ps must be one of {', '.join(PS_TYPES)}, got {ps!r}")
    clock = _require(data, "pl_clock", dict, where)
    lo, hi = _require(clock, "min_mhz", (int, float), where), _require(clock, "max_mhz", (int, float), where)
    if not 0 < lo < hi:
        raise HiltError(f"{where}: pl_clock needs 0 < min_mhz < max_mhz")
    bp = data.get("board_part")
    return Board(key, _require(data, "name", str, where), _require(data, "part", str, where),
                 bp if isinstance(bp, str) else None, ps, data.get("pynq_board"),
                 {r: int(res[r]) for r in RESOURCES}, float(lo), float(hi), str(clock.get("source", "pl_clk0")),
                 float(_require(data, "ddr_bandwidth_gbps", (int, float), where)),
                 int(_require(data, "dma_width_bits", int, where)))


def load_board(spec: str) -> Board:
    path = Path(spec)
    if path.suffix not in (".yaml", ".yml"):
        path = BOARDS_DIR / f"{spec.lower()}.yaml"
    if not path.is_file():
        raise HiltError(f"--board {spec}: unknown board (known: {', '.join(board_names())}, or a path to a YAML file)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise HiltError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    return parse_board(data, str(path.name), path.stem)
