"""The layer-sequential engine: a quantized model as descriptors and packed parameters in DDR for the
PipeCNN-style accelerator of hw/hls/hilt/engine.h, its project folder and C simulation, and the
Accelerator backends that run it (docs/engine.md)."""

from ..dse.sequential import EngineConfig
from .program import Program, build, pack_bias, pack_weights, write_params

_PROJECT = ("build_csim", "load_compact", "run_csim", "save_compact", "write_project")


def __getattr__(name):
    """The project writer and C-sim runner import jinja2: loaded on first use, so the board's driver (which
    needs only the program's layout) imports this package with numpy alone."""
    if name in _PROJECT:
        from . import project

        return getattr(project, name)
    raise AttributeError(name)

__all__ = ["EngineConfig", "Program", "build", "pack_bias", "pack_weights", "write_params", "build_csim",
           "load_compact", "run_csim", "save_compact", "write_project"]
