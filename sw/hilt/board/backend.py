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


def open_backend(kind: str, q, chip, faults=None, overlay: str | None = None, board_file: str = "pynq-z2"):
    """A loaded ``Board`` driving ``q``: on silicon (``board``) or on the simulated board (``simboard``)."""
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
                                    f_safe_mhz=chip.f_safe_mhz))
    board = open_board(overlay, simulated=kind == "simboard", chip=chip, faults=faults)
    board._overlay_tmp = tmp  # the generated folder lives as long as the board
    board.load(q)
    return board
