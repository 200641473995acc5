"""A seeded ONNX mutation fuzzer for `hilt info` and `hilt infer --backend golden`.

Each case is a pure function of (seed, index): a base model (zoo LeNet-5, SVHN net, CIFAR-10 net, or a
small model using every op the importer maps), one or more mutations (byte-level on the serialized
protobuf, or structural: dims, dtypes, data, attributes, graph wiring, opset, NaN/inf values,
external-data entries and files), written to its own folder and run through the CLI in-process.

Every run must end as the contract says: exit 0 with nothing on stderr, or exit 2 with exactly one
line ``hilt: error: ...``. Anything else is a failure, classified as ``traceback`` (an exception left
``main``), ``noisy`` (warnings or extra stderr lines), ``timeout`` (SIGALRM after ``timeout_s``) or
``memory`` (the process's peak RSS grew by more than ``memory_mb``).

Run it directly for a report::

    python tests/fuzz_onnx.py --cases 2000 --seed 0 [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUTCOMES = ("ok", "refused", "traceback", "noisy", "timeout", "memory")
FAILURES = ("traceback", "noisy", "timeout", "memory")
BASES = ("lenet5", "kitchen", "svhn", "cifar10")
BASE_WEIGHTS = (0.45, 0.35, 0.12, 0.08)  # small models most often: cases stay fast, ops stay varied


# ---- base models ---------------------------------------------------------------------------------

def kitchen_sink(seed: int = 0) -> onnx.ModelProto:
    """A small model that uses every op the importer maps, as exporters write them: Conv (bias, pads),
    BatchNormalization, Relu, LRN, MaxPool (ceil), AveragePool, Shape/Gather/Unsqueeze/Concat -> Reshape,
    MatMul + Add, Dropout, Identity, Gemm (transB, alpha), Softmax."""
    rng = np.random.default_rng(seed)

    def init(name, shape, scale=0.3):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"], name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("LRN", ["r"], ["l"], name="lrn", size=3, alpha=1e-4, beta=0.75, bias=1.0),
        helper.make_node("MaxPool", ["l"], ["p"], name="pool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("AveragePool", ["p"], ["a"], name="avg", kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("Shape", ["a"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["s0"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["s0", "axes"], ["s1"], name="unsq"),
        helper.make_node("Concat", ["s1", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["a", "target"], ["f"], name="reshape"),
        helper.make_node("MatMul", ["f", "mw"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "mb"], ["ma"], name="add"),
        helper.make_node("Dropout", ["ma"], ["d"], name="drop"),
        helper.make_node("Identity", ["d"], ["i"], name="ident"),
        helper.make_node("Gemm", ["i", "gw", "gb"], ["logits"], name="gemm", transB=1, alpha=0.5),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1),
    ]
    feats = 4 * 3 * 3
    inits = [init("cw", (4, 2, 3, 3)), init("cb", (4,)), init("g", (4,)), init("b", (4,)), init("m", (4,)),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "v"),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "axes"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
             init("mw", (feats, 6)), init("mb", (6,)), init("gw", (5, 6)), init("gb", (5,))]
    graph = helper.make_graph(nodes, "kitchen", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


_BASE_CACHE: dict[str, onnx.ModelProto] = {}


def base_model(name: str) -> onnx.ModelProto:
    if name not in _BASE_CACHE:
        if name == "kitchen":
            _BASE_CACHE[name] = kitchen_sink()
        else:
            from hilt import zoo

            _BASE_CACHE[name] = zoo.build(name, seed=0)
    model = onnx.ModelProto()
    model.CopyFrom(_BASE_CACHE[name])
    return model


def input_shape(model: onnx.ModelProto) -> tuple[int, ...]:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return tuple(d.dim_value for d in dims[1:])


# ---- mutations -----------------------------------------------------------------------------------

EXTREME_INTS = (0, -1, 1, 2, 3, 7, 64, 2**31, -(2**31), 2**40, 10**6)
EXTREME_FLOATS = (0.0, -1.0, 1e-30, 1e30, 1e300, float("nan"), float("inf"), -float("inf"), 0.5, 2.7)
ATTR_NAMES = ("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", "size", "alpha", "beta", "bias",
              "epsilon", "axis", "transA", "transB", "ceil_mode", "count_include_pad", "storage_order",
              "training_mode", "allowzero", "to")
OPS = ("Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Add", "Flatten",
       "Reshape", "BatchNormalization", "LRN", "Dropout", "Identity", "Softmax", "Constant", "Shape", "Gather",
       "Concat", "Sigmoid", "Mul", "Loop", "If", "Cast", "Unsqueeze")
DTYPES = [v for k, v in TensorProto.DataType.items() if k != "UNDEFINED"] + [0, 99]


@dataclass
class Case:
    seed: int
    index: int
    base: str
    mutations: list[str] = field(default_factory=list)
    folder: Path | None = None
    outcome: str = ""
    detail: str = ""
    seconds: float = 0.0


def _rand_attr_value(rng, name: str):
    kind = rng.integers(6)
    if kind == 0:
        return [int(rng.choice(EXTREME_INTS)) for _ in range(int(rng.integers(0, 5)))]
    if kind == 1:
        return int(rng.choice(EXTREME_INTS))
    if kind == 2:
        return float(rng.choice(EXTREME_FLOATS))
    if kind == 3:
        return [float(rng.choice(EXTREME_FLOATS)) for _ in range(int(rng.integers(1, 5)))]
    if kind == 4:
        return str(rng.choice(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "FOO", "", "\u00e9"]))
    return [2, 2] if name in ("kernel_shape", "strides") else 1


def _set_attr(node, name: str, value) -> None:
    for i, a in enumerate(node.attribute):
        if a.name == name:
            del node.attribute[i]
            break
    node.attribute.append(helper.make_attribute(name, value))


def _tensor(rng, model) -> TensorProto | None:
    inits = list(model.graph.initializer)
    return inits[int(rng.integers(len(inits)))] if inits else None


def mutate_structure(rng, model: onnx.ModelProto, folder: Path) -> str:
    g = model.graph
    kind = int(rng.integers(16))
    nodes = list(g.node)
    node = nodes[int(rng.integers(len(nodes)))] if nodes else None
    t = _tensor(rng, model)
    if kind == 0 and t is not None:  # dims disagree with the data
        dims = list(t.dims)
        choice = rng.integers(4)
        if choice == 0 and dims:
            dims[int(rng.integers(len(dims)))] = int(rng.choice(EXTREME_INTS))
        elif choice == 1:
            dims.append(int(rng.integers(1, 4)))
        elif choice == 2 and dims:
            dims.pop()
        else:
            dims = dims[::-1]
        del t.dims[:]
        t.dims.extend(dims)
        return f"dims {t.name} -> {dims[:6]}"
    if kind == 1 and t is not None:  # dtype changed under the same bytes
        dtype = int(rng.choice(DTYPES))
        t.data_type = dtype
        return f"dtype {t.name} -> {dtype}"
    if kind == 2 and t is not None:  # data truncated, extended or moved to another field
        raw = t.raw_data
        choice = rng.integers(4)
        if choice == 0:
            t.raw_data = raw[: int(rng.integers(0, max(1, len(raw))))]
        elif choice == 1:
            t.raw_data = raw + bytes(int(rng.integers(1, 16)))
        elif choice == 2:
            arr = numpy_helper.to_array(t).reshape(-1)
            t.ClearField("raw_data")
            t.float_data.extend(arr[: max(0, arr.size - int(rng.integers(0, 3)))].astype(float).tolist())
        else:
            t.string_data.append(b"1.5")
        return f"data {t.name}"
    if kind == 3 and t is not None and t.data_type == TensorProto.FLOAT and t.raw_data:  # NaN / inf / huge
        arr = numpy_helper.to_array(t).copy()
        if arr.size:
            arr.reshape(-1)[int(rng.integers(arr.size))] = rng.choice([np.nan, np.inf, -np.inf, 3e38, 1e7, -5e5])
        t.CopyFrom(numpy_helper.from_array(arr, t.name))
        return f"values {t.name}"
    if kind == 4 and node is not None:  # an attribute set to an extreme or wrongly typed value
        name = str(rng.choice([a.name for a in node.attribute] + list(ATTR_NAMES)))
        value = _rand_attr_value(rng, name)
        _set_attr(node, name, value)
        return f"attr {node.name}.{name} = {value!r}"[:120]
    if kind == 5 and node is not None and node.attribute:  # an attribute removed
        a = node.attribute[int(rng.integers(len(node.attribute)))]
        node.attribute.remove(a)
        return f"drop attr {node.name}.{a.name}"
    if kind == 6 and node is not None:  # op replaced
        op = str(rng.choice(OPS))
        node.op_type = op
        return f"op {node.name} -> {op}"
    if kind == 7 and node is not None and node.input:  # wiring: an input renamed, swapped or dropped
        choice = rng.integers(3)
        names = [n for n in node.input]
        if choice == 0:
            pool = [i.name for i in g.initializer] + [o for n in nodes for o in n.output] + ["missing", ""]
            names[int(rng.integers(len(names)))] = str(rng.choice(pool))
        elif choice == 1:
            names = names[::-1]
        else:
            names.pop()
        del node.input[:]
        node.input.extend(names)
        return f"inputs {node.name} -> {names}"
    if kind == 8 and len(nodes) > 1:  # nodes reordered, removed or duplicated
        choice = rng.integers(3)
        i = int(rng.integers(len(nodes)))
        if choice == 0:
            j = int(rng.integers(len(nodes)))
            a, b = onnx.NodeProto(), onnx.NodeProto()
            a.CopyFrom(g.node[i])
            b.CopyFrom(g.node[j])
            g.node[i].CopyFrom(b)
            g.node[j].CopyFrom(a)
            return f"swap nodes {i} {j}"
        if choice == 1:
            del g.node[i]
            return f"remove node {i}"
        extra = g.node.add()
        extra.CopyFrom(nodes[i])
        return f"duplicate node {i}"
    if kind == 9:  # the input's declared shape
        dims = g.input[0].type.tensor_type.shape.dim
        if len(dims) and rng.integers(2):
            d = dims[int(rng.integers(len(dims)))]
            d.dim_value = int(rng.choice([0, 1, 2, 3, 5, 1000, 2**20, 2**31]))
            return "input dim"
        if len(dims):
            del dims[int(rng.integers(len(dims)))]
            return "input rank"
    if kind == 10:  # opset
        v = int(rng.choice([0, 1, 6, 7, 11, 12, 13, 17, 21, 99, 2**31]))
        model.opset_import[0].version = v
        return f"opset {v}"
    if kind == 11:  # outputs rewired
        g.output[0].name = str(rng.choice([n.output[0] for n in nodes] + ["nowhere", g.input[0].name]))
        return f"output -> {g.output[0].name}"
    if kind == 12 and t is not None:  # moved to external data, with a hostile or broken reference
        return mutate_external(rng, t, folder)
    if kind == 13 and node is not None:  # a tensor attribute on a node (Constant-like or in a subgraph)
        sub = helper.make_graph([helper.make_node("Identity", ["k"], ["o"])], "sub", [],
                                [helper.make_tensor_value_info("o", TensorProto.FLOAT, [2])],
                                initializer=[numpy_helper.from_array(np.ones(2, np.float32), "k")])
        if rng.integers(2):
            mutate_external(rng, sub.initializer[0], folder)
        node.attribute.append(helper.make_attribute(str(rng.choice(["then_branch", "body", "value"])), sub))
        return f"subgraph attr on {node.name}"
    if kind == 14 and t is not None:  # a name collision
        other = _tensor(rng, model)
        t.name = other.name if other is not None else t.name
        return f"rename {t.name}"
    if kind == 15:  # a Constant node with an odd payload
        value = rng.choice(["string", "complex", "empty", "big"])
        if value == "string":
            c = helper.make_node("Constant", [], ["cst"], value_string="abc")
        elif value == "complex":
            c = helper.make_node("Constant", [], ["cst"], value=numpy_helper.from_array(np.ones(2, np.complex64)))
        elif value == "empty":
            c = helper.make_node("Constant", [], ["cst"])
        else:
            c = helper.make_node("Constant", [], ["cst"], value_ints=[2**40, -1])
        g.node.insert(0, c)
        if nodes and nodes[-1].input:
            g.node[-1].input[-1] = "cst"
        return f"constant {value}"
    return "noop"


def _link(target, link: Path) -> None:
    if os.path.lexists(link):
        link.unlink()
    os.symlink(target, link)


def mutate_external(rng, t: TensorProto, folder: Path) -> str:
    """Move a tensor's data to a file and give it a location from a list of hostile and broken forms."""
    if t.data_location == TensorProto.EXTERNAL:
        return "external: already"
    try:
        raw = t.raw_data if t.raw_data else numpy_helper.to_array(t).tobytes()
    except Exception:  # an earlier mutation broke the tensor: nothing to move
        return "external: unreadable tensor"
    folder.mkdir(parents=True, exist_ok=True)
    outside = folder.parent / f"{folder.name}-secret.bin"
    outside.write_bytes(raw)
    (folder / "w.bin").write_bytes(raw)
    kind = str(rng.choice(["ok", "dotdot", "abs", "symlink", "inner_link", "dup", "dup_first", "offset", "length",
                           "negative", "nonint", "missing", "nul", "long", "loop", "dir", "basepath", "unknown",
                           "empty", "location_only_key"]))
    t.ClearField("raw_data")
    del t.external_data[:]
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", "w.bin"), ("offset", "0"), ("length", str(len(raw)))]
    if kind == "dotdot":
        entries[0] = ("location", f"../{outside.name}")
    elif kind == "abs":
        entries[0] = ("location", str(outside))
    elif kind == "symlink":
        _link(outside, folder / "link.bin")
        entries[0] = ("location", "link.bin")
    elif kind == "inner_link":
        _link(folder / "w.bin", folder / "inner.bin")
        entries[0] = ("location", "inner.bin")
    elif kind == "dup":  # onnx reads the last location
        _link(outside, folder / "link.bin")
        entries.append(("location", "link.bin"))
    elif kind == "dup_first":
        entries.insert(0, ("location", f"../{outside.name}"))
    elif kind == "offset":
        entries[1] = ("offset", str(int(rng.choice([1, len(raw), 2**62]))))
    elif kind == "length":
        entries[2] = ("length", str(int(rng.choice([0, 1, len(raw) + 4, 2**62]))))
    elif kind == "negative":
        entries[int(rng.integers(1, 3))] = (entries[1][0], "-4")
    elif kind == "nonint":
        entries[2] = ("length", str(rng.choice(["1.5", "abc", "", "0x10", " 4"])))
    elif kind == "missing":
        entries[0] = ("location", "absent.bin")
    elif kind == "nul":
        entries[0] = ("location", "w.bin\0../../x")
    elif kind == "long":
        entries[0] = ("location", "a" * 5000)
    elif kind == "loop":
        _link("loop2", folder / "loop1")
        _link("loop1", folder / "loop2")
        entries[0] = ("location", "loop1")
    elif kind == "dir":
        (folder / "sub").mkdir(exist_ok=True)
        entries[0] = ("location", "sub")
    elif kind == "basepath":
        entries.append(("basepath", str(folder.parent)))
    elif kind == "unknown":
        entries.append(("evil", "1"))
    elif kind == "empty":
        entries[0] = ("location", "")
    elif kind == "location_only_key":
        entries = [("location", "w.bin")]
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return f"external {t.name}: {kind}"


