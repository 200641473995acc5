"""A simulated PYNQ board: a ``pynq.Device`` whose registers are models of the overlay's IP.

pynq finds every ``Device`` subclass that defines ``_probe_``; this one answers with the boards that
:func:`install` made (or one, when ``HILT_SIMBOARD=1`` is set), so pynq's own ``Overlay`` (parsing the
``.hwh``), ``allocate``, ``MMIO``, ``DefaultIP``, ``pynq.lib.dma.DMA`` and ``pynq.ps.Clocks`` run unmodified
on top, and so does the driver (:mod:`hilt.board.driver`). Every MMIO access lands in
``read_registers``/``write_registers`` (capability ``REGISTER_RW``) and goes to the model at that address:

- the PS's clock registers (Zynq-7000 SLCR, Zynq UltraScale+ CRL/CRF), which ``Clocks`` reads and writes;
- the AXI DMA in simple mode (Xilinx PG021 register map: DMACR/DMASR, source/destination address, length);
- the accelerator's ``ap_ctrl_hs`` control map (``hilt.accel.interface``), computing with the emulator
  (``hilt.accel.Emulator``: the virtual chip with its timing errors, hang above its crash clock and faults);
- the Clocking Wizard (PG065 dynamic reconfiguration: the words ``hilt.board.clocking`` encodes, a lock
  that drops while the MMCM relocks and never comes back for a setting outside the family's limits);
- the AXI GPIO whose bit drives the accelerator's reset (held in reset while the bit is at its active level);
- a DDR arena that ``pynq.allocate`` carves buffers from; the DMA reads and writes it by physical address.

Time: the accelerator finishes a call within the register write that completes it (``ap_start`` with both
DMA channels armed) unless the chip hangs; then nothing moves until the reset, as on silicon.

pynq's wrinkles on a machine without a board are handled here, not hidden: ``Clocks`` refuses any CPU but the
board's (``pynq.ps.CPU_ARCH`` is set to the design's family when the bitstream is downloaded, and the cached
``Clocks`` instance is dropped when the family changes); ``pynq.allocate`` needs numpy < 2 (``ndarray.device``
became read-only in numpy 2), so the simulated board runs in an environment with numpy 1.x.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np
import pynq
import pynq.ps
from pynq.buffer import PynqBuffer

from ..accel import interface as itf
from ..accel import order
from ..faults import Chip, FaultConfig
from . import clocking
from .overlay import open_overlay

DDR_BASE = 0x1000_0000
DDR_SIZE = 256 << 20
ALIGN = 4096

# PG021 (AXI DMA, simple mode) register bits
DMACR_RS, DMACR_RESET = 1 << 0, 1 << 2
DMASR_HALTED, DMASR_IDLE = 1 << 0, 1 << 1
DMASR_INT_ERR, DMASR_SLV_ERR, DMASR_DEC_ERR = 1 << 4, 1 << 5, 1 << 6
DMASR_IOC_IRQ, DMASR_ERR_IRQ = 1 << 12, 1 << 14
DMASR_W1C = DMASR_IOC_IRQ | (1 << 13) | DMASR_ERR_IRQ

# PS clock registers: the word each PLL/clock control register holds after boot (fields as pynq.ps defines
# them): Zynq-7000 IO PLL 50 MHz x 20 = 1 GHz, FCLKn = IO PLL / (5 * 2) = 100 MHz; ZynqMP IOPLL
# 33.333 MHz x 90 / 2 = 1.5 GHz, PLn = IOPLL / 15 = 100 MHz (the reference clocks pynq.ps assumes).
PS_BOOT = {
    "zynq7": (0xF800_0000, 0x200, {"ARM_PLL_CTRL": {"PLL_FDIV": 26}, "DDR_PLL_CTRL": {"PLL_FDIV": 21},
                                   "IO_PLL_CTRL": {"PLL_FDIV": 20}, "ARM_CLK_CTRL": {"DIVISOR": 2, "SRCSEL": 0},
                                   **{f"FPGA{i}_CLK_CTRL": {"DIVISOR0": 5, "DIVISOR1": 2, "SRCSEL": 0}
                                      for i in range(4)}}, "ZYNQ_SLCR_REGISTERS"),
    "zynqmp_crl": (0xFF5E_0000, 0x100, {"IOPLL_CTRL": {"FBDIV": 90, "DIV2": 1}, "RPLL_CTRL": {"FBDIV": 90, "DIV2": 1},
                                        **{f"PL{i}_REF_CTRL": {"DIVISOR0": 15, "DIVISOR1": 1, "SRCSEL": 0,
                                                               "CLKACT": 1} for i in range(4)}},
                   "ZU_CRL_REGISTERS"),
    "zynqmp_crf": (0xFD1A_0000, 0x100, {"APLL_CTRL": {"FBDIV": 72, "DIV2": 1}, "DPLL_CTRL": {"FBDIV": 64},
                                        "VPLL_CTRL": {"FBDIV": 64}, "ACPU_CTRL": {"DIVISOR0": 1, "SRCSEL": 0}},
                   "ZU_CRF_REGISTERS"),
}
CPU_ARCH = {"zynq7": pynq.ps.ZYNQ_ARCH, "zynqmp": pynq.ps.ZU_ARCH}


class SimError(RuntimeError):
    """An access the simulated board's bus does not decode (on silicon: a bus error or a stall)."""


