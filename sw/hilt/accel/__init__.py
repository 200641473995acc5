"""Accelerator backends behind one interface (load, set_clock, forward with taps, reset, counters).

The emulator is imported on first use: the PYNQ driver needs only the interface and the base class.
"""

from .base import Accelerator, AcceleratorHang, Counters, ForwardResult

__all__ = ["Accelerator", "AcceleratorHang", "Counters", "ForwardResult", "Emulator"]


def __getattr__(name):
    if name == "Emulator":
        from .emulator import Emulator

        return Emulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
