"""The accelerator's interface, defined once: control register map, modes, status codes, stream beats.

Every implementation of the streaming accelerator follows this module: the generated HLS top, the RTL
twin, the simulated board and the PYNQ driver. The manifest of a generated design embeds
:func:`describe`, so a board reads the same definition without this package's other stages.

Control (AXI4-Lite) is the Vitis HLS ``ap_ctrl_hs`` map, so PYNQ's ``DefaultIP`` drives it unchanged:
``0x00`` control (bit 0 ap_start, 1 ap_done (clear on read), 2 ap_idle, 3 ap_ready, 7 auto_restart),
``0x04`` global interrupt enable, ``0x08`` IP interrupt enable, ``0x0C`` IP interrupt status (toggle on
write), then the scalar arguments where Vitis HLS places them: 8 bytes apart from ``0x10``, an output
scalar taking a data word and an ``ap_vld`` control word.

Streams (AXI4-Stream, one in from the DMA's MM2S, one out to its S2MM): ``beat_bits`` wide (the board's
DMA width: 64 on Zynq-7000 HP ports, 128 on Zynq UltraScale+). A call's stream is a list of *sections*
(one tensor each: an image, a tap, an error map, a layer's weights, ...). Each section's elements are
packed little-endian, ``bits`` each in two's complement, element ``i`` at bit ``i * bits`` of the
section, and every section starts on a new beat (the last beat of a section is padded with zeros).
Feature maps are in pixel-major, channel-minor (HWC) order. TLAST is set on the last beat of the
*output of a call* (one S2MM transfer per call, which the host sizes from :func:`layout`); TKEEP is
all ones. On the input the accelerator counts beats from the layout and ignores TLAST.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum

import numpy as np

# widths of what travels besides activations: 16-bit errors, 32-bit gradients (the numerics contract)
from ..quant.formats import ERR_BITS, GRAD_BITS  # noqa: F401 (part of this module's interface)

# AXI4-Lite control map (Vitis HLS ap_ctrl_hs).
REG_CTRL = 0x00
REG_GIE = 0x04
REG_IER = 0x08
REG_ISR = 0x0C
REG_MODE = 0x10
REG_SAMPLES = 0x18
REG_STATUS = 0x20       # output scalar: data word
REG_STATUS_CTRL = 0x24  # output scalar: bit 0 status_ap_vld (clear on read)
CONTROL_SPAN = 0x40     # the address range the control interface decodes (a power of two)

AP_START = 1 << 0
AP_DONE = 1 << 1
AP_IDLE = 1 << 2
AP_READY = 1 << 3
AUTO_RESTART = 1 << 7
ISR_DONE = 1 << 0
ISR_READY = 1 << 1



class Mode(IntEnum):
    INFER = 0          # images in; logits out
    TRAIN_FORWARD = 1  # images in; every tap out: input, each layer's output, logits last
    BACKWARD = 2       # per sample: taps + logits error in, errors out; then the batch's gradients out
    LOAD_WEIGHTS = 3   # weights and biases in, nothing out


class Status(IntEnum):
    OK = 0
    UNSUPPORTED_MODE = 1  # e.g. BACKWARD on a design generated without the backward pipeline


@dataclass(frozen=True)
class Section:
    """One tensor on a stream: ``count`` elements of ``bits`` bits."""

    name: str
    count: int
    bits: int

    def beats(self, beat_bits: int) -> int:
        return -(-self.count * self.bits // beat_bits)


@dataclass(frozen=True)
class Tensor:
    """What :func:`layout` needs to know of one tap of the model (plain numbers: no model objects)."""

    name: str
    count: int  # elements per sample
    bits: int   # activation width


@dataclass(frozen=True)
class WeightBlock:
    """One conv/dense layer's parameters as MODE_LOAD_WEIGHTS streams them."""

    name: str
    weights: int      # O x K elements (dense columns in HWC order)
    weight_bits: int
    biases: int       # O elements at the accumulator's scale
    bias_bits: int    # 32 for 8-bit operands, 64 (a 48-bit accumulator sign-extended) for 16-bit


