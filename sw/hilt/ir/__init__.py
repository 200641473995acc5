"""The intermediate representation: a sequential CNN as a list of typed layers.

Every later stage (reference, quantization, golden model, emulator, code generation, design-space
exploration) reads this IR and nothing else of ONNX.
"""

from .graph import Layer, Network, OPS
from .sources import ParamSources, DirectSources

__all__ = ["Layer", "Network", "OPS", "ParamSources", "DirectSources"]
