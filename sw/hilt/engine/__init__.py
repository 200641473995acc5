"""The layer-sequential engine: a quantized model as descriptors and packed parameters in DDR for the
PipeCNN-style accelerator of hw/hls/hilt/engine.h, its project folder and C simulation, and the
Accelerator backends that run it (docs/engine.md)."""

from ..dse.sequential import EngineConfig
from .program import Program, build, pack_bias, pack_weights, write_params
from .project import build_csim, load_compact, run_csim, save_compact, write_project

__all__ = ["EngineConfig", "Program", "build", "pack_bias", "pack_weights", "write_params", "build_csim",
           "load_compact", "run_csim", "save_compact", "write_project"]