def layout(mode: Mode | int, taps: list[Tensor], blocks: list[WeightBlock], samples: int,
           backward: bool = True) -> tuple[list[Section], list[Section]]:
    """(input sections, output sections) of one call in ``mode`` for ``samples`` samples.

    ``taps`` are the model's taps: the input image first, then each layer's output, logits last.
    BACKWARD's errors leave last layer first, for the inputs of layers L..2 (the error at the image is
    not computed); after the last sample each weighted layer's weight and bias gradients follow.
    """
    mode = Mode(mode)
    if mode == Mode.LOAD_WEIGHTS:
        ins = [s for b in blocks for s in (Section(f"{b.name}.weight", b.weights, b.weight_bits),
                                           Section(f"{b.name}.bias", b.biases, b.bias_bits))]
        return ins, []
    image, logits = taps[0], taps[-1]
    if mode == Mode.INFER:
        return ([Section(image.name, image.count, image.bits)] * samples,
                [Section(logits.name, logits.count, logits.bits)] * samples)
    if mode == Mode.TRAIN_FORWARD:
        return ([Section(image.name, image.count, image.bits)] * samples,
                [Section(t.name, t.count, t.bits) for t in taps] * samples)
    if not backward:
        return [], []
    per_in = [Section(t.name, t.count, t.bits) for t in taps] + [Section(f"{logits.name}.error", logits.count,
                                                                         ERR_BITS)]
    per_out = [Section(f"{t.name}.error", t.count, ERR_BITS) for t in reversed(taps[1:-1])]
    grads = [s for b in blocks for s in (Section(f"{b.name}.weight_grad", b.weights, GRAD_BITS),
                                         Section(f"{b.name}.bias_grad", b.biases, GRAD_BITS))]
    return per_in * samples, per_out * samples + grads


def total_beats(sections: list[Section], beat_bits: int) -> int:
    return sum(s.beats(beat_bits) for s in sections)


def pack(values, bits: int, beat_bits: int) -> np.ndarray:
    """Integers -> the section's beats as bytes (uint8, ``beats * beat_bits / 8`` long)."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"value out of the signed {bits}-bit range [{lo}, {hi}]")
    nbytes = -(-v.size * bits // beat_bits) * beat_bits // 8
    out = np.zeros(nbytes, dtype=np.uint8)
    if bits % 8 == 0:
        raw = v.astype(f"<i{bits // 8}").view(np.uint8)
        out[:raw.size] = raw
        return out
    bitstream = ((v[:, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(-1)
    out[:] = np.packbits(np.pad(bitstream, (0, nbytes * 8 - bitstream.size)), bitorder="little")
    return out


def unpack(data, count: int, bits: int) -> np.ndarray:
    """The first ``count`` signed ``bits``-bit elements of a section's bytes, as int64."""
    raw = np.asarray(data, dtype=np.uint8).reshape(-1)
    if raw.size * 8 < count * bits:
        raise ValueError(f"{raw.size} bytes hold fewer than {count} elements of {bits} bits")
    if bits % 8 == 0:
        return raw[:count * bits // 8].view(f"<i{bits // 8}").astype(np.int64)
    bitstream = np.unpackbits(raw, bitorder="little")[:count * bits].reshape(count, bits).astype(np.int64)
    v = (bitstream << np.arange(bits)).sum(axis=1)
    return np.where(v >= 1 << (bits - 1), v - (1 << bits), v)


def pack_sections(sections: list[Section], arrays: list, beat_bits: int) -> np.ndarray:
    """A whole stream: each section packed and padded to its beats, in order."""
    if len(sections) != len(arrays):
        raise ValueError(f"{len(sections)} sections but {len(arrays)} arrays")
    parts = []
    for s, a in zip(sections, arrays):
        if np.size(a) != s.count:
            raise ValueError(f"section {s.name}: {np.size(a)} values, expected {s.count}")
        parts.append(pack(a, s.bits, beat_bits))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def unpack_sections(sections: list[Section], data, beat_bits: int) -> list[np.ndarray]:
    """The inverse of :func:`pack_sections`."""
    raw = np.asarray(data, dtype=np.uint8).reshape(-1)
    need = total_beats(sections, beat_bits) * beat_bits // 8
    if raw.size != need:
        raise ValueError(f"stream of {raw.size} bytes, the layout needs {need}")
    out, offset = [], 0
    for s in sections:
        n = s.beats(beat_bits) * beat_bits // 8
        out.append(unpack(raw[offset:offset + n], s.count, s.bits))
        offset += n
    return out


def describe(beat_bits: int) -> dict:
    """The interface as JSON, for a design's manifest (the board reads it without this package)."""
    return {
        "control": {"protocol": "ap_ctrl_hs", "span": CONTROL_SPAN,
                    "registers": {"ctrl": REG_CTRL, "gie": REG_GIE, "ier": REG_IER, "isr": REG_ISR,
                                  "mode": REG_MODE, "samples": REG_SAMPLES, "status": REG_STATUS,
                                  "status_ctrl": REG_STATUS_CTRL},
                    "ctrl_bits": {"ap_start": AP_START, "ap_done": AP_DONE, "ap_idle": AP_IDLE,
                                  "ap_ready": AP_READY, "auto_restart": AUTO_RESTART}},
        "modes": {m.name.lower(): int(m) for m in Mode},
        "status": {s.name.lower(): int(s) for s in Status},
        "stream": {"beat_bits": beat_bits, "order": "HWC", "endianness": "little",
                   "section_alignment": "beat", "tlast": "last beat of each call's output",
                   "tkeep": "all ones", "err_bits": ERR_BITS, "grad_bits": GRAD_BITS},
    }


def section_json(sections: list[Section]) -> list[dict]:
    return [asdict(s) for s in sections]
