"""ONNX -> IR for sequential CNNs, as the torch legacy and dynamo exporters and Caffe converters emit them.

The walk follows the graph's topological node order with one "current" activation tensor. Every
supported node must read the current tensor (plus constants) and becomes a layer, is folded into the
previous layer (BatchNormalization, the bias Add after a MatMul), or disappears (Dropout, Identity,
a Flatten of an already flat tensor). Small integer side computations that only build a Reshape's
target shape (Shape -> Gather -> Unsqueeze -> Concat, as ``x.view(x.size(0), -1)`` exports) are
tracked and dropped. Anything else is refused with the node's name, op and the supported list.
"""

from __future__ import annotations

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


class _Walk:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        g = model.graph
        self.consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
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
        if len(shape) not in (2, 4) or any(not s for s in shape[1:]):
            raise HiltError(f"input {x.name!r} has shape {shape}; hilt needs NxCxHxW (or NxF) with fixed C, H, W")
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
        return name, np.asarray(self.consts[name], dtype=np.float32)

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
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            self.fail(node, f"dilations {a['dilations']} are not supported (dilation 1 only)")
        groups = int(a.get("group", 1))
        if w.shape[1] * groups != self.shape[0]:
            self.fail(node, f"weight {w.shape} with group {groups} does not fit {self.shape[0]} input channels")
        kernel = tuple(int(k) for k in a.get("kernel_shape", w.shape[2:]))
        stride = tuple(int(s) for s in a.get("strides", [1, 1]))
        pads = self.pads(node, a, kernel, stride)
        bname, b = self.const(node, 2, "bias", optional=True)
        b = np.zeros(w.shape[0], np.float32) if b is None else b.reshape(-1)
        self.add(node, "conv", {"kernel": kernel, "stride": stride, "pads": pads, "groups": groups},
                 {"weight": w, "bias": b}, DirectSources(wname, bname))

    def pads(self, node, a, kernel, stride) -> tuple[int, int, int, int]:
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("NOTSET", "VALID"):
            p = [int(v) for v in a.get("pads", [0, 0, 0, 0])] if auto == "NOTSET" else [0, 0, 0, 0]
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
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            self.fail(node, "pooling dilation is not supported")
        kernel = tuple(int(k) for k in a["kernel_shape"])
        stride = tuple(int(s) for s in a.get("strides", [1, 1]))
        attrs = {"kernel": kernel, "stride": stride, "pads": self.pads(node, a, kernel, stride),
                 "ceil_mode": bool(a.get("ceil_mode", 0)), **extra}
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
        self.add(node, "lrn", {"size": int(a["size"]), "alpha": float(a.get("alpha", 1e-4)),
                               "beta": float(a.get("beta", 0.75)), "bias": float(a.get("bias", 1.0))})

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
        if int(a.get("axis", 1)) != 1:
            self.fail(node, f"axis {a['axis']} is not supported (axis 1 flattens per sample)")
        self.flatten(node)

    def op_Reshape(self, node, a):
        size = int(np.prod(self.shape))
        target = self.consts.get(node.input[1], self.side_values.get(node.input[1]))
        if target is not None:
            t = [int(v) for v in np.asarray(target).reshape(-1)]
            ok = len(t) == 2 and (t[1] == size or (t[1] == -1 and t[0] != -1))
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
        alpha, beta, trans_b = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0)), bool(a.get("transB", 0))
        w = alpha * (b if trans_b else b.T)
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
        if b.ndim != 2 or b.shape[0] != self.shape[0]:
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
        inv_std = (1.0 / np.sqrt(var.astype(np.float64) + float(a.get("epsilon", 1e-5)))).astype(np.float32)
        s = gamma * inv_std
        w, b = prev.params["weight"], prev.params["bias"]
        shape = (-1,) + (1,) * (w.ndim - 1)
        prev.params = {"weight": (w * s.reshape(shape)).astype(np.float32),
                       "bias": ((b - mean) * s + beta).astype(np.float32)}
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


def _constant_value(node) -> np.ndarray:
    for attr in node.attribute:
        if attr.name == "value":
            return numpy_helper.to_array(attr.t)
        return np.asarray(onnx.helper.get_attribute_value(attr))
    raise HiltError(f"node {node.name!r} (Constant): has no value")


def import_onnx(source) -> Network:
    """Import an ONNX file path or ModelProto as an IR network (see the module doc for what maps)."""
    model = load_model(source)
    net = _Walk(model).run()
    if not isinstance(source, onnx.ModelProto) and net.name == "model":
        from pathlib import Path

        net.name = Path(source).stem
    return net
