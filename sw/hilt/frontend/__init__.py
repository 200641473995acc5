"""ONNX <-> IR. ``import_onnx`` accepts what real exporters emit; ``export_onnx`` writes the IR back."""

from .export import export_onnx, to_onnx
from .importer import SUPPORTED_OPS, import_onnx, load_model

__all__ = ["export_onnx", "to_onnx", "import_onnx", "load_model", "SUPPORTED_OPS"]
