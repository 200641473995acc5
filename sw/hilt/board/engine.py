"""The driver of a layer-sequential engine overlay (``hilt build --engine sequential``): no DMA, the engine's own
AXI4 masters read one DDR buffer.

    board = open_board("overlays/alexnet")  # the manifest's kind "sequential" gives an EngineBoard
    board.load(q)                          # descriptors and packed parameters into a pynq.allocate buffer
    logits = board.forward(x).logits       # per image: input into its region, start, poll, every layer read back

The buffer is the program's DDR image (hilt.engine.program, docs/engine.md): descriptors at offset 0, then the
packed parameters, then the activations (the input, then every layer's output). The driver builds the program
for the loaded model with every layer stored (no fused ReLU, so every tap is real), writes it once per ``load``,
writes every pointer register with the buffer's physical address (the descriptors hold offsets from it) and the
descriptor count, sets ``ap_start`` and polls ``ap_done`` against a deadline from the design's cycle count at the
current clock; a miss is a hang with the streaming driver's recovery (f_safe, reset pulse; no DMA here).

Imports numpy and pynq only (hilt.engine.program and hilt.dse.sequential are numpy-only).
"""

from __future__ import annotations

import time

import numpy as np

from ..accel import interface as itf
from ..accel.base import ForwardResult
from ..errors import HiltError
from .driver import Board


class EngineBoard(Board):
    name = "board-engine"

    def __init__(self, overlay_dir, **kwargs):
        super().__init__(overlay_dir, **kwargs)
        from ..dse.sequential import EngineConfig

        self.engine = self.folder.manifest["engine"]
        self.config = EngineConfig(**self.engine["config"])
        self.prog = None
        self.pointers = [k for k in self.regs if k not in ("ctrl", "gie", "ier", "isr", "count")]

    def load(self, q) -> None:
        """Lay out ``q`` as the engine's DDR image and write it into the buffer (descriptors and parameters; a
        model the engine's limits refuse is one ``HiltError`` naming the layer)."""
        from ..engine.program import build

        stored = q
        if self.inject is not None:
            from .driver import stored_weights

            stored = stored_weights(q, *self.inject)
        prog = build(stored, self.config, fuse_relu=False)
        buf = self._buffer("ddr", prog.size)
        buf[:prog.size] = prog.image
        buf.flush()
        self.prog, self.q = prog, q

    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        if self.prog is None:
            self.load(self.design)
        x_int = self.q.input_fmt.to_int(np.asarray(x, dtype=np.float32))
        out = [self._sample(xi) for xi in x_int]
        self.counters.forward_calls += 1
        self.counters.samples += len(x_int)
        n = len(out)
        per_tap = [np.stack([o[t] for o in out]) if n else np.zeros((0,) + shape, np.int64)
                   for t, shape in enumerate(self.tap_shapes)]
        return ForwardResult(per_tap[-1].reshape(n, -1), per_tap if taps else None)

    def _sample(self, x_int: np.ndarray) -> list[np.ndarray]:
        prog, buf = self.prog, self._buffers["ddr"]
        region = prog.input
        buf[region.offset:region.offset + region.size] = np.asarray(x_int).astype(np.int8).reshape(-1).view(np.uint8)
        buf.flush()
        base = int(buf.physical_address)
        for name in self.pointers:
            self.ip.write(self.regs[name], base & 0xFFFFFFFF)
            self.ip.write(self.regs[name] + 4, base >> 32)
        self.ip.write(self.regs["count"], len(prog.steps))
        self.ip.write(self.regs["ctrl"], itf.AP_START)
        limit = self.deadline_s(1)
        start = time.monotonic()
        while not self.ip.read(self.regs["ctrl"]) & itf.AP_DONE:
            waited = time.monotonic() - start
            if waited > limit:
                self._hang("engine", 1, limit, waited)
        buf.invalidate()
        acts = []
        for entry in prog.taps:
            if entry is None:
                raise HiltError("the engine program fused a layer away; the driver stores every layer")
            r, shape = entry
            acts.append(np.array(buf[r.offset:r.offset + r.size]).view(np.int8).astype(np.int64).reshape(shape))
        return acts

    def backward(self, taps, err):
        raise HiltError("the layer-sequential engine runs forward passes only; the backward pass runs on the host")
