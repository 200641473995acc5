"""The virtual unstable chip: the golden arithmetic, plus the chip's timing errors and faults.

With no faults and the clock at or below f_safe it is bit-exact with :mod:`hilt.golden` (tested
with ==). Above f_safe, each conv/dense output channel is a MAC lane with its own delay factor; its
accumulations run addition by addition through :func:`hilt.faults.timing.accumulate`. Weights are
read through the chip's permanent fault map; transient upsets flip accumulator and activation bits.
"""

from __future__ import annotations

import numpy as np

from ..faults import Chip, FaultConfig, flip_bits, weight_fault_map
from ..faults.timing import accumulate, settle_depth
from ..golden import quantize_input
from ..golden.forward import accumulate_and_requantize, int_matmul_terms, layer_forward, linear
from ..ir import Layer
from ..quant import QLayer, QModel, requantize, wrap
from ..reference import windows as win
from .base import Accelerator, AcceleratorHang, ForwardResult


class Emulator(Accelerator):
    name = "emulator"

    def __init__(self, chip: Chip | None = None, faults: FaultConfig | None = None, chunk: int = 96):
        super().__init__()
        self.chip = chip or Chip()
        self.faults = faults or FaultConfig()
        self.chunk = chunk  # samples per timing-model pass (bounds the memory of the product matrices)
        self.weights: dict[str, np.ndarray] = {}
        self.hung = False
        self._clock = self.chip.f_safe_mhz

    def load(self, q: QModel) -> None:
        """Store the weights as the chip's memory holds them: read through its permanent fault map."""
        self.q = q
        self.weights = {}
        for ql in q.layers:
            if "weight" in ql.arrays:
                w = ql.arrays["weight"]
                fmap = weight_fault_map(self.chip, self.faults, ql.name, w.shape, q.bits)
                self.weights[ql.name] = fmap.read(w)

    def reset(self) -> None:
        self.hung = False

    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        if self.q is None:
            raise RuntimeError("load a quantized model before running the accelerator")
        if self.hung or self._clock > self.chip.f_crash_mhz:
            if not self.hung:
                self.counters.hangs += 1
            self.hung = True
            raise AcceleratorHang(f"no answer at {self._clock:g} MHz (this chip hangs above "
                                  f"{self.chip.f_crash_mhz:g} MHz); reset() and lower the clock")
        call = self.counters.forward_calls
        self.counters.forward_calls += 1
        self.counters.samples += len(x)
        out = [quantize_input(self.q, x)]
        for ql, layer in zip(self.q.compute_layers(), self.q.network.layers):
            y = self._layer(ql, layer, out[-1], call)
            out.append(y)
        return ForwardResult(out[-1], out if taps else None)

    # ---- one layer ------------------------------------------------------------------------------
    def _layer(self, ql: QLayer, layer: Layer, x: np.ndarray, call: int) -> np.ndarray:
        q = self.q
        if not layer.weighted:
            y = layer_forward(q, ql, layer, x)
        else:
            w, bias = self.weights[ql.name], ql.arrays["bias"]
            self.counters.macs += layer.macs * len(x)
            depth = settle_depth(self.chip, self._clock, self.chip.lane_factors(ql.name, w.shape[0]), q.acc_bits)
            seu = self.faults.seu_acc_rate > 0
            if (depth >= q.acc_bits).all():  # no lane can fail at this clock: the golden datapath
                acc = linear(layer, x, w, -ql.in_fmt.qmin)
                self._count(ql.name, acc.size, 0, 0)
                if not seu:
                    bound = int_matmul_terms(layer) * -ql.in_fmt.qmin * int(np.abs(w).max(initial=0)) + \
                        int(np.abs(bias).max(initial=0))
                    return self._act_seu(accumulate_and_requantize(acc, bias, ql.shift, q.acc_bits, q.bits, bound),
                                         layer, ql, call)
                acc = wrap(acc + bias.reshape((1, -1) + (1,) * (acc.ndim - 2)), q.acc_bits)
            else:
                acc = np.concatenate([self._timed_acc(layer, x[i:i + self.chunk], w, bias, depth)
                                      for i in range(0, len(x), self.chunk)])
            if seu:
                acc, n = flip_bits(acc, q.acc_bits, self.faults.seu_acc_rate, self.chip.rng("seu-acc", call, ql.name))
                self.counters.seu_flips += n
            y = requantize(acc, ql.shift, q.bits)
        return self._act_seu(y, layer, ql, call)

    def _act_seu(self, y: np.ndarray, layer: Layer, ql: QLayer, call: int) -> np.ndarray:
        """Transient upsets in a layer's output word (the activation registers)."""
        if self.faults.seu_act_rate > 0 and layer.op not in ("flatten",):
            y, n = flip_bits(y, self.q.bits, self.faults.seu_act_rate, self.chip.rng("seu-act", call, ql.name))
            self.counters.seu_flips += n
        return y

    def _count(self, name: str, accumulations: int, corrupted: int, failures: int) -> None:
        c = self.counters
        c.accumulations += accumulations
        c.corrupted_accumulations += corrupted
        c.timing_failures += failures
        per = c.layer(name)
        per["accumulations"] += accumulations
        per["corrupted"] += corrupted
        per["timing_failures"] += failures

    def _timed_acc(self, layer: Layer, x: np.ndarray, w: np.ndarray, bias: np.ndarray, depth: np.ndarray):
        """Accumulators (wrapped, before requantization) of one chunk, addition by addition on slow lanes.

        All accumulations of all slow lanes advance together, one product per step, as the lanes do."""
        width = self.q.acc_bits
        o = w.shape[0]
        wf = w.reshape(o, -1)
        if layer.op == "conv":
            groups = int(layer.attrs.get("groups", 1))
            cols, ho, wo = win.conv_cols(x, layer.attrs, groups)  # G, K, M
            inputs = cols.transpose(0, 2, 1)[np.arange(o) // (o // groups)]  # (O, M, K): what lane c multiplies
            shape = (o, len(x), ho, wo)
        else:
            inputs = np.broadcast_to(x, (o, *x.shape))
            shape = (o, len(x))
        exact = wrap(np.einsum("omk,ok->om", inputs, wf) + bias[:, None], width)
        acc = exact.copy()
        slow = np.flatnonzero(depth < width)
        corrupted = failures = 0
        if slow.size:
            m = inputs.shape[1]
            products = (inputs[slow] * wf[slow][:, None, :]).reshape(slow.size * m, -1)
            timed, fails = accumulate(np.repeat(bias[slow], m), products, np.repeat(depth[slow], m), width)
            acc[slow] = timed.reshape(slow.size, m)
            corrupted = int((acc[slow] != exact[slow]).sum())
            failures = int(fails.sum())
        self._count(layer.name, acc.size, corrupted, failures)
        acc = acc.reshape(shape)
        return acc.transpose(1, 0, 2, 3) if layer.op == "conv" else acc.T
