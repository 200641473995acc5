"""ONNX -> IR for sequential CNNs, as the torch legacy and dynamo exporters and Caffe converters emit them.

The walk follows the graph's topological node order with one "current" activation tensor. Every
supported node must read the current tensor (plus constants) and becomes a layer, is folded into the
previous layer (BatchNormalization, the bias Add after a MatMul), or disappears (Dropout, Identity,
a Flatten of an already flat tensor). Small integer side computations that only build a Reshape's
target shape (Shape -> Gather -> Unsqueeze -> Concat, as ``x.view(x.size(0), -1)`` exports) are
tracked and dropped. Anything else is refused with the node's name, op and the supported list.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import HiltError
from ..ir import DirectSources, Layer, Network
from .loader import load_model
from .sources import BatchNormSources, GemmSources

SUPPORTED_OPS = ("Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Add",
                 "Flatten", "Reshape", "BatchNormalization", "LRN", "Dropout", "Identity", "Softmax", "Constant")
# ops allowed only on the integer side path that computes a Reshape's target shape
SHAPE_OPS = ("Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice")
SIDE_BATCH = 7  # a stand-in batch size when evaluating a side path: any N must give N x features
AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
MAX_ELEMENTS = 1 << 31  # a tensor claiming more values than this is refused before anything is allocated
MAX_INPUT_VALUES = 1 << 26  # per sample (AlexNet's is 154,587): a larger input is a corrupt shape, not a CNN
MAX_WINDOW = 1024  # kernel and stride sizes; CNN kernels are single digits, AlexNet's largest is 11
# No trained CNN parameter comes near 2**20; beyond it the fixed-point formats need shifts past the
# accumulator and the float forward overflows float32 within a few layers.
MAX_MAGNITUDE = float(2**20)
NUMERIC_KINDS = "fiu"  # float and integer tensors; strings, complex and bools are not parameters


class _Walk:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        g = model.graph
        self.consts = {t.name: tensor_array(t, f"initializer {t.name!r}") for t in g.initializer}
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        if not 1 <= self.opset <= onnx.defs.onnx_opset_version():
            raise HiltError(f"model imports opset {self.opset}, which this onnx ({onnx.__version__}) does not "
                            f"define (1-{onnx.defs.onnx_opset_version()}); re-export with a released opset")
        self.side: set[str] = set()
        self.side_values: dict[str, np.ndarray] = {}  # side-path results we could evaluate
        self.layers: list[Layer] = []
        self.names: set[str] = set()
        self.pending_bias: Layer | None = None  # a MatMul layer whose bias may follow as an Add
        self.shapes = {}
        for vi in list(g.value_info) + list(g.output):
            dims = vi.type.tensor_type.shape.dim
            self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
        inputs = [i for i in g.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise HiltError(f"model has {len(inputs)} data inputs ({', '.join(i.name for i in inputs)}); "
                            f"hilt maps single-input CNNs")
        x = inputs[0]
        dims = x.type.tensor_type.shape.dim
        shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
        if len(shape) not in (2, 4) or any(not s or s < 0 for s in shape[1:]) or \
                math.prod(s for s in shape[1:]) > MAX_INPUT_VALUES:
            raise HiltError(f"input {x.name!r} has shape {shape}; hilt needs NxCxHxW (or NxF) with fixed C, H, W")
        self.fixed_batch = shape[0] if shape[0] else 0  # a Reshape to [N, -1] is per sample only for this N
        self.input_name = x.name
        self.input_shape = tuple(int(s) for s in shape[1:])
        self.current = x.name
        self.shape = self.input_shape
        self.consumers: dict[str, list] = {}
        for node in g.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    # ---- helpers ----------------------------------------------------------------------------
    def fail(self, node, why: str):
        raise HiltError(f"node {node.name or '(unnamed)'!r} ({node.op_type}): {why}")

    def const(self, node, index: int, what: str, optional: bool = False):
        if index >= len(node.input) or not node.input[index]:
            if optional:
                return None, None
            self.fail(node, f"missing {what}")
        name = node.input[index]
        if name not in self.consts:
            self.fail(node, f"{what} {name!r} must be an initializer or Constant (computed {what}s are not supported)")
        value = np.asarray(self.consts[name])
        if value.dtype.kind not in NUMERIC_KINDS:
            self.fail(node, f"{what} {name!r} has dtype {value.dtype}; parameters must be float or integer tensors")
        with np.errstate(over="ignore"):
            value = value.astype(np.float32)
        if not np.isfinite(value).all():
            self.fail(node, f"{what} {name!r} holds NaN or infinite values (or values beyond float32); "
                            f"fix the model's parameters")
        if value.size and np.abs(value).max() > MAX_MAGNITUDE:
            self.fail(node, f"{what} {name!r} holds a value of magnitude {np.abs(value).max():.3g}, beyond "
                            f"{MAX_MAGNITUDE:.0f}; no trained CNN has such parameters (fix or normalise the model)")
        return name, value

    def ints(self, node, a, key: str, n: int, default, lo: int, hi: int = MAX_WINDOW) -> tuple[int, ...]:
        """An ints attribute of length ``n`` with every value in [lo, hi]."""
        values = a.get(key, default)
        if not isinstance(values, (list, tuple)) or len(values) != n or \
                not all(isinstance(v, int) and lo <= v <= hi for v in values):
            self.fail(node, f"attribute {key}={values!r} must be {n} integers in [{lo}, {hi}]")
        return tuple(int(v) for v in values)

    def number(self, node, a, key: str, default: float, lo: float | None = None, lo_open: bool = False) -> float:
        value = a.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
                (lo is not None and (value < lo or (lo_open and value == lo))):
            bound = "" if lo is None else f" {'>' if lo_open else '>='} {lo:g}"
            self.fail(node, f"attribute {key}={value!r} must be a finite number{bound}")
        return float(value)

    def int_attr(self, node, a, key: str, default: int, lo: int, hi: int) -> int:
        value = a.get(key, default)
        if not isinstance(value, int) or not lo <= value <= hi:
            self.fail(node, f"attribute {key}={value!r} must be an integer in [{lo}, {hi}]")
        return int(value)

    def unique(self, node, op: str) -> str:
        base = node.name or f"{op}{len(self.layers)}"
        name, i = base, 1
        while name in self.names:
            name, i = f"{base}_{i}", i + 1
        self.names.add(name)
        return name

    def add(self, node, op: str, attrs=None, params=None, sources=None) -> Layer:
        layer = Layer(self.unique(node, op), op, self.shape, (), attrs or {}, params or {}, sources,
                      (node.name,))
        layer.out_shape = layer.expected_out_shape()
        if any(d < 1 for d in layer.out_shape):
            self.fail(node, f"gives an empty output {'x'.join(map(str, layer.out_shape))} from a "
                            f"{'x'.join(map(str, self.shape))} input (kernel or padding larger than the map)")
        self.layers.append(layer)
        self.shape = layer.out_shape
        return layer

    # ---- the walk ---------------------------------------------------------------------------
    def run(self) -> Network:
        for node in self.model.graph.node:
            if node.domain not in ("", "ai.onnx"):
                self.fail(node, f"custom domain {node.domain!r} is not supported; supported ops: "
                                f"{', '.join(SUPPORTED_OPS)}")
            if node.op_type == "Constant":
                self.consts[node.output[0]] = _constant_value(node)
                continue
            if self.side_node(node):
                continue
            if node.op_type not in SUPPORTED_OPS:
                self.fail(node, f"unsupported op; supported: {', '.join(SUPPORTED_OPS)}")
            data = [i for i in node.input if i and i not in self.consts and i not in self.side]
            if data != [self.current]:
                self.fail(node, f"reads {', '.join(data) or 'no activation'} instead of the previous layer's "
                                f"output {self.current!r}; hilt maps sequential (single-path) CNNs only")
            users = [n for n in self.consumers.get(self.current, []) if n.op_type != "Shape"]
            if len(users) > 1:
                self.fail(node, f"tensor {self.current!r} feeds {len(users)} nodes (a branch); hilt maps "
                                f"sequential CNNs only")
            for extra in node.output[1:]:
                if extra and extra in self.consumers:
                    self.fail(node, f"its second output {extra!r} is used; only the first is supported")
            getattr(self, "op_" + node.op_type)(node, _attrs(node))
            if node.op_type not in ("MatMul", "Dropout", "Identity"):
                self.pending_bias = None
            self.current = node.output[0]
        outputs = [o.name for o in self.model.graph.output]
        if outputs != [self.current]:
            raise HiltError(f"graph outputs {outputs} are not the end of the layer chain {self.current!r}")
        net = Network(self.model.graph.name or "model", self.input_name, self.input_shape, self.layers,
                      output_name=self.current)
        try:
            net.validate()
        except ValueError as err:
            raise HiltError(f"imported network is inconsistent: {err}") from None
        return net

    def side_node(self, node) -> bool:
        """Shape computations feeding a Reshape: Shape of the current tensor, ops on constants and on their results."""
        if node.op_type not in SHAPE_OPS:
            return False
        ins = [i for i in node.input if i]
        if all(i in self.side or i in self.consts or (node.op_type == "Shape" and i == self.current)
               for i in ins):
            self.side.update(node.output)
            value = _eval_shape_op(node, [self.side_values.get(i, self.consts.get(i)) for i in node.input],
                                   (SIDE_BATCH, *self.shape))
            if value is not None:
                self.side_values[node.output[0]] = value
            return True
        return False

    # ---- ops --------------------------------------------------------------------------------
    def op_Conv(self, node, a):
        wname, w = self.const(node, 1, "weight")
        if w.ndim != 4 or len(self.shape) != 3:
            self.fail(node, "only 2-D convolutions on NCHW maps are supported")
        if self.ints(node, a, "dilations", 2, [1, 1], 1) != (1, 1):
            self.fail(node, f"dilations {a['dilations']} are not supported (dilation 1 only)")
        groups = self.int_attr(node, a, "group", 1, 1, max(1, self.shape[0]))
        if w.shape[1] * groups != self.shape[0] or w.shape[0] % groups or min(w.shape) < 1:
            self.fail(node, f"weight {w.shape} with group {groups} does not fit {self.shape[0]} input channels")
        kernel = self.ints(node, a, "kernel_shape", 2, list(w.shape[2:]), 1)
        if kernel != w.shape[2:]:
            self.fail(node, f"kernel_shape {list(kernel)} disagrees with the weight's {list(w.shape[2:])}")
        stride = self.ints(node, a, "strides", 2, [1, 1], 1)
        pads = self.pads(node, a, kernel, stride)
        bname, b = self.const(node, 2, "bias", optional=True)
        if b is not None and b.size != w.shape[0]:
            self.fail(node, f"bias of {b.size} values does not match the weight's {w.shape[0]} output channels")
        b = np.zeros(w.shape[0], np.float32) if b is None else b.reshape(-1)
        self.add(node, "conv", {"kernel": kernel, "stride": stride, "pads": pads, "groups": groups},
                 {"weight": w, "bias": b}, DirectSources(wname, bname))

    def pads(self, node, a, kernel, stride, pool: bool = False) -> tuple[int, int, int, int]:
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode(errors="replace") if isinstance(auto, bytes) else auto
        if auto not in AUTO_PADS:
            self.fail(node, f"auto_pad {str(auto)[:40]!r} is not one of {', '.join(AUTO_PADS)}")
        if auto in ("NOTSET", "VALID"):
            p = self.ints(node, a, "pads", 4, [0, 0, 0, 0], 0) if auto == "NOTSET" else (0, 0, 0, 0)
            if pool and any(p[i] >= kernel[i % 2] for i in range(4)):
                self.fail(node, f"pads {list(p)} must be smaller than the kernel {list(kernel)} (a window "
                                f"entirely in the padding has no value)")
            return (p[0], p[1], p[2], p[3])
        begins, ends = [], []
        for size, k, s in zip(self.shape[1:], kernel, stride):
            total = max(0, (-(-size // s) - 1) * s + k - size)
            small = total // 2
            begins.append(small if auto == "SAME_UPPER" else total - small)
            ends.append(total - begins[-1])
        return (begins[0], begins[1], ends[0], ends[1])

    def pool(self, node, a, op, extra):
        if len(self.shape) != 3:
            self.fail(node, "pooling needs a CxHxW feature map")
        if self.ints(node, a, "dilations", 2, [1, 1], 1) != (1, 1):
            self.fail(node, "pooling dilation is not supported")
        if "kernel_shape" not in a:
            self.fail(node, "missing attribute kernel_shape")
        kernel = self.ints(node, a, "kernel_shape", 2, None, 1, max(MAX_WINDOW, *self.shape[1:]))
        stride = self.ints(node, a, "strides", 2, [1, 1], 1)
        attrs = {"kernel": kernel, "stride": stride, "pads": self.pads(node, a, kernel, stride, pool=True),
                 "ceil_mode": bool(self.int_attr(node, a, "ceil_mode", 0, 0, 1)), **extra}
        self.add(node, op, attrs)

    def op_MaxPool(self, node, a):
        if int(a.get("storage_order", 0)):
            self.fail(node, "storage_order=1 is not supported")
        self.pool(node, a, "maxpool", {})

    def op_AveragePool(self, node, a):
        self.pool(node, a, "avgpool", {"count_include_pad": bool(a.get("count_include_pad", 0))})

    def op_GlobalAveragePool(self, node, a):
        if len(self.shape) != 3:
            self.fail(node, "needs a CxHxW feature map")
        self.pool(node, {"kernel_shape": self.shape[1:]}, "avgpool", {"count_include_pad": False})

    def op_Relu(self, node, a):
        self.add(node, "relu")

    def op_LRN(self, node, a):
        if len(self.shape) != 3:
            self.fail(node, "LRN needs a CxHxW feature map")
        if "size" not in a:
            self.fail(node, "missing attribute size")
        # a window wider than 2C-1 already covers every channel from every position
        size = self.int_attr(node, a, "size", 0, 1, 2 * self.shape[0] + 1)
        self.add(node, "lrn", {"size": size, "alpha": self.number(node, a, "alpha", 1e-4, 0),
                               "beta": self.number(node, a, "beta", 0.75),
                               "bias": self.number(node, a, "bias", 1.0, 0, lo_open=True)})

    def op_Softmax(self, node, a):
        axis = int(a.get("axis", 1 if self.opset < 13 else -1))
        if len(self.shape) != 1 or axis not in (1, -1):
            self.fail(node, "Softmax is supported only over the class axis of the final N x classes output")
        self.add(node, "softmax")

    def op_Dropout(self, node, a):
        pass  # inference: identity

    op_Identity = op_Dropout

    def flatten(self, node):
        if len(self.shape) != 1:
            self.add(node, "flatten")

    def op_Flatten(self, node, a):
        if a.get("axis", 1) != 1:
            self.fail(node, f"axis {a['axis']!r} is not supported (axis 1 flattens per sample)")
        self.flatten(node)

    def op_Reshape(self, node, a):
        size = int(np.prod(self.shape))
        if len(node.input) < 2 or not node.input[1]:
            self.fail(node, "missing the target shape input")
        target = self.consts.get(node.input[1], self.side_values.get(node.input[1]))
        if target is not None:
            target = np.asarray(target)
            if target.dtype.kind not in "iu" or target.ndim != 1:
                self.fail(node, f"target shape must be a 1-D int64 tensor, got {target.dtype} {target.shape}")
            t = [int(v) for v in target.reshape(-1)]
            # [N, size], [-1, size] or [0, -1] (0 copies the batch): each sample flattened on its own.
            # [2, -1] would fold the batch into rows of a fixed count: not a per-sample flatten.
            # A side path was evaluated with SIDE_BATCH standing in for N.
            batch = (SIDE_BATCH,) if node.input[1] in self.side_values else (0, self.fixed_batch)
            ok = len(t) == 2 and (t[1] == size or (t[1] == -1 and t[0] in batch))
        else:  # computed by the side path: trust ONNX shape inference on the result
            out = self.shapes.get(node.output[0])
            ok = out is not None and len(out) == 2 and out[1] in (size, None)
        if not ok:
            self.fail(node, f"only a Reshape that flattens each sample to {size} values (N x {size}) is supported")
        self.flatten(node)

    def dense_input(self, node):
        if len(self.shape) != 1:
            self.fail(node, f"needs a flattened input, got a {'x'.join(map(str, self.shape))} map "
                            f"(insert Flatten)")

    def op_Gemm(self, node, a):
        self.dense_input(node)
        if int(a.get("transA", 0)):
            self.fail(node, "transA=1 is not supported (the activation must be the left operand)")
        bname, b = self.const(node, 1, "weight")
        alpha, beta = self.number(node, a, "alpha", 1.0), self.number(node, a, "beta", 1.0)
        trans_b = bool(self.int_attr(node, a, "transB", 0, 0, 1))
        if b.ndim != 2 or min(b.shape) < 1:
            self.fail(node, f"weight of shape {b.shape} is not a matrix")
        with np.errstate(over="ignore"):
            w = alpha * (b if trans_b else b.T)
        if not np.isfinite(w).all() or np.abs(w).max() > MAX_MAGNITUDE:
            self.fail(node, f"alpha {alpha:g} times the weight gives values beyond {MAX_MAGNITUDE:.0f}")
        if w.shape[1] != self.shape[0]:
            self.fail(node, f"weight {b.shape} does not fit {self.shape[0]} inputs")
        cname, c = self.const(node, 2, "bias", optional=True)
        bias, c_shape = np.zeros(w.shape[0], np.float32), ()
        if c is not None:
            c_shape = c.shape
            if c.size not in (1, w.shape[0]):
                self.fail(node, f"bias of shape {c.shape} does not broadcast per output")
            bias = (beta * np.broadcast_to(c.reshape(-1), (w.shape[0],))).astype(np.float32)
        self.add(node, "dense", params={"weight": w.astype(np.float32), "bias": bias},
                 sources=GemmSources(bname, cname, alpha, beta, trans_b, tuple(c_shape)))

    def op_MatMul(self, node, a):
        self.dense_input(node)
        bname, b = self.const(node, 1, "weight")
        if b.ndim != 2 or b.shape[0] != self.shape[0] or b.shape[1] < 1:
            self.fail(node, f"weight {b.shape} does not fit {self.shape[0]} inputs")
        self.pending_bias = self.add(node, "dense", params={"weight": np.ascontiguousarray(b.T),
                                                            "bias": np.zeros(b.shape[1], np.float32)},
                                     sources=GemmSources(bname, None, trans_b=False))

    def op_Add(self, node, a):
        layer = self.pending_bias
        if layer is None:
            self.fail(node, "Add is supported only as the bias right after a MatMul")
        idx = 1 if node.input[0] == self.current else 0
        cname, c = self.const(node, idx, "bias")
        n = layer.params["bias"].shape[0]
        if c.size not in (1, n):
            self.fail(node, f"bias of shape {c.shape} does not broadcast per output")
        layer.params["bias"] = np.broadcast_to(c.reshape(-1), (n,)).astype(np.float32)
        layer.sources.c, layer.sources.c_shape = cname, tuple(c.shape)
        layer.onnx_nodes += (node.name,)

    def op_BatchNormalization(self, node, a):
        if int(a.get("training_mode", 0)):
            self.fail(node, "training_mode=1 is not supported; export the model in eval mode")
        prev = self.layers[-1] if self.layers else None
        if prev is None or not prev.weighted or prev.out_shape != self.shape:
            self.fail(node, f"BatchNormalization can only be folded into a directly preceding Conv/Gemm, "
                            f"not after {prev.op if prev else 'the input'}")
        gname, gamma = self.const(node, 1, "scale")
        bname, beta = self.const(node, 2, "B")
        _, mean = self.const(node, 3, "mean")
        _, var = self.const(node, 4, "var")
        channels = prev.params["weight"].shape[0]
        for what, v in (("scale", gamma), ("B", beta), ("mean", mean), ("var", var)):
            if v.size != channels:
                self.fail(node, f"{what} has {v.size} values but the folded layer has {channels} channels")
        gamma, beta, mean, var = (v.reshape(-1) for v in (gamma, beta, mean, var))
        eps = self.number(node, a, "epsilon", 1e-5, 0)
        if (var.astype(np.float64) + eps <= 0).any():
            self.fail(node, "var + epsilon must be positive for every channel")
        inv_std = (1.0 / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
        s = gamma * inv_std
        w, b = prev.params["weight"], prev.params["bias"]
        shape = (-1,) + (1,) * (w.ndim - 1)
        with np.errstate(over="ignore", invalid="ignore"):
            prev.params = {"weight": (w * s.reshape(shape)).astype(np.float32),
                           "bias": ((b - mean) * s + beta).astype(np.float32)}
        if not all(np.isfinite(v).all() and np.abs(v).max() <= MAX_MAGNITUDE for v in prev.params.values()):
            self.fail(node, "folding it into the previous layer overflows float32; check its parameters")
        prev.sources = BatchNormSources(prev.sources, gname, bname, s, inv_std, w, b - mean)
        prev.onnx_nodes += (node.name,)


def _eval_shape_op(node, inputs, current_shape):
    """Evaluate one side-path op on small integer arrays; None when an input is unknown."""
    a = _attrs(node)
    op = node.op_type
    if op == "Shape":
        return np.array(current_shape[a.get("start", 0): a.get("end", len(current_shape))], np.int64)
    if any(v is None for v in inputs[:1]):
        return None
    x = np.asarray(inputs[0])
    try:
        if op == "Gather":
            return np.take(x, np.asarray(inputs[1], np.int64), axis=a.get("axis", 0))
        if op in ("Unsqueeze", "Squeeze"):
            axes = a.get("axes", None if len(inputs) < 2 or inputs[1] is None else list(np.asarray(inputs[1])))
            if op == "Unsqueeze":
                for ax in sorted(int(v) % (x.ndim + len(axes)) for v in axes):
                    x = np.expand_dims(x, ax)
                return x
            return np.squeeze(x, axis=None if axes is None else tuple(int(v) for v in axes))
        if op == "Concat":
            if any(v is None for v in inputs):
                return None
            return np.concatenate([np.atleast_1d(v) for v in inputs], axis=a.get("axis", 0))
        if op == "Cast":
            return x.astype(onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
        if op == "Slice" and x.ndim == 1:
            starts, ends = int(np.asarray(inputs[1]).reshape(-1)[0]), int(np.asarray(inputs[2]).reshape(-1)[0])
            step = int(np.asarray(inputs[4]).reshape(-1)[0]) if len(inputs) > 4 and inputs[4] is not None else 1
            return x[starts:ends:step]
    except (ValueError, IndexError, TypeError, KeyError):
        return None
    return None


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def tensor_array(t, what: str) -> np.ndarray:
    """A TensorProto as numpy, after checking its dims and that its data agrees with them."""
    if any(d < 0 for d in t.dims) or math.prod(t.dims) > MAX_ELEMENTS:
        raise HiltError(f"{what}: dims {list(t.dims)[:8]} are negative or absurdly large; re-export the model")
    try:
        value = numpy_helper.to_array(t)
    except Exception as err:
        raise HiltError(f"{what}: its data does not match dims {list(t.dims)} and dtype "
                        f"{onnx.TensorProto.DataType.Name(t.data_type) if t.data_type in onnx.TensorProto.DataType.values() else t.data_type} "
                        f"({str(err).splitlines()[0][:120] if str(err) else type(err).__name__}); "
                        f"re-export the model") from None
    if value.shape != tuple(t.dims):
        raise HiltError(f"{what}: holds {value.size} values but its dims say {list(t.dims)}; re-export the model")
    return value


def _constant_value(node) -> np.ndarray:
    for attr in node.attribute:
        if attr.name == "value":
            return tensor_array(attr.t, f"node {node.name!r} (Constant) value")
        if attr.name in ("value_float", "value_floats", "value_int", "value_ints"):
            return np.asarray(onnx.helper.get_attribute_value(attr))
        raise HiltError(f"node {node.name!r} (Constant): {attr.name} constants are not supported; "
                        f"use a float or integer value")
    raise HiltError(f"node {node.name!r} (Constant): has no value")


def import_onnx(source) -> Network:
    """Import an ONNX file path or ModelProto as an IR network (see the module doc for what maps)."""
    model = load_model(source)
    net = _Walk(model).run()
    if not isinstance(source, onnx.ModelProto) and net.name == "model":
        from pathlib import Path

        net.name = Path(source).stem
    return net
