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
from ..accel.base import Accelerator, AcceleratorHang, ForwardResult
from ..errors import HiltError
from . import clocking, pynqcompat, streams
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


class Board(Accelerator):
    name = "board"

    def __init__(self, overlay_dir, download: bool = True, deadline_factor: float = 4.0,
                 deadline_floor_s: float = 0.05, max_batch: int = 256, lock_timeout_s: float = 0.1):
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
        self.beat_bits = self.folder.beat_bits
        self.deadline_factor = deadline_factor
        self.deadline_floor_s = deadline_floor_s
        self.max_batch = max_batch
        self.lock_timeout_s = lock_timeout_s
        self.design = self.folder.load_qmodel()  # formats and shifts the bitstream was built with
        self.net = self.design.network
        self.tap_shapes = [tuple(self.net.input_shape)] + [tuple(l.out_shape) for l in
                                                            self.net.layers[:len(self.design.compute_layers())]]
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

    def deadline_s(self, samples: int, stream_bytes: int = 0) -> float:
        """How long one call may take: the design's predicted cycles at the current clock (and one beat a
        cycle for the streams, which matters for weight loads), with margin."""
        cycles = self.latency_cycles + max(0, samples - 1) * self.cycles_per_sample
        cycles += stream_bytes * 8 // self.beat_bits
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
        if status != itf.Status.OK:
            raise HiltError(f"the accelerator answered status {status} "
                            f"({itf.Status(status).name.lower()}) to mode {mode.name.lower()}")
        if not out_bytes:
            return []
        out_buf.invalidate()
        return itf.unpack_sections(outs, np.array(out_buf[:out_bytes]), self.beat_bits)

    def _wait(self, mode, samples: int, sending: bool, receiving: bool, stream_bytes: int) -> None:
        limit = self.deadline_s(samples, stream_bytes)
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
                record = {"mode": mode.name.lower(), "samples": samples, "clock_mhz": self._clock,
                          "deadline_s": limit, "waited_s": waited}
                self._recover()
                record["recovered_at_mhz"] = self._clock
                self.hang_log.append(record)
                self.counters.hangs += 1
                raise AcceleratorHang(f"no answer within {limit * 1e3:.0f} ms at {record['clock_mhz']:g} MHz "
                                      f"(deadline from {self.cycles_per_sample} cycles per sample); recovered: "
                                      f"clock back to {self._clock:g} MHz, accelerator and DMA reset")

    def _reset_dma(self) -> None:
        """PG021: the reset bit of either channel's DMACR resets both; then start them again."""
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
        if streams.signature(q) != streams.signature(self.design):
            raise HiltError(f"{self.folder.path}: the overlay was built for other formats or shifts than this "
                            f"model's; quantize with the overlay's model ({self.folder.qmodel_path.name}) or "
                            f"rebuild the overlay")
        self._call(itf.Mode.LOAD_WEIGHTS, streams.weight_arrays(q), 0)
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
        images = list(streams.to_hwc(self.q.input_fmt.to_int(x)))
        mode = itf.Mode.TRAIN_FORWARD if taps else itf.Mode.INFER
        out = self._call(mode, images, n)
        if not taps:
            return np.stack(out).astype(np.int64), None
        k = len(self.tap_shapes)
        per_tap = [streams.from_hwc(np.stack(out[t::k]), shape).astype(np.int64)
                   for t, shape in enumerate(self.tap_shapes)]
        return per_tap[-1].reshape(n, -1), per_tap

    def status(self) -> dict:
        """What the driver knows, for JSON: clock requested and set, hangs, calls."""
        return {"overlay": str(self.folder.path), "family": self.family, "clock_mhz": self._clock,
                "requested_mhz": self._requested, "f_safe_mhz": self.f_safe_mhz,
                "clock_source": "clocking wizard" if self.wizard is not None else "PS FCLK0",
                "hangs": self.hang_log, "counters": self.counters.to_json()}
