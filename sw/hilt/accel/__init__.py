"""Accelerator backends behind one interface (load, set_clock, forward with taps, reset, counters)."""

from .base import Accelerator, AcceleratorHang, Counters, ForwardResult
from .emulator import Emulator

__all__ = ["Accelerator", "AcceleratorHang", "Counters", "ForwardResult", "Emulator"]
