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


EXTERNAL_KEYS = ("location", "offset", "length", "checksum", "basepath")
MAX_LOCATION_CHARS = 1024


def _graph_tensors(graph: onnx.GraphProto):
    """Every tensor of a graph: initializers, sparse initializers, and tensors in node attributes,
    recursing into subgraphs (If/Loop/Scan bodies), as onnx's own loader does."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node):
    for attr in node.attribute:
        if attr.HasField("t"):
            yield attr.t
        yield from attr.tensors
        if attr.HasField("sparse_tensor"):
            yield attr.sparse_tensor.values
            yield attr.sparse_tensor.indices
        if attr.HasField("g"):
            yield from _graph_tensors(attr.g)
        for g in attr.graphs:
            yield from _graph_tensors(g)


def _all_tensors(model: onnx.ModelProto):
    yield from _graph_tensors(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _node_tensors(node)


def _external_entries(tensor, culprit: str) -> dict[str, str] | None:
    """The external_data entries of a tensor as a dict, or None when its data is inline.

    Duplicated keys are refused: onnx reads the *last* ``location`` while a check of the first would
    pass, so a model could smuggle a second path past any guard that looks at one entry."""
    if tensor.data_location != TensorProto.EXTERNAL and not len(tensor.external_data):
        return None
    name = tensor.name or "(unnamed)"
    entries: dict[str, str] = {}
    for entry in tensor.external_data:
        if entry.key in entries:
            raise HiltError(f"{culprit}: tensor {name!r} has two external-data {entry.key!r} entries; "
                            f"refusing an ambiguous file reference (re-export the model)")
        if entry.key not in EXTERNAL_KEYS:
            raise HiltError(f"{culprit}: tensor {name!r} has an unknown external-data key {entry.key[:40]!r} "
                            f"(keys: {', '.join(EXTERNAL_KEYS)}); re-export the model")
        entries[entry.key] = entry.value
    if tensor.data_location != TensorProto.EXTERNAL:
        raise HiltError(f"{culprit}: tensor {name!r} has external-data entries but its data_location is not "
                        f"EXTERNAL; re-export the model")
    return entries


def _byte_field(entries: dict, key: str, name: str, culprit: str) -> int | None:
    text = entries.get(key)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise HiltError(f"{culprit}: tensor {name!r} has external-data {key} {text[:40]!r}; it must be a "
                        f"non-negative whole number of bytes (re-export the model)")
    return int(text)


FIXED_SIZE_TYPES = {TensorProto.FLOAT: 4, TensorProto.DOUBLE: 8, TensorProto.FLOAT16: 2, TensorProto.BFLOAT16: 2,
                    TensorProto.INT8: 1, TensorProto.UINT8: 1, TensorProto.INT16: 2, TensorProto.UINT16: 2,
                    TensorProto.INT32: 4, TensorProto.UINT32: 4, TensorProto.INT64: 8, TensorProto.UINT64: 8,
                    TensorProto.BOOL: 1, TensorProto.COMPLEX64: 8, TensorProto.COMPLEX128: 16}


def _expected_bytes(tensor) -> int | None:
    """Bytes the tensor's dims and dtype call for (None for strings and packed sub-byte types)."""
    itemsize = FIXED_SIZE_TYPES.get(tensor.data_type)
    if itemsize is None:
        return None
    count = 1
    for d in tensor.dims:
        count *= d
    return count * itemsize


