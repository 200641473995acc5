"""``--backend board`` and ``--backend simboard`` for the experiment commands.

``board`` opens the overlay folder given with ``--overlay`` on a real PYNQ board. ``simboard`` runs the same
driver on the simulated board whose accelerator is the virtual chip of the chip options (seed, temperature,
f_safe), so its results equal ``--backend emu``'s for the same chip; without ``--overlay`` it writes an
overlay folder for the quantized model first (a temporary one, generated .hwh and all).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import HiltError

BACKENDS = ("board", "simboard")


def add_arguments(p) -> None:
    g = p.add_argument_group("board (--backend board / simboard)")
    g.add_argument("--overlay", metavar="DIR", help="overlay folder (NAME.bit, NAME.hwh, manifest.json, model); "
                                                   "simboard: generated for the model when omitted")
    g.add_argument("--board-file", default="pynq-z2", metavar="BOARD",
                   help="simboard without --overlay: the board whose family and DMA width the overlay takes "
                        "(default pynq-z2; zcu104 for Zynq UltraScale+)")


def open_backend(kind: str, q, chip, faults=None, overlay: str | None = None, board_file: str = "pynq-z2",
                 inject=None, engine=None):
    """A loaded ``Board`` driving ``q``: on silicon (``board``) or on the simulated board (``simboard``).
    ``faults``: the simulated die's own faults; ``inject``: (chip, FaultConfig) whose weight-memory faults the
    driver writes into the weights it loads (what works on silicon too); ``engine`` (an EngineConfig): the
    overlay generated without ``overlay`` is the layer-sequential engine's."""
    try:
        import pynq  # noqa: F401
    except ImportError:
        raise HiltError(f"--backend {kind} needs pynq: on a PYNQ image it is installed; elsewhere run "
                        f"`make board-env` and use .venv-board/bin/hilt") from None
    from . import open_board

    if kind == "board" and not overlay:
        raise HiltError("--backend board needs --overlay DIR (the folder `make bitstream` wrote)")
    tmp = None
    if not overlay:
        from .design import write_overlay

        tmp = tempfile.TemporaryDirectory(prefix="hilt-overlay-")
        overlay = str(write_overlay(q, Path(tmp.name) / "overlay", board=board_file, freq_mhz=chip.f_safe_mhz,
                                    f_safe_mhz=chip.f_safe_mhz, engine=engine))
    board = open_board(overlay, simulated=kind == "simboard", chip=chip, faults=faults, inject=inject)
    board._overlay_tmp = tmp  # the generated folder lives as long as the board
    board.load(q)
    return board


def fault_boards(kind: str, chip, overlay: str | None = None, board_file: str = "pynq-z2"):
    """``make(faults, design)`` for ``hilt.experiments.fault_study``: a board at the design's f_safe whose driver
    injects ``faults``' stuck-at and ReRAM cells of ``chip`` into every weight load, so its results equal the
    emulator's for the same chip. ``design``'s formats must be the bitstream's: on a real board one overlay
    serves every design of its formats; the simulated board gets an overlay per design (generated once)."""
    from .driver import signature

    folders: dict[str, str] = {}
    keep = []

    def make(faults, design):
        folder = overlay
        if kind == "simboard" and not overlay:
            key = repr(signature(design))
            if key not in folders:
                from .design import write_overlay

                tmp = tempfile.TemporaryDirectory(prefix="hilt-overlay-")
                keep.append(tmp)
                folders[key] = str(write_overlay(design, Path(tmp.name) / "overlay", board=board_file,
                                                 freq_mhz=chip.f_safe_mhz, f_safe_mhz=chip.f_safe_mhz))
            folder = folders[key]
        board = open_backend(kind, design, chip, overlay=folder, board_file=board_file,
                             inject=(chip, faults) if faults.stuck_at_rate or faults.reram_rate else None)
        board._overlays = keep  # the generated folders live as long as the boards
        board.set_clock(board.f_safe_mhz)
        return board

    return make
