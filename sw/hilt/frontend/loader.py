"""Reading an ONNX file safely: parse, refuse escaping external data, check, infer shapes.

Every failure is a :class:`HiltError` that names the file and what to do; nothing is read from
outside the model's folder (an external-data ``location`` such as ``../../etc/passwd`` is refused
before any file is opened).
"""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx import TensorProto

from ..errors import HiltError


def _all_tensors(model: onnx.ModelProto):
    yield from model.graph.initializer
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors


def _external_location(tensor) -> str | None:
    if tensor.data_location != TensorProto.EXTERNAL:
        return None
    for entry in tensor.external_data:
        if entry.key == "location":
            return entry.value
    return ""


def _check_external_data(model: onnx.ModelProto, base: Path | None, culprit: str) -> bool:
    """True if the model has external data, after checking every location stays inside ``base``."""
    found = False
    for tensor in _all_tensors(model):
        location = _external_location(tensor)
        if location is None:
            continue
        found = True
        if base is None:
            raise HiltError(f"{culprit}: tensor {tensor.name!r} keeps its data in an external file; "
                            f"load the model from its .onnx path so the file can be found")
        target = (base / location).resolve()
        if not location or os.path.isabs(location) or not target.is_relative_to(base.resolve()):
            raise HiltError(f"{culprit}: tensor {tensor.name!r} points its external data at {location!r}, "
                            f"outside the model's folder; refusing to read it (move the data beside the model)")
        if not target.is_file():
            raise HiltError(f"{culprit}: external data file {location!r} of tensor {tensor.name!r} is missing")
    return found


def load_model(source) -> onnx.ModelProto:
    """An ONNX model from a path or a ModelProto, checked and with inferred shapes."""
    if isinstance(source, onnx.ModelProto):
        model, base, culprit = source, None, f"model {source.graph.name or '(unnamed)'}"
    else:
        path = Path(source)
        culprit = str(path)
        if not path.is_file():
            raise HiltError(f"{path}: no such ONNX file")
        try:
            model = onnx.load_model_from_string(path.read_bytes())
        except Exception as err:
            raise HiltError(f"{path}: not a valid ONNX file, cannot parse it ({type(err).__name__}); "
                            f"re-export the model") from None
        base = path.parent
    if _check_external_data(model, base, culprit):
        model = onnx.ModelProto.FromString(model.SerializeToString())  # never modify the caller's proto
        onnx.external_data_helper.load_external_data_for_model(model, str(base))
    if not model.graph.node:
        raise HiltError(f"{culprit}: not a valid ONNX model (no graph nodes); re-export the model")
    try:
        onnx.checker.check_model(model)
    except Exception as err:
        raise HiltError(f"{culprit}: fails the ONNX checker ({_first_line(err)}); re-export the model") from None
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as err:
        raise HiltError(f"{culprit}: ONNX shape inference fails ({_first_line(err)}); re-export the model") from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