def _ps_words(key: str) -> tuple[int, int, dict[int, int]]:
    base, span, values, table = PS_BOOT[key]
    regs = getattr(pynq.ps, table)
    words = {}
    for name, fields in values.items():
        reg = regs[name]
        word = 0
        for field, v in fields.items():
            f = reg["fields"][field]
            word |= (v & ((1 << f["bit_width"]) - 1)) << f["bit_offset"]
        words[reg["address_offset"]] = word
    return base, span, words


def field(word: int, reg: dict, name: str) -> int:
    f = reg["fields"][name]
    return (word >> f["bit_offset"]) & ((1 << f["bit_width"]) - 1)


# ---- IP models -----------------------------------------------------------------------------------

class RegisterFile:
    """Plain 32-bit registers (the PS's clock controls)."""

    def __init__(self, words: dict[int, int] | None = None):
        self.words = dict(words or {})

    def read(self, offset: int) -> int:
        return self.words.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        self.words[offset] = value & 0xFFFFFFFF


class ClockWizard:
    """PG065 dynamic reconfiguration: config words from 0x200, load at 0x25C, lock in bit 0 of 0x04."""

    RELOCK_READS = 2  # status reads that see the MMCM unlocked after a load

    def __init__(self, board: "SimBoard", family: str, f_in: float, f_out: float):
        self.board = board
        self.limits = clocking.LIMITS[family]
        self.f_in = f_in
        setting = clocking.search(f_out, f_in, self.limits)  # the bitstream's own configuration
        self.regs = RegisterFile(setting.words())
        self.mhz = setting.mhz
        self.locked = True
        self._relock = 0

    def read(self, offset: int) -> int:
        if offset == clocking.REG_STATUS:
            if self._relock:
                self._relock -= 1
                return 0
            return clocking.STATUS_LOCKED if self.locked else 0
        return self.regs.read(offset)

    def write(self, offset: int, value: int) -> None:
        if offset == 0x0 and value == 0xA:  # software reset: back to the bitstream's configuration
            return
        if offset == clocking.REG_LOAD and value & clocking.LOAD_FROM_REGISTERS == clocking.LOAD_FROM_REGISTERS:
            s = clocking.decode(self.regs.read(clocking.REG_CONFIG0), self.regs.read(clocking.REG_CLKOUT0_DIVIDE),
                                self.f_in)
            self.locked = clocking.valid(s, self.limits)
            self._relock = self.RELOCK_READS
            if self.locked:
                self.mhz = s.mhz
                self.board.accel_clock_changed()
            return
        self.regs.write(offset, value)


class ResetGPIO:
    """AXI GPIO channel 1 (PG144: 0x0 data, 0x4 tri-state) driving the accelerator's auxiliary reset."""

    def __init__(self, board: "SimBoard", active_high: bool):
        self.board = board
        self.active_high = active_high
        self.data, self.tri = 0, 0xFFFFFFFF

    @property
    def asserted(self) -> bool:
        return bool(self.data & 1) == self.active_high

    def read(self, offset: int) -> int:
        return {0x0: self.data, 0x4: self.tri}.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        if offset == 0x0:
            self.data = value & 1
            if self.asserted:
                self.board.accel.reset()
        elif offset == 0x4:
            self.tri = value


