"""Code generation: quantized model -> HLS C++ project (jinja2 templates), and its g++ C simulation."""

from .csim import build, run, syntax_check
from .project import compile_project, stream_weights

__all__ = ["build", "run", "syntax_check", "compile_project", "stream_weights"]
