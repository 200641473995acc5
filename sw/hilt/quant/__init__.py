"""Quantization: per-tensor fixed-point formats chosen on data, integer weights (``QModel``)."""

from .calibrate import CALIBRATION_IMAGES, calibrate_on, quantize
from .formats import ACC_BITS, ERR_BITS, GRAD_ACC_BITS, GRAD_BITS, Format, frac_for, requantize, saturate, \
    shift_round, wrap
from . import qfile
from .qmodel import QLayer, QModel

__all__ = ["qfile", "quantize", "calibrate_on", "CALIBRATION_IMAGES", "QModel", "QLayer", "Format", "frac_for", "requantize", "saturate", "shift_round", "wrap",
           "ACC_BITS", "ERR_BITS", "GRAD_ACC_BITS", "GRAD_BITS"]