class DMAChannel:
    """One direction of the AXI DMA in simple mode (PG021)."""

    def __init__(self, board: "SimBoard", name: str):
        self.board, self.name = board, name
        self.reset()

    def reset(self):
        self.cr = 0
        self.sr = DMASR_HALTED
        self.addr = 0
        self.length = 0
        self.busy = False

    @property
    def running(self) -> bool:
        return bool(self.cr & DMACR_RS) and not self.sr & DMASR_HALTED

    def write_cr(self, value: int) -> None:
        if value & DMACR_RESET:
            self.board.dma.reset()
            return
        self.cr = value
        if value & DMACR_RS and not self.sr & (DMASR_INT_ERR | DMASR_SLV_ERR | DMASR_DEC_ERR):
            self.sr &= ~DMASR_HALTED
        elif not value & DMACR_RS:
            self.sr |= DMASR_HALTED
            self.busy = False

    def start(self, length: int) -> None:
        self.length = length
        if not self.running:
            return
        if length == 0:
            return self.fail(DMASR_INT_ERR)
        self.busy = True
        self.sr &= ~DMASR_IDLE

    def done(self, nbytes: int) -> None:
        self.busy = False
        self.length = nbytes
        self.sr |= DMASR_IDLE | DMASR_IOC_IRQ

    def fail(self, bit: int) -> None:
        """PG021: an error halts the channel until a reset; the status keeps the cause."""
        self.busy = False
        self.sr |= bit | DMASR_ERR_IRQ | DMASR_HALTED
        self.sr &= ~DMASR_IDLE


class AxiDMA:
    def __init__(self, board: "SimBoard"):
        self.board = board
        self.mm2s = DMAChannel(board, "MM2S")
        self.s2mm = DMAChannel(board, "S2MM")
        self.inject: str | None = None  # the next transfer ends with this error: "slave" or "decode"

    def reset(self):
        self.mm2s.reset()
        self.s2mm.reset()

    def read(self, offset: int) -> int:
        ch, reg = (self.mm2s, offset) if offset < 0x30 else (self.s2mm, offset - 0x30)
        return {0x00: ch.cr, 0x04: ch.sr, 0x18: ch.addr & 0xFFFFFFFF, 0x1C: ch.addr >> 32,
                0x28: ch.length}.get(reg, 0)

    def write(self, offset: int, value: int) -> None:
        ch, reg = (self.mm2s, offset) if offset < 0x30 else (self.s2mm, offset - 0x30)
        if reg == 0x00:
            ch.write_cr(value)
        elif reg == 0x04:
            ch.sr &= ~(value & DMASR_W1C)
        elif reg == 0x18:
            ch.addr = (ch.addr & ~0xFFFFFFFF) | value
        elif reg == 0x1C:
            ch.addr = (ch.addr & 0xFFFFFFFF) | (value << 32)
        elif reg == 0x28:
            ch.start(value)
            if ch.busy and self.inject:
                kind, self.inject = self.inject, None
                return ch.fail(DMASR_SLV_ERR if kind == "slave" else DMASR_DEC_ERR)
            if ch.busy and not self.board.ddr_range_ok(ch.addr, ch.length):
                return ch.fail(DMASR_DEC_ERR)
            self.board.accel.advance()


class ApCtrl:
    """What every accelerator's ``ap_ctrl_hs`` control block shares: ap_done clear on read, the reset that
    returns the control registers and the datapath (not the weight memory) to power-on, writes lost in reset."""

    def reset(self) -> None:
        """proc_sys_reset's peripheral reset: the control registers and the datapath, not the weight memory."""
        self._power_on()
        self.emu.reset()

    def read_ctrl(self) -> int:
        value = self.ctrl
        self.ctrl &= ~itf.AP_DONE  # clear on read
        return value

    def held_in_reset(self) -> bool:
        return self.board.gpio is not None and self.board.gpio.asserted


