"""The virtual unstable chip: the golden arithmetic, plus the chip's timing errors and faults.

With no faults and the clock at or below f_safe it is bit-exact with :mod:`hilt.golden` (tested
with ==). Above f_safe, each conv/dense output channel is a MAC lane with its own delay factor; the
accumulations of lanes that can fail go through the timing model addition by addition
(:func:`hilt.faults.timing.accumulate_fast`, or its sequential reference with ``sequential_timing``). Weights are
read through the chip's permanent fault map; transient upsets flip accumulator and activation bits.
"""

from __future__ import annotations

import numpy as np

from ..faults import Chip, FaultConfig, flip_bits, weight_fault_map
from ..faults.timing import accumulate, accumulate_fast, can_fail, settle_depth
from ..golden import quantize_input
from ..golden.forward import accumulate_and_requantize, int_matmul_terms, layer_forward, linear
from ..ir import Layer
from ..quant import QLayer, QModel, requantize, wrap
from ..reference import windows as win
from .base import Accelerator, AcceleratorHang, ForwardResult


class Emulator(Accelerator):
    name = "emulator"

    PRODUCTS_PER_PASS = 1 << 21  # products formed at once for the timing model (8 MB as int32)

    def __init__(self, chip: Chip | None = None, faults: FaultConfig | None = None, chunk: int = 96,
                 sequential_timing: bool = False):
        super().__init__()
        self.chip = chip or Chip()
        self.faults = faults or FaultConfig()
        self.chunk = chunk  # samples per timing-model pass (bounds the memory of the im2col matrices)
        # True: the reference timing model, addition by addition; False: its fast form (same integers)
        self.sequential_timing = sequential_timing
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

    def _check_alive(self) -> None:
        if self.q is None:
            raise RuntimeError("load a quantized model before running the accelerator")
        if self.hung or self._clock > self.chip.f_crash_mhz:
            if not self.hung:
                self.counters.hangs += 1
            self.hung = True
            raise AcceleratorHang(f"no answer at {self._clock:g} MHz (this chip hangs above "
                                  f"{self.chip.f_crash_mhz:g} MHz); reset() and lower the clock")

    def backward(self, taps: list, err: np.ndarray):
        """The BP pipeline: the golden model's integer backward on the weights as this chip's memory holds them
        (stuck-at bits included). Timing errors are modelled in the forward datapath only."""
        import copy

        from ..golden import backward

        self._check_alive()
        memory = copy.copy(self.q)
        memory.layers = [copy.copy(ql) for ql in self.q.layers]
        for ql in memory.layers:
            if ql.name in self.weights:
                ql.arrays = dict(ql.arrays, weight=self.weights[ql.name])
        return backward(memory, taps, err)

    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        self._check_alive()
        call = self.counters.forward_calls
        self.counters.forward_calls += 1
        self.counters.samples += len(x)
        out = [quantize_input(self.q, x)]
        for ql, layer in self.q.pairs():
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
            depth = settle_depth(self.chip, self._clock, self.lane_factors(ql, layer, w.shape[0]), q.acc_bits)
            seu = self.faults.seu_acc_rate > 0
            if not can_fail(depth, q.acc_bits).any():  # no lane can fail at this clock: the golden datapath
                acc = linear(layer, x, w, -ql.in_fmt.qmin)
                self._count(ql.name, acc.size, 0, 0)
                if not seu:
                    bound = int_matmul_terms(layer) * -ql.in_fmt.qmin * int(np.abs(w).max(initial=0)) + \
                        int(np.abs(bias).max(initial=0))
                    return self._act_seu(accumulate_and_requantize(acc, bias, ql.shift, q.acc_bits, q.bits, bound),
                                         layer, ql, call)
                acc = wrap(acc + bias.reshape((1, -1) + (1,) * (acc.ndim - 2)), q.acc_bits)
            else:
                acc = np.concatenate([self._timed_acc(ql, layer, x[i:i + self.chunk], w, bias, depth)
                                      for i in range(0, len(x), self.chunk)])
            if seu:
                acc, n = flip_bits(acc, q.acc_bits, self.faults.seu_acc_rate, self.chip.rng("seu-acc", call, ql.name))
                self.counters.seu_flips += n
            y = requantize(acc, ql.shift, q.bits)
        return self._act_seu(y, layer, ql, call)

    def lane_factors(self, ql: QLayer, layer: Layer, outputs: int) -> np.ndarray:
        """Relative delay of the MAC lane computing each output channel (here: one lane per channel)."""
        return self.chip.lane_factors(ql.name, outputs)

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

    def _timed_acc(self, ql: QLayer, layer: Layer, x: np.ndarray, w: np.ndarray, bias: np.ndarray,
                   depth: np.ndarray) -> np.ndarray:
        """Accumulators (wrapped, before requantization) of one chunk, addition by addition on slow lanes.

        The exact sums come from the golden model's product; only the lanes that can fail at this clock
        get their products formed, a few lanes at a time, and go through the timing model."""
        width = self.q.acc_bits
        acc = linear(layer, x, w, -ql.in_fmt.qmin)
        acc = wrap(acc + bias.reshape((1, -1) + (1,) * (acc.ndim - 2)), width)
        slow = np.flatnonzero(can_fail(depth, width))
        corrupted = failures = 0
        if slow.size:
            inputs, group_of = self._lane_inputs(layer, x)  # inputs[group_of[lane]]: what the lane multiplies
            wf = w.reshape(w.shape[0], -1).astype(inputs.dtype)
            k, m = inputs.shape[1:]
            timed = accumulate if self.sequential_timing else accumulate_fast
            for lanes in _lane_batches(slow, group_of, max(1, self.PRODUCTS_PER_PASS // (m * k))):
                # K-major products (K, lanes * M): each accumulation is a column, so the fast path's
                # running sums are contiguous row additions
                products = (inputs[group_of[lanes[0]]][:, None, :] * wf[lanes].T[:, :, None]).reshape(k, -1)
                values, fails = timed(np.repeat(bias[lanes], m), products.T, np.repeat(depth[lanes], m), width)
                values = np.moveaxis(values.reshape((lanes.size, len(x)) + acc.shape[2:]), 0, 1)
                corrupted += int((values != acc[:, lanes]).sum())
                failures += int(fails.sum())
                acc[:, lanes] = values
        self._count(layer.name, acc.size, corrupted, failures)
        return acc

    def _lane_inputs(self, layer: Layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(G, K, M) operands of the G weight groups (M accumulations of K products each), and each
        lane's group. Products of int8/int16 operands fit int32, which halves the memory traffic."""
        dtype = np.int32 if self.q.bits <= 16 else np.int64
        o = self.weights[layer.name].shape[0]
        if layer.op != "conv":
            return x.T.astype(dtype)[None], np.zeros(o, np.int64)
        groups = int(layer.attrs.get("groups", 1))
        return win.conv_cols(x, layer.attrs, groups, dtype)[0], np.arange(o) // (o // groups)


def _lane_batches(lanes: np.ndarray, group_of: np.ndarray, size: int):
    """Slow lanes in batches of at most ``size`` that share one weight group (hence one input matrix)."""
    for g in np.unique(group_of[lanes]):
        same = lanes[group_of[lanes] == g]
        for i in range(0, same.size, size):
            yield same[i:i + size]
