"""Running on a PYNQ board: the driver (pynq), the simulated board, overlay folders.

``hilt.board.driver.Board`` drives an overlay folder through pynq's API; ``hilt.board.sim`` is a pynq device
whose registers are models of the overlay's IP, computing with the emulator, so the same driver runs
without a board. Only these modules import pynq, and only when used: importing ``hilt.board`` itself needs
numpy and nothing else.
"""

__all__ = ["open_board"]


def open_board(overlay_dir, simulated: bool = False, chip=None, faults=None, **kwargs):
    """A ``Board`` on the overlay folder: on the real board, or (``simulated``) on a fresh simulated one whose die
    is ``chip`` with ``faults``. ``kwargs`` go to ``Board`` (e.g. ``inject=(chip, faults)``: weight-memory faults
    the driver writes into every weight load)."""
    from .overlay import open_overlay

    folder = open_overlay(overlay_dir)
    if simulated:
        from .sim import install

        install(chip=chip, faults=faults, family=folder.family)
    if folder.kind == "sequential":
        from .engine import EngineBoard  # the layer-sequential engine: no DMA, its own masters to DDR

        return EngineBoard(overlay_dir, **kwargs)
    from .driver import Board

    return Board(overlay_dir, **kwargs)