def mutate_bytes(rng, data: bytes) -> tuple[bytes, str]:
    buf = bytearray(data)
    kind = int(rng.integers(5))
    n = len(buf)
    if kind == 0:
        for _ in range(int(rng.integers(1, 8))):
            buf[int(rng.integers(n))] ^= 1 << int(rng.integers(8))
        return bytes(buf), "bit flips"
    if kind == 1:
        for _ in range(int(rng.integers(1, 4))):
            buf[int(rng.integers(n))] = int(rng.integers(256))
        return bytes(buf), "byte writes"
    if kind == 2:
        return bytes(buf[: int(rng.integers(n))]), "truncate"
    if kind == 3:
        i = int(rng.integers(n))
        j = min(n, i + int(rng.integers(1, 64)))
        return bytes(buf[:i] + buf[i:j] * int(rng.integers(2, 5)) + buf[j:]), "repeat chunk"
    i = int(rng.integers(n))
    return bytes(buf[:i] + bytes(rng.integers(0, 256, int(rng.integers(1, 32)), dtype=np.uint8)) + buf[i:]), "insert"


def make_case(seed: int, index: int, root: Path) -> tuple[Case, Path, np.ndarray]:
    """The mutant of (seed, index) written under ``root``; returns the case, model path and an input batch."""
    rng = np.random.default_rng([seed, index])
    base = str(rng.choice(BASES, p=BASE_WEIGHTS))
    case = Case(seed, index, base)
    folder = root / f"case{index}"
    folder.mkdir(parents=True, exist_ok=True)
    case.folder = folder
    model = base_model(base)
    x = rng.standard_normal((2, *input_shape(model))).astype(np.float32)
    path = folder / "model.onnx"
    if rng.random() < 0.3:
        data, what = mutate_bytes(rng, model.SerializeToString())
        case.mutations.append(what)
        path.write_bytes(data)
    else:
        for _ in range(int(rng.integers(1, 4))):
            try:
                case.mutations.append(mutate_structure(rng, model, folder))
            except Exception as err:  # an earlier mutation left nothing this one can work on
                case.mutations.append(f"skipped ({type(err).__name__})")
        path.write_bytes(model.SerializeToString())
    return case, path, x