def _check_location(location: str, base: Path, name: str, culprit: str) -> Path:
    """The file ``location`` names, resolved inside ``base``; anything that leaves the folder (.., an
    absolute path, a symlink anywhere on the way) is refused before it is opened."""
    shown = repr(location[:80])
    if not location:
        raise HiltError(f"{culprit}: tensor {name!r} keeps external data but names no file; re-export the model")
    if "\0" in location or len(location) > MAX_LOCATION_CHARS:
        raise HiltError(f"{culprit}: tensor {name!r} has an unusable external-data location {shown}; "
                        f"re-export the model")
    outside = (f"{culprit}: tensor {name!r} points its external data at {shown}, outside the model's folder; "
               f"refusing to read it (move the data beside the model)")
    if os.path.isabs(location) or location.startswith("~"):
        raise HiltError(outside)
    root = base.resolve()
    target = root
    for part in Path(location).parts:
        if part in ("", "."):
            continue
        if part == "..":
            raise HiltError(outside)
        target = target / part
        if target.is_symlink():
            raise HiltError(f"{culprit}: external data {shown} of tensor {name!r} goes through the symbolic "
                            f"link {target.name!r}; refusing links (copy the data file beside the model)")
    try:
        resolved = target.resolve(strict=True)
    except FileNotFoundError:
        raise HiltError(f"{culprit}: external data file {shown} of tensor {name!r} is missing "
                        f"(put it beside the model)") from None
    except (OSError, RuntimeError) as err:
        raise HiltError(f"{culprit}: external data {shown} of tensor {name!r} cannot be resolved ({err}); "
                        f"re-export the model") from None
    if not resolved.is_relative_to(root):
        raise HiltError(outside)
    if not resolved.is_file():
        raise HiltError(f"{culprit}: external data {shown} of tensor {name!r} is not a regular file")
    return resolved


def _check_external_data(model: onnx.ModelProto, base: Path | None, culprit: str) -> bool:
    """True if the model has external data, after checking every entry of every tensor (subgraphs and
    function bodies included): keys, a location inside ``base``, offset and length inside the file and
    a length that matches the tensor's dims and dtype."""
    found = False
    for tensor in _all_tensors(model):
        entries = _external_entries(tensor, culprit)
        if entries is None:
            continue
        found = True
        name = tensor.name or "(unnamed)"
        if base is None:
            raise HiltError(f"{culprit}: tensor {name!r} keeps its data in an external file; "
                            f"load the model from its .onnx path so the file can be found")
        if entries.get("basepath"):
            raise HiltError(f"{culprit}: tensor {name!r} sets an external-data basepath; refusing to read "
                            f"outside the model's folder (re-export the model)")
        path = _check_location(entries.get("location", ""), base, name, culprit)
        offset = _byte_field(entries, "offset", name, culprit) or 0
        length = _byte_field(entries, "length", name, culprit)
        size = path.stat().st_size
        if length is None:
            length = size - offset
        if offset + length > size:
            raise HiltError(f"{culprit}: tensor {name!r} reads bytes {offset}-{offset + length} of "
                            f"{entries['location'][:80]!r}, which has {size}; the data file does not match the model")
        expected = _expected_bytes(tensor)
        if expected is not None and expected != length:
            raise HiltError(f"{culprit}: tensor {name!r} has dims {list(tensor.dims)} ({expected} bytes) but its "
                            f"external data is {length} bytes; the data file does not match the model")
    return found


def load_model(source) -> onnx.ModelProto:
    """An ONNX model from a path or a ModelProto, checked and with inferred shapes."""
    if isinstance(source, onnx.ModelProto):
        model, base, culprit = source, None, f"model {source.graph.name or '(unnamed)'}"
    else:
        from ..validate import regular_file

        path = Path(source)
        culprit = str(path)
        regular_file(path, "ONNX file", "give the path of a .onnx model")  # folders, FIFOs, devices refused
        try:
            model = onnx.load_model_from_string(path.read_bytes())
        except Exception as err:
            raise HiltError(f"{path}: not a valid ONNX file, cannot parse it ({type(err).__name__}); "
                            f"re-export the model") from None
        base = path.parent
    if _check_external_data(model, base, culprit):
        model = onnx.ModelProto.FromString(model.SerializeToString())  # never modify the caller's proto
        try:  # onnx's own guard (symlinks, containment, bounds) is a second layer behind the checks above
            onnx.external_data_helper.load_external_data_for_model(model, str(base))
        except Exception as err:
            raise HiltError(f"{culprit}: cannot load its external data ({_first_line(err)}); "
                            f"re-export the model") from None
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
