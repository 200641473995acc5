"""Experiments as library functions: each takes a small settings dataclass and returns its results as
plain data (JSON-ready dicts and lists). The commands only parse arguments, call these and print; tests
and notebooks call the same functions.

- ``sweep``: accuracy and per-layer corrupted-accumulation rates against the clock (``SweepSettings``);
- ``fit_chip``: a virtual chip fitted to a measured sweep (``onsets``);
- ``chip_finetune``: hardware-in-the-loop fine-tuning, before/after on this chip and another
  (``FinetuneSettings``);
- ``fault_study`` and ``reram_curves``: stuck-at faults with each mitigation, ReRAM training curves
  (``FaultSettings``);
- ``compare_with_golden``: a generated project's C simulation against the golden model, tap by tap.

Every experiment quantizes through ``hilt.quant.calibrate_on`` (one calibration size for all).
"""

from .chip import FinetuneSettings, SweepSettings, accuracy, chip_finetune, fit_chip, onsets, sweep
from .compare import compare_with_golden
from .faults import MITIGATIONS, FaultSettings, fault_study, mitigation_name, reram_curves, run_mitigation

__all__ = ["FinetuneSettings", "SweepSettings", "accuracy", "chip_finetune", "fit_chip", "onsets", "sweep",
           "compare_with_golden", "MITIGATIONS", "FaultSettings", "fault_study", "mitigation_name", "reram_curves",
           "run_mitigation"]