# ---- running -------------------------------------------------------------------------------------

class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_cli(argv: list[str], timeout_s: float) -> tuple[str, str]:
    """(outcome, detail) of one in-process `hilt` run."""
    from hilt.cli import main

    err = io.StringIO()
    out = io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(out), np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
            warnings.simplefilter("always")
            try:
                code = main(argv)
            except SystemExit as e:
                code = e.code
    except _Timeout:
        return "timeout", f"over {timeout_s:g} s"
    except MemoryError:
        return "memory", "MemoryError"
    except BaseException as e:  # noqa: BLE001 - anything leaving main is what we are looking for
        return "traceback", "".join(traceback.format_exception_only(type(e), e)).strip()[:300] + " @ " + \
            _where(e)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    lines = err.getvalue().strip().splitlines()
    if caught:
        return "noisy", f"warning: {caught[0].category.__name__}: {str(caught[0].message)[:200]}"
    if code == 0:
        return ("ok", "") if not lines else ("noisy", f"exit 0 with stderr {lines[0][:200]!r}")
    if code == 2 and len(lines) == 1 and lines[0].startswith("hilt: error: "):
        return "refused", lines[0]
    return "noisy", f"exit {code}, stderr {err.getvalue()[:300]!r}"


def _where(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    return f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(seed: int, index: int, root: Path, timeout_s: float = 20.0, memory_mb: float = 1500.0,
             commands=("info", "infer")) -> Case:
    case, path, x = make_case(seed, index, root)
    start = time.perf_counter()
    rss0 = _rss_mb()
    outcomes = []
    for command in commands:
        if command == "info":
            argv = ["info", str(path)]
        else:
            xp = case.folder / "x.npy"
            np.save(xp, x)
            argv = ["infer", str(path), "--backend", "golden", "--input", str(xp), "--output", str(case.folder / "y.npy")]
        outcome, detail = run_cli(argv, timeout_s)
        if outcome in ("ok", "refused") and _rss_mb() - rss0 > memory_mb:
            outcome, detail = "memory", f"peak RSS grew by {_rss_mb() - rss0:.0f} MB"
        outcomes.append((outcome, f"{command}: {detail}"))
    # the case's outcome is its worst run: any failure, else refused if either refused, else ok
    order = {o: i for i, o in enumerate(("ok", "refused", "noisy", "memory", "timeout", "traceback"))}
    case.outcome, case.detail = max(outcomes, key=lambda od: order[od[0]])
    case.seconds = time.perf_counter() - start
    return case


def fuzz(cases: int, seed: int = 0, start: int = 0, keep: Path | None = None, progress: bool = False,
         timeout_s: float = 20.0) -> tuple[collections.Counter, list[Case]]:
    """Run ``cases`` mutants; returns counts per outcome and the failing cases (their folders kept under
    ``keep`` when given)."""
    counts: collections.Counter = collections.Counter()
    failures = []
    with tempfile.TemporaryDirectory(prefix="hilt-fuzz-") as tmp:
        root = Path(tmp)
        for index in range(start, start + cases):
            case = run_case(seed, index, root, timeout_s=timeout_s)
            counts[case.outcome] += 1
            if case.outcome in FAILURES:
                failures.append(case)
                if keep is not None:
                    dest = keep / f"seed{seed}-case{index}"
                    shutil.rmtree(dest, ignore_errors=True)
                    shutil.copytree(case.folder, dest, symlinks=True)
            shutil.rmtree(case.folder, ignore_errors=True)
            for stray in root.glob(f"case{index}-secret.bin"):
                stray.unlink()
            if progress and (index - start + 1) % 100 == 0:
                print(f"{index - start + 1} cases: {dict(counts)}", file=sys.stderr, flush=True)
    return counts, failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Seeded ONNX mutation fuzzer for `hilt info` and `hilt infer`")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="copy failing cases here")
    parser.add_argument("--json", type=Path, help="write counts and failures as JSON")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    counts, failures = fuzz(args.cases, args.seed, args.start, args.keep, progress=True)
    seconds = time.perf_counter() - t0
    report = {"cases": args.cases, "seed": args.seed, "start": args.start, "seconds": round(seconds, 1),
              "counts": {o: counts.get(o, 0) for o in OUTCOMES},
              "failures": [{"index": c.index, "base": c.base, "mutations": c.mutations, "outcome": c.outcome,
                            "detail": c.detail} for c in failures]}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
