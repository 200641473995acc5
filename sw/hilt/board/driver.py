"""The PYNQ driver: an overlay folder behind the ``Accelerator`` interface, over pynq's own API.

    board = Board("overlays/lenet5")      # pynq.Overlay, downloads the bitstream, sets the clock
    board.load(q)                          # MODE_LOAD_WEIGHTS through the DMA
    board.set_clock(250)                   # Clocking Wizard: returns the frequency actually set
    logits = board.forward(x).logits       # images in through MM2S, logits back through S2MM

One call: the input is packed with the interface's ``pack_sections`` into a ``pynq.allocate`` buffer, S2MM
is armed for the call's output (sized from ``layout``), MM2S started, mode and sample count written,
``ap_start`` set; then the driver polls ``ap_done`` and both DMA channels against a deadline derived from
the design's predicted cycles at the current clock (pynq's own ``DMA.wait()`` polls forever). A missed
deadline is a hang: the clock goes down to the design's f_safe, the accelerator's reset (an AXI GPIO bit into
its ``proc_sys_reset``) is pulsed, both DMA channels are reset and restarted, the weights re-loaded, and
``AcceleratorHang`` raised; the next call works. A DMA error bit (PG021 DMASR) raises ``DMAError`` at once.

Imports numpy and pynq only (and this package's board-side modules): it runs on the board's Python.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..accel import interface as itf
from ..accel import order
from ..accel.base import Accelerator, AcceleratorHang, ForwardResult
from ..errors import HiltError
from . import clocking, pynqcompat
from .overlay import open_overlay

DMA_SR = {"MM2S": 0x04, "S2MM": 0x34}
DMA_ERRORS = {0x10: "internal error (length or stream end)", 0x20: "slave error (memory refused the access)",
              0x40: "decode error (invalid address)"}
DMA_RESET = 0x4
GPIO_DATA = 0x0
GPIO_TRI = 0x4


class DMAError(RuntimeError):
    """The AXI DMA stopped with an error bit set: the transfer is lost, the channels need a reset."""


class ClockError(RuntimeError):
    """The Clocking Wizard did not lock."""


class UnsupportedMode(HiltError):
    """The accelerator answered UNSUPPORTED_MODE: the design lacks what the call needs (e.g. the backward
    pipeline)."""


def signature(q) -> list:
    """What a design compiles in besides its weights (formats and shifts, the backward's too): a model with
    another signature needs another bitstream."""
    fmt = lambda f: list(f.to_json()) if f is not None else None  # noqa: E731
    return [[ql.name, ql.op, ql.shift, ql.lut_shift, fmt(ql.in_fmt), fmt(ql.out_fmt), fmt(ql.w_fmt),
             fmt(ql.err_in_fmt), fmt(ql.grad_fmt), fmt(ql.bias_grad_fmt)] for ql in q.compute_layers()] + \
        [fmt(q.err_out_fmt)]


def stored_weights(q, chip, faults):
    """``q`` with each weight as a memory with ``chip``'s stuck-at map for ``faults`` would return it: what the
    driver streams to inject weight-memory faults into a board whose memory has none."""
    import copy

    from ..faults import weight_fault_map

    out = copy.copy(q)
    out.layers = [copy.copy(ql) for ql in q.layers]
    for ql in out.layers:
        if "weight" in ql.arrays:
            fmap = weight_fault_map(chip, faults, ql.name, ql.arrays["weight"].shape, q.bits)
            ql.arrays = dict(ql.arrays, weight=fmap.read(ql.arrays["weight"]))
    return out


class Board(Accelerator):
    name = "board"

    def __init__(self, overlay_dir, download: bool = True, deadline_factor: float = 4.0,
                 deadline_floor_s: float = 0.05, max_batch: int = 256, lock_timeout_s: float = 0.1,
                 inject=None):
        import pynq

        super().__init__()
        self._pynq = pynq
        self.folder = open_overlay(overlay_dir)
        man = self.folder.manifest
        self.family = self.folder.family
        self.f_safe_mhz = float(man["f_safe_mhz"])
        self.cycles_per_sample = int(man["cycles_per_sample"])
        self.latency_cycles = int(man.get("latency_cycles", self.cycles_per_sample))
        self.regs = man["interface"]["control"]["registers"]
        self.streaming = self.folder.kind == "streaming"  # the other kind (sequential) has no DMA: EngineBoard
        self.beat_bits = self.folder.beat_bits if self.streaming else 0
        self.deadline_factor = deadline_factor
        self.deadline_floor_s = deadline_floor_s
        self.max_batch = max_batch
        self.lock_timeout_s = lock_timeout_s
        self.design = self.folder.load_qmodel()  # formats and shifts the bitstream was built with
        self.net = self.design.network
        self.tap_shapes = [tuple(self.net.input_shape)] + [tuple(l.out_shape) for l in
                                                            self.net.layers[:len(self.design.compute_layers())]]
        self.tap_layouts = order.tap_layouts(self.net, len(self.design.compute_layers()))
        # (chip, FaultConfig): weight-memory faults the driver injects by streaming the faulty words
        self.inject = inject
        self.clock_log: list[dict] = []  # every set_clock: requested and set
        self.hang_log: list[dict] = []
        self._requested = float(man["freq_mhz"])
        self._clock = self._requested
        self._buffers: dict[str, object] = {}
        self.device = pynq.Device.active_device  # this board, even when another becomes the active one
        self.overlay = pynq.Overlay(str(self.folder.bitfile), download=False, device=self.device)
        self.wizard = self.gpio = self.dma = self.ip = None
        if download:
            self.download()

    # ---- set-up -----------------------------------------------------------------------------------
    def download(self) -> None:
        """Configure the fabric, then re-apply the chosen clock (``Overlay.download()`` resets the PS clocks
        to the .hwh's and the wizard to the bitstream's own frequency)."""
        pynqcompat.fill_pl_clock_frequencies(self.overlay, self.folder.hwh)  # pynq 4.0 on Zynq-7000
        self.overlay.download()
        ov = self.folder
        self.ip = getattr(self.overlay, ov.ip_name("accel"))
        if self.streaming:
            self.dma = getattr(self.overlay, ov.ip_name("dma"))
            if self.dma.sendchannel is None or self.dma.recvchannel is None:
                raise HiltError(f"{ov.hwh}: the AXI DMA {ov.ip_name('dma')} lacks MM2S or S2MM (simple mode, both "
                                f"channels, is what the accelerator needs)")
            self._reset_dma()  # pynq keeps the DMA driver of an earlier download: its channels start halted again
        wizard = ov.manifest["clock"].get("wizard")
        self.wizard = getattr(self.overlay, wizard) if wizard and wizard in self.overlay.ip_dict else None
        gpio = ov.ip_name("reset_gpio")
        self.gpio = getattr(self.overlay, gpio) if gpio in self.overlay.ip_dict else None
        self.reset_active_high = bool(ov.manifest["ips"]["reset_gpio"].get("active_high", False))
        if self.gpio is not None:
            self.gpio.write(GPIO_TRI, 0)  # channel 1 bit 0 is an output
            self.gpio.write(GPIO_DATA, self._reset_level(False))
        self._buffers = {}
        self.set_clock(self._requested)
        if self.q is not None:
            self.load(self.q)

    def _reset_level(self, asserted: bool) -> int:
        return int(asserted == self.reset_active_high)

    # ---- clock ------------------------------------------------------------------------------------
    def set_clock(self, mhz: float) -> float:
        """Set the accelerator's clock as close to ``mhz`` as the hardware allows; returns the frequency set."""
        if mhz <= 0:
            raise ValueError(f"clock {mhz} MHz must be positive")
        if self.wizard is not None:
            limits = clocking.LIMITS[self.family]
            f_in = float(self.folder.manifest["clock"].get("input_mhz", 100.0))
            setting = clocking.search(mhz, f_in, limits)
            for offset, word in setting.words().items():
                self.wizard.write(offset, word)
            self.wizard.write(clocking.REG_LOAD, clocking.LOAD_FROM_REGISTERS)
            deadline = time.monotonic() + self.lock_timeout_s
            while not self.wizard.read(clocking.REG_STATUS) & clocking.STATUS_LOCKED:
                if time.monotonic() > deadline:
                    raise ClockError(f"the clocking wizard did not lock at {setting.mhz:g} MHz "
                                     f"(M={float(setting.mult)}, D={setting.divide}, O={float(setting.out_div)})")
            actual, how = setting.mhz, setting.to_json()
        else:
            clocks = self._pynq.ps.Clocks
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pynq warns when the divisors miss; the log says by how much
                clocks.fclk0_mhz = mhz
            actual, how = float(clocks.fclk0_mhz), {"source": "PS FCLK0 (PLL / div0 / div1)"}
        self._requested = float(mhz)
        self._clock = actual
        self.clock_log.append({"requested_mhz": float(mhz), "set_mhz": actual, **how})
        return actual

    BACKWARD_FACTOR = 3  # the BP pipeline per forward layer: the error conv and the gradient conv, both as long

    def deadline_s(self, samples: int, stream_bytes: int = 0, mode=None) -> float:
        """How long one call may take: the design's predicted cycles at the current clock (and one beat a
        cycle for the streams, which matters for weight loads), with margin."""
        cycles = self.latency_cycles + max(0, samples - 1) * self.cycles_per_sample
        if mode == itf.Mode.BACKWARD:
            cycles *= self.BACKWARD_FACTOR
        cycles += stream_bytes * 8 // self.beat_bits if self.beat_bits else 0
        return max(self.deadline_floor_s, self.deadline_factor * cycles / (self._clock * 1e6))

    # ---- calls ------------------------------------------------------------------------------------
    def _buffer(self, key: str, nbytes: int):
        buf = self._buffers.get(key)
        if buf is None or buf.nbytes < nbytes:
            buf = self._pynq.allocate((max(nbytes, 4096),), dtype=np.uint8, target=self.device)
            self._buffers[key] = buf
        return buf

    def _status(self, channel: str) -> int:
        return int(self.dma.read(DMA_SR[channel]))

    def _call(self, mode: itf.Mode, arrays: list, samples: int) -> list[np.ndarray]:
        ins, outs = self.folder.layout(mode, samples)
        data = itf.pack_sections(ins, arrays, self.beat_bits)
        out_bytes = itf.total_beats(outs, self.beat_bits) * self.beat_bits // 8
        out_buf = None
        if out_bytes:
            out_buf = self._buffer("out", out_bytes)
            self.dma.recvchannel.transfer(out_buf, nbytes=out_bytes)
        if data.size:
            in_buf = self._buffer("in", data.size)
            in_buf[:data.size] = data
            self.dma.sendchannel.transfer(in_buf, nbytes=int(data.size))
        self.ip.write(self.regs["mode"], int(mode))
        self.ip.write(self.regs["samples"], samples)
        self.ip.write(self.regs["ctrl"], itf.AP_START)
        self._wait(mode, samples, bool(data.size), bool(out_bytes), int(data.size) + out_bytes)
        status = int(self.ip.read(self.regs["status"]))
        if status == itf.Status.UNSUPPORTED_MODE:
            raise UnsupportedMode(f"{self.folder.path}: the accelerator answered UNSUPPORTED_MODE to "
                                  f"{mode.name.lower()}" + (": the design was built without the backward pipeline "
                                                            "(a layer has no integer backward kernel, or it was "
                                                            "built for inference); run the backward pass on the "
                                                            "host" if mode == itf.Mode.BACKWARD else ""))
        if status != itf.Status.OK:
            raise HiltError(f"the accelerator answered status {status} "
                            f"({itf.Status(status).name.lower()}) to mode {mode.name.lower()}")
        if not out_bytes:
            return []
        out_buf.invalidate()
        return itf.unpack_sections(outs, np.array(out_buf[:out_bytes]), self.beat_bits)

    def _wait(self, mode, samples: int, sending: bool, receiving: bool, stream_bytes: int) -> None:
        limit = self.deadline_s(samples, stream_bytes, mode)
        start = time.monotonic()
        done = False
        while True:
            for channel, used in (("MM2S", sending), ("S2MM", receiving)):
                sr = self._status(channel) if used else 0
                errors = [text for bit, text in DMA_ERRORS.items() if sr & bit]
                if errors:
                    self._reset_dma()
                    raise DMAError(f"AXI DMA {channel}: {', '.join(errors)} (DMASR 0x{sr:08x}) in a "
                                   f"{mode.name.lower()} call of {samples} samples")
            done = done or bool(self.ip.read(self.regs["ctrl"]) & itf.AP_DONE)  # clear on read: latch it
            idle = all(self._status(ch) & 0x2 for ch, used in (("MM2S", sending), ("S2MM", receiving)) if used)
            if done and idle:
                return
            waited = time.monotonic() - start
            if waited > limit:
                self._hang(mode.name.lower(), samples, limit, waited)

    def _hang(self, what: str, samples: int, limit: float, waited: float) -> None:
        """A missed deadline: record it, run the recovery sequence, raise ``AcceleratorHang``."""
        record = {"mode": what, "samples": samples, "clock_mhz": self._clock, "deadline_s": limit, "waited_s": waited}
        self._recover()
        record["recovered_at_mhz"] = self._clock
        self.hang_log.append(record)
        self.counters.hangs += 1
        raise AcceleratorHang(f"no answer within {limit * 1e3:.0f} ms at {record['clock_mhz']:g} MHz "
                              f"(deadline from {self.cycles_per_sample} cycles per sample); recovered: "
                              f"clock back to {self._clock:g} MHz, accelerator and DMA reset")

    def _reset_dma(self) -> None:
        """PG021: the reset bit of either channel's DMACR resets both; then start them again."""
        if self.dma is None:
            return
        self.dma.write(0x00, DMA_RESET)
        deadline = time.monotonic() + 0.01
        while self.dma.read(0x00) & DMA_RESET and time.monotonic() < deadline:
            pass
        self.dma.sendchannel.start()
        self.dma.recvchannel.start()

    def _recover(self) -> None:
        """The hang-recovery sequence: safe clock, accelerator reset pulse, DMA reset, weights again."""
        self.set_clock(self.f_safe_mhz)
        if self.gpio is not None:
            self.gpio.write(GPIO_DATA, self._reset_level(True))
            self.gpio.write(GPIO_DATA, self._reset_level(False))
        self._reset_dma()
        if self.q is not None:
            self.load(self.q)

    def reset(self) -> None:
        """Recover on request (a hang already recovered itself before raising)."""
        self._recover()

    # ---- the Accelerator interface ----------------------------------------------------------------
    def load(self, q) -> None:
        """Stream ``q``'s integer weights in (MODE_LOAD_WEIGHTS). Its formats must be the design's."""
        if signature(q) != signature(self.design):
            raise HiltError(f"{self.folder.path}: the overlay was built for other formats or shifts than this "
                            f"model's; quantize with the overlay's model ({self.folder.qmodel_path.name}) or "
                            f"rebuild the overlay")
        stored = stored_weights(q, *self.inject) if self.inject is not None else q
        self._call(itf.Mode.LOAD_WEIGHTS, order.weight_arrays(stored), 0)
        self.q = q

    def forward(self, x: np.ndarray, taps: bool = False) -> ForwardResult:
        if self.q is None:
            self.q = self.design  # the bitstream's own weights
        x = np.asarray(x, dtype=np.float32)
        logits, all_taps = [], []
        for i in range(0, len(x), self.max_batch):
            lg, tp = self._forward_chunk(x[i:i + self.max_batch], taps)
            logits.append(lg)
            all_taps.append(tp)
        self.counters.forward_calls += 1
        self.counters.samples += len(x)
        out_taps = [np.concatenate([t[k] for t in all_taps]) for k in range(len(self.tap_shapes))] if taps else None
        return ForwardResult(np.concatenate(logits), out_taps)

    def _forward_chunk(self, x: np.ndarray, taps: bool):
        n = len(x)
        images = list(order.tap_to_stream(self.q.input_fmt.to_int(x), *self.tap_layouts[0]))
        mode = itf.Mode.TRAIN_FORWARD if taps else itf.Mode.INFER
        out = self._call(mode, images, n)
        if not taps:
            return np.stack(out).astype(np.int64), None
        k = len(self.tap_shapes)
        per_tap = [order.tap_from_stream(np.stack(out[t::k]), *layout).astype(np.int64)
                   for t, layout in enumerate(self.tap_layouts)]
        return per_tap[-1].reshape(n, -1), per_tap

    def backward(self, taps: list, err: np.ndarray):
        """MODE_BACKWARD on the design's BP pipeline: forward ``taps`` (input, every layer's output, logits; the
        model's layouts) and the integer error at the logits (``err_out_fmt``) in; a ``golden.BackwardResult``
        out (errors at activations 1..L-1, the logits' error at L, 32-bit weight and bias gradients of the
        batch). A design without the pipeline answers UNSUPPORTED_MODE: ``UnsupportedMode`` is raised."""
        from ..golden.backward import BackwardResult

        if self.q is None:
            self.q = self.design
        err = np.asarray(err, np.int64)
        n = len(err)
        k = len(self.tap_layouts)
        if len(taps) != k:
            raise ValueError(f"{len(taps)} taps; this design has {k} (input, every layer's output, logits)")
        per_tap = [order.tap_to_stream(t, *layout) for t, layout in zip(taps, self.tap_layouts)]
        arrays = [a for i in range(n) for a in [t[i] for t in per_tap] + [err[i].reshape(-1)]]
        if not self.folder.backward:
            arrays = []  # the layout of a design without the pipeline streams nothing: the IP answers the mode
        out = self._call(itf.Mode.BACKWARD, arrays, n)
        errors: list = [None] * k
        errors[-1] = err
        back = list(range(k - 2, 0, -1))  # the errors leave last layer first, for activations L-1..1
        for j, i in enumerate(back):
            errors[i] = order.tap_from_stream(np.stack(out[j:n * len(back):len(back)]), *self.tap_layouts[i])
        grads, rest = {}, iter(out[n * len(back):])
        for ql, layer, src in order.weighted_pairs(self.q):
            grads[layer.name] = {"weight": order.weight_from_rows(next(rest), ql.arrays["weight"].shape, src),
                                 "bias": next(rest)}
        self.counters.samples += n
        return BackwardResult(errors, grads)

    def status(self) -> dict:
        """What the driver knows, for JSON: clock requested and set, hangs, calls."""
        return {"overlay": str(self.folder.path), "family": self.family, "clock_mhz": self._clock,
                "requested_mhz": self._requested, "f_safe_mhz": self.f_safe_mhz,
                "clock_source": "clocking wizard" if self.wizard is not None else "PS FCLK0",
                "hangs": self.hang_log, "counters": self.counters.to_json()}