class Accelerator(ApCtrl):
    """The HLS IP's ``ap_ctrl_hs`` control map with the emulator behind the streams."""

    def __init__(self, board: "SimBoard", overlay, chip: Chip, faults: FaultConfig):
        from ..accel import Emulator

        self.board = board
        self.overlay = overlay
        self.q = overlay.load_qmodel()  # the formats and shifts compiled into the design
        self.layouts = order.tap_layouts(self.q.network, len(self.q.compute_layers()))
        self.beat_bits = overlay.beat_bits
        self.emu = Emulator(chip, faults)
        self.emu.load(self.q)  # the bitstream's initial weights
        self.emu.set_clock(board.accel_mhz())
        self.calls = 0
        self._power_on()

    def _power_on(self):
        self.ctrl = itf.AP_IDLE
        self.mode = self.samples = self.status = 0
        self.status_vld = 0
        self.ier = self.gie = self.isr = 0
        self.hung = False

    # -- registers
    def read(self, offset: int) -> int:
        if offset == itf.REG_CTRL:
            return self.read_ctrl()
        if offset == itf.REG_STATUS_CTRL:
            value, self.status_vld = self.status_vld, 0
            return value
        return {itf.REG_GIE: self.gie, itf.REG_IER: self.ier, itf.REG_ISR: self.isr, itf.REG_MODE: self.mode,
                itf.REG_SAMPLES: self.samples, itf.REG_STATUS: self.status}.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        if self.held_in_reset():
            return  # writes are lost
        if offset == itf.REG_CTRL:
            if value & itf.AP_START:
                self.ctrl = (self.ctrl | itf.AP_START) & ~itf.AP_IDLE
            self.ctrl = (self.ctrl & ~itf.AUTO_RESTART) | (value & itf.AUTO_RESTART)
            self.advance()
        elif offset == itf.REG_MODE:
            self.mode = value
        elif offset == itf.REG_SAMPLES:
            self.samples = value
        elif offset == itf.REG_GIE:
            self.gie = value & 1
        elif offset == itf.REG_IER:
            self.ier = value & 3
        elif offset == itf.REG_ISR:
            self.isr ^= value & 3

    # -- the datapath
    def advance(self) -> None:
        """Run the started call once its input is on the stream and (if it has output) S2MM is armed."""
        if not self.ctrl & itf.AP_START or self.hung:
            return
        dma = self.board.dma
        try:
            ins, outs = self.overlay.layout(self.mode, self.samples)
        except ValueError:
            return self._finish(itf.Status.UNSUPPORTED_MODE, 0, 0)
        in_bytes = itf.total_beats(ins, self.beat_bits) * self.beat_bits // 8
        out_bytes = itf.total_beats(outs, self.beat_bits) * self.beat_bits // 8
        if (in_bytes and not dma.mm2s.busy) or (out_bytes and not dma.s2mm.busy):
            return  # waiting for the streams
        if in_bytes > dma.mm2s.length:
            return  # the stream ends early: the accelerator waits for beats that never come
        if self.mode == itf.Mode.BACKWARD and not self.overlay.backward:
            return self._finish(itf.Status.UNSUPPORTED_MODE, 0, 0)
        data = self.board.ddr_read(dma.mm2s.addr, in_bytes)
        arrays = itf.unpack_sections(ins, data, self.beat_bits)
        try:
            result = self._compute(arrays)
        except Exception as err:  # noqa: BLE001 - the chip's model failing must not look like silicon
            from ..accel import AcceleratorHang

            if isinstance(err, AcceleratorHang):
                self.hung = True  # the input was taken in part; nothing comes out until the reset
                return
            raise
        out = itf.pack_sections(outs, result, self.beat_bits) if outs else np.zeros(0, np.uint8)
        if out.size > dma.s2mm.length and outs:
            dma.mm2s.done(in_bytes)
            dma.s2mm.fail(DMASR_INT_ERR)  # the packet is longer than the buffer: PG021 internal error
            return self._finish(itf.Status.OK, in_bytes, 0)
        if outs:
            self.board.ddr_write(dma.s2mm.addr, out)
            dma.s2mm.done(out.size)
        if in_bytes:
            dma.mm2s.done(in_bytes)
        self._finish(itf.Status.OK, in_bytes, out.size)

    def _finish(self, status: int, consumed: int, produced: int) -> None:
        self.calls += 1
        self.status, self.status_vld = int(status), 1
        self.ctrl = (self.ctrl & ~itf.AP_START) | itf.AP_DONE | itf.AP_IDLE | itf.AP_READY
        if self.ier & itf.ISR_DONE:
            self.isr |= itf.ISR_DONE

    def _compute(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        q, n = self.q, self.samples
        if self.mode == itf.Mode.LOAD_WEIGHTS:
            it = iter(arrays)
            for ql, layer, src in order.weighted_pairs(q):
                ql.arrays["weight"] = order.weight_from_rows(next(it), ql.arrays["weight"].shape, src)
                ql.arrays["bias"] = next(it).astype(np.int64)
            self.emu.load(q)
            return []
        if self.mode == itf.Mode.BACKWARD:
            return self._backward(arrays)
        x = order.tap_from_stream(np.stack(arrays), *self.layouts[0])
        taps = self.mode == itf.Mode.TRAIN_FORWARD
        result = self.emu.forward(q.input_fmt.to_float(x), taps=taps)
        if not taps:
            return list(result.logits.reshape(n, -1))
        per_tap = [order.tap_to_stream(t, *layout) for t, layout in zip(result.taps, self.layouts)]
        return [per_tap[t][i] for i in range(n) for t in range(len(per_tap))]

    def _backward(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The BP pipeline: the emulator's backward (the golden model's on the weights its memory holds)."""
        q, n, k = self.q, self.samples, len(self.layouts)
        per_sample = [arrays[i * (k + 1):(i + 1) * (k + 1)] for i in range(n)]
        taps = [order.tap_from_stream(np.stack([s[t] for s in per_sample]), *self.layouts[t]) for t in range(k)]
        err = np.stack([s[k] for s in per_sample])
        bp = self.emu.backward(taps, err)
        back = range(k - 2, 0, -1)
        errors = [order.tap_to_stream(bp.errors[i], *self.layouts[i]) for i in back]
        out = [e[j] for j in range(n) for e in errors]
        for ql, layer, src in order.weighted_pairs(q):
            g = bp.grads[layer.name]
            out += [order.weight_rows(g["weight"], src).reshape(-1), g["bias"]]
        return out


class EngineAccelerator(ApCtrl):
    """The layer-sequential engine's ``ap_ctrl_hs`` map (pointer registers, descriptor count) with the engine's
    virtual chip behind its AXI4 masters: on ``ap_start`` it reads the descriptors, the packed parameters and the
    input from DDR at the pointers, runs ``hilt.engine.accel.EngineEmulator`` (the engine's shared MAC lanes) at
    the wizard's clock and writes every layer's output to its region. It models the overlay's network: the
    descriptors in DDR must be the ones the engine's program gives that network (a host writing others gets a
    ``SimError`` naming the field, not a silent guess at what the engine would compute)."""

    def __init__(self, board: "SimBoard", overlay, chip: Chip, faults: FaultConfig):
        from ..dse.sequential import EngineConfig
        from ..engine.accel import EngineEmulator
        from ..engine.program import build

        self.board = board
        self.q = overlay.load_qmodel()
        self.config = EngineConfig(**overlay.manifest["engine"]["config"])
        self.prog = build(self.q, self.config, fuse_relu=False)
        self.regs = overlay.manifest["interface"]["control"]["registers"]
        self.emu = EngineEmulator(chip, faults, self.config)
        self.emu.load(self.q)
        self.emu.set_clock(board.accel_mhz())
        self.words: dict[int, int] = {}
        self.calls = 0
        self._power_on()

    def _power_on(self):
        self.ctrl = itf.AP_IDLE
        self.words = {}
        self.hung = False

    def read(self, offset: int) -> int:
        return self.read_ctrl() if offset == itf.REG_CTRL else self.words.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        if self.held_in_reset():
            return
        if offset != itf.REG_CTRL:
            self.words[offset] = value & 0xFFFFFFFF
            return
        if value & itf.AP_START and not self.hung:
            self.ctrl = (self.ctrl | itf.AP_START) & ~itf.AP_IDLE
            self._run()

    def _pointer(self, name: str) -> int:
        return self.words.get(self.regs[name], 0) | self.words.get(self.regs[name] + 4, 0) << 32

    def _run(self) -> None:
        from ..accel import AcceleratorHang
        from ..engine.program import DESC_WORDS, FIELDS, read_params

        prog, base = self.prog, self._pointer("descs")
        count = self.words.get(self.regs["count"], 0)
        if not self.board.ddr_range_ok(base, prog.size):
            raise SimError(f"engine: the DDR image at 0x{base:x} ({prog.size} bytes) is outside memory")
        image = self.board.ddr_read(base, prog.size)
        if count != len(prog.steps):
            raise SimError(f"engine: {count} descriptors started; the overlay's network has {len(prog.steps)}")
        desc = image[:count * DESC_WORDS * 4].view("<u4").reshape(count, DESC_WORDS)
        diff = np.argwhere(desc != prog.descriptors)
        if diff.size:
            k, j = diff[0]
            raise SimError(f"engine: descriptor {k} field {FIELDS[j] if j < len(FIELDS) else j} is {desc[k, j]}, the "
                           f"overlay's network has {prog.descriptors[k, j]}: this model runs only that network")
        q = read_params(prog, self.q, image)
        x = image[prog.input.offset:][:prog.input.size].view(np.int8).astype(np.int64)
        self.emu.load(q)
        try:
            taps = self.emu.forward(q.input_fmt.to_float(x.reshape((1,) + tuple(q.network.input_shape))),
                                    taps=True).taps
        except AcceleratorHang:
            self.hung = True  # nothing completes until the reset
            return
        for (region, _), t in zip(prog.taps, taps):
            self.board.ddr_write(base + region.offset, t.reshape(-1).astype(np.int8).view(np.uint8))
        self.calls += 1
        self.ctrl = (self.ctrl & ~itf.AP_START) | itf.AP_DONE | itf.AP_IDLE | itf.AP_READY


# ---- the device -----------------------------------------------------------------------------------

class SimBoard(pynq.Device):
    """A Zynq board without the board: pynq's device interface over models of the overlay's IP."""

    _probe_priority_ = 45  # before the embedded device (50), which finds nothing off the board anyway
    _installed: list["SimBoard"] = []

    @classmethod
    def _probe_(cls):
        if not cls._installed and os.environ.get("HILT_SIMBOARD"):
            cls._installed.append(cls())
        return list(cls._installed)

    def __init__(self, chip: Chip | None = None, faults: FaultConfig | None = None, family: str = "zynq7"):
        super().__init__("simboard")
        self.name = "simboard"
        self.capabilities = {"REGISTER_RW": True}
        self.chip = chip or Chip()
        self.faults = faults or FaultConfig()
        self.family = family
        self.ddr = np.zeros(DDR_SIZE, dtype=np.uint8)  # pages are only touched when written
        self._free = [(0, DDR_SIZE)]
        self.windows: list[tuple[int, int, object]] = []
        self.accel = self.dma = self.wizard = self.gpio = None
        self.bitfile_name = None
        self.timestamp = None
        self.downloads = 0
        self._boot_ps()

    # -- bus
    @property
    def arch(self) -> str:
        """The CPU, as pynq >= 3.1's ``Clocks`` asks the device for it (3.0.1 reads ``pynq.ps.CPU_ARCH``)."""
        return CPU_ARCH[self.family]

    def _boot_ps(self) -> None:
        keys = ("zynq7",) if self.family == "zynq7" else ("zynqmp_crl", "zynqmp_crf")
        self.ps_windows = []
        for key in keys:
            base, span, words = _ps_words(key)
            self.ps_windows.append((base, span, PSRegisters(self, words)))

    def _target(self, address: int, length: int):
        for base, span, model in self.windows + self.ps_windows:
            if base <= address < base + span:
                if address + length > base + span:
                    raise SimError(f"access at 0x{address:x} of {length} bytes crosses the end of its IP")
                return model, address - base
        raise SimError(f"no IP at 0x{address:08x} in the loaded design (a bus error on the board)")

    def read_registers(self, address: int, length: int) -> bytes:
        out = bytearray()
        for a in range(address, address + length, 4):
            model, offset = self._target(a, 4)
            out += int(model.read(offset) & 0xFFFFFFFF).to_bytes(4, "little")
        return bytes(out[:length])

    def write_registers(self, address: int, data) -> None:
        data = bytes(data)
        for i in range(0, len(data), 4):
            model, offset = self._target(address + i, 4)
            model.write(offset, int.from_bytes(data[i:i + 4].ljust(4, b"\0"), "little"))

    # -- memory
    def allocate(self, shape, dtype, **kwargs):
        dtype = np.dtype(dtype)
        nbytes = max(1, int(np.prod(shape)) * dtype.itemsize)
        size = -(-nbytes // ALIGN) * ALIGN
        for i, (off, span) in enumerate(self._free):
            if span >= size:
                self._free[i] = (off + size, span - size)
                buf = PynqBuffer(shape, dtype, buffer=self.ddr, offset=off, device=self,
                                 device_address=DDR_BASE + off, bo=off, coherent=False)
                weakref.finalize(buf, self._release, off, size)
                return buf
        raise MemoryError(f"simulated DDR arena of {DDR_SIZE >> 20} MiB is full")

    def _release(self, off: int, size: int) -> None:
        self._free.append((off, size))
        self._free.sort()
        merged = []
        for o, s in self._free:
            if merged and merged[-1][0] + merged[-1][1] == o:
                merged[-1] = (merged[-1][0], merged[-1][1] + s)
            elif s:
                merged.append((o, s))
        self._free = merged

    def flush(self, bo, offset, vaddr, length):
        """Caches are not modelled: the arena is the memory both sides see."""

    def invalidate(self, bo, offset, vaddr, length):
        """Caches are not modelled: the arena is the memory both sides see."""

    def ddr_range_ok(self, address: int, length: int) -> bool:
        return DDR_BASE <= address and address + length <= DDR_BASE + DDR_SIZE

    def ddr_read(self, address: int, length: int) -> np.ndarray:
        off = address - DDR_BASE
        return self.ddr[off:off + length].copy()

    def ddr_write(self, address: int, data: np.ndarray) -> None:
        off = address - DDR_BASE
        self.ddr[off:off + data.size] = data

    # -- bitstreams
    def get_bitfile_metadata(self, bitfile_name, partial: bool = False):
        """pynq's own run-time metadata parser over the ``.hwh`` beside the bitstream."""
        from pynq.metadata.runtime_metadata_parser import RuntimeMetadataParser
        from pynqmetadata.frontends import Metadata

        hwh = Path(bitfile_name).with_suffix(".hwh")
        if not hwh.exists():
            raise RuntimeError(f"Unable to find metadata for bitstream: no {hwh.name}")
        return RuntimeMetadataParser(Metadata(input=str(hwh)))

    def download(self, bitstream, parser=None):
        """Configure the fabric: the IP models of the overlay folder at the addresses of its ``.hwh``."""
        overlay = open_overlay(Path(bitstream.bitfile_name).parent)
        self._select_family(overlay.family)
        ip = parser.ip_dict if parser is not None else self.get_bitfile_metadata(bitstream.bitfile_name).ip_dict
        self.windows = []
        self.gpio = self.wizard = None
        man = overlay.manifest
        self.wizard_present = man["clock"].get("wizard") in ip
        if self.wizard_present:
            self.wizard = ClockWizard(self, overlay.family, float(man["clock"].get("input_mhz", 100.0)),
                                      float(man["freq_mhz"]))
            self._map(ip, man["clock"]["wizard"], self.wizard)
        self.dma = None
        if overlay.kind == "streaming":
            self.dma = AxiDMA(self)
            self._map(ip, overlay.ip_name("dma"), self.dma)
        gpio_name = overlay.ip_name("reset_gpio")
        if gpio_name in ip:
            self.gpio = ResetGPIO(self, bool(man["ips"]["reset_gpio"].get("active_high", False)))
            self._map(ip, gpio_name, self.gpio)
        model = EngineAccelerator if overlay.kind == "sequential" else Accelerator
        self.accel = model(self, overlay, self.chip, self.faults)
        self._map(ip, overlay.ip_name("accel"), self.accel)
        self.downloads += 1
        if parser is not None:
            self.post_download(bitstream, parser, self.name)

    def _map(self, ip_dict, name: str, model) -> None:
        if name not in ip_dict:
            raise RuntimeError(f"the design's .hwh has no IP named {name!r}")
        self.windows.append((int(ip_dict[name]["phys_addr"]), int(ip_dict[name]["addr_range"]), model))

    def _select_family(self, family: str) -> None:
        """Clocks picks the PS's registers by CPU: make it the design's (and forget the other family's)."""
        if family != self.family:
            self.family = family
            self._boot_ps()
        arch = CPU_ARCH[family]
        if pynq.ps.CPU_ARCH != arch:
            pynq.ps.CPU_ARCH = arch
            _forget_clocks()  # a Clocks of the other family's registers

    # -- clocks
    def fclk0_mhz(self) -> float:
        """The PS fabric clock 0 as its registers set it (the accelerator's clock without a wizard)."""
        if self.family == "zynq7":
            regs, ref = pynq.ps.ZYNQ_SLCR_REGISTERS, pynq.ps._ClocksZynq.DEFAULT_SRC_CLK_MHZ
            pll_reg, fdiv, half, clk_reg = "IO_PLL_CTRL", "PLL_FDIV", None, "FPGA0_CLK_CTRL"
        else:
            regs, ref = pynq.ps.ZU_CRL_REGISTERS, pynq.ps._ClocksUltrascale.DEFAULT_SRC_CLK_MHZ
            pll_reg, fdiv, half, clk_reg = "IOPLL_CTRL", "FBDIV", "DIV2", "PL0_REF_CTRL"
        ps = self.ps_windows[0][2]
        pll_word = ps.read(regs[pll_reg]["address_offset"])
        pll = ref * field(pll_word, regs[pll_reg], fdiv) / (2 if half and field(pll_word, regs[pll_reg], half) else 1)
        ctrl = ps.read(regs[clk_reg]["address_offset"])
        return pll / (field(ctrl, regs[clk_reg], "DIVISOR0") * field(ctrl, regs[clk_reg], "DIVISOR1"))

    def accel_mhz(self) -> float:
        return self.wizard.mhz if self.wizard is not None else self.fclk0_mhz()

    def accel_clock_changed(self) -> None:
        if self.accel is not None:
            self.accel.emu.set_clock(self.accel_mhz())

    def write_ps_clock(self) -> None:
        """After pynq's Clocks wrote the PS registers: a design without a wizard clocks the accelerator there."""
        if self.wizard is None:
            self.accel_clock_changed()


class PSRegisters(RegisterFile):
    """The PS's clock control registers; a write may change the accelerator's clock (no wizard)."""

    def __init__(self, board: SimBoard, words: dict[int, int]):
        super().__init__(words)
        self.board = board

    def write(self, offset: int, value: int) -> None:
        super().write(offset, value)
        self.board.write_ps_clock()


def _forget_clocks() -> None:
    """pynq keeps one ``Clocks`` per process, its MMIO bound to the device active when it was made (pynq >= 3.1
    also keeps that device in ``Clocks.device``)."""
    if hasattr(pynq.ps.Clocks, "_real_instance"):
        del pynq.ps.Clocks._real_instance
    if getattr(pynq.ps.Clocks, "device", None) is not None:
        pynq.ps.Clocks.device = None


def install(chip: Chip | None = None, faults: FaultConfig | None = None, family: str = "zynq7") -> SimBoard:
    """Make a simulated board pynq's active device (a new die when ``chip`` differs) and return it."""
    board = SimBoard(chip, faults, family)
    _forget_clocks()  # a Clocks of the previous board's PS registers
    board._select_family(family)  # Overlay.download() sets the PS clocks before it downloads
    SimBoard._installed[:] = [board]
    if hasattr(pynq.Device, "_devices"):
        del pynq.Device._devices
    pynq.Device.active_device = board
    return board


def active() -> SimBoard | None:
    dev = getattr(pynq.Device, "_active_device", None)
    return dev if isinstance(dev, SimBoard) else None
