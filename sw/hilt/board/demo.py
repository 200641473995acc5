"""What the notebooks share: an overlay folder to work with, and a board to run it on (real or simulated).

On a PYNQ board the overlay folder comes from the build (``make bitstream``) and pynq finds the board; on any
other machine the notebooks train LeNet-5 on the bundled MNIST-5k, write an overlay folder for the simulated
board, and run the same driver on it.
"""

from __future__ import annotations

from pathlib import Path


def real_board_present() -> bool:
    """Whether pynq finds a board (not the simulated one) on this machine."""
    try:
        import pynq
    except ImportError:
        return False
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No devices found": the answer we are asking for, not a problem
            devices = pynq.Device.devices
    except Exception:  # noqa: BLE001 - pynq raises assorted errors off the board
        return False
    from .sim import SimBoard

    return any(not isinstance(d, SimBoard) for d in devices)


def ensure_overlay(folder: str | Path = "hilt_overlay", board: str = "pynq-z2", f_safe_mhz: float = 200.0,
                   epochs: int = 2, progress: bool = False) -> Path:
    """The overlay folder, written for the simulated board when it does not exist yet (LeNet-5 trained on
    the 4,000 MNIST-5k training images for ``epochs`` epochs, quantized to int8)."""
    folder = Path(folder)
    if (folder / "manifest.json").exists():
        return folder
    from .. import data, zoo
    from ..frontend import import_onnx
    from ..quant import calibrate_on
    from ..train import SGDConfig, train
    from .design import write_overlay

    train_ds, _ = data.load_splits("mnist5k")
    net = train(import_onnx(zoo.build("lenet5", seed=0)), train_ds.x, train_ds.y, SGDConfig(epochs=epochs),
                progress=progress).network
    q = calibrate_on(net, train_ds)
    return write_overlay(q, folder, board=board, freq_mhz=f_safe_mhz, f_safe_mhz=f_safe_mhz)


def connect(folder: str | Path, chip_seed: int = 0, faults=None):
    """(board, simulated): the real board when pynq finds one, else a simulated board whose chip is the
    virtual chip of ``chip_seed`` with the overlay's f_safe."""
    from ..faults import Chip
    from . import open_board
    from .overlay import open_overlay

    if real_board_present():
        return open_board(folder), False
    f_safe = float(open_overlay(folder).manifest["f_safe_mhz"])
    return open_board(folder, simulated=True, chip=Chip(seed=chip_seed, f_safe_mhz=f_safe), faults=faults), True
