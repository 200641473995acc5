"""Performance model of MODE_BACKWARD: the backward pipeline fed with the forward taps by the host.

The training model of ``perf`` has the forward pipeline feed the backward units on chip, so a sample's II
there is the slowest stage's. In MODE_BACKWARD (the mode the PYNQ driver uses for ``--backward
accelerator``) each sample's input is every tap, image first and logits last, then the logits error, on
pixel-wide links (one field a cycle through the unpacker; a field wider than a beat one beat a cycle; one
more cycle for a section's closing padding), and each tap a backward unit reads waits in a FIFO one
sample deep (the accelerator's declared depth). That makes the II a property of the whole chain:

- the input and output streams: every field of a sample in, every error field out;
- the slowest backward unit (error, gradient, pool backward), as in the training pipeline;
- **the tap FIFOs**: sample s+1's section of tap t can only finish entering once sample s's tap t has
  left its FIFO, and that happens when s's error reaches the tap's reader, the chain's delay after s's
  error came in. The sections after t and the error of s+1 follow, so the II is at least
  ``chain delay to the reader + the input fields after tap t`` (plus what tap t's section takes to stream
  in beyond the time its reader takes to let the previous one go); a reader that holds ``k`` samples itself
  (a max-pool backward unit its one input buffer, a gradient unit its two banks) spreads that over
  ``1 + k`` samples. A ReLU's backward is a mask applied as the error streams: its output tap is held
  until the error passes, no sample longer.

The chain delay sums the error path's units from the error's arrival: error units (they take the whole
error at their output, then compute ``unit_cycles``), pool backward units (both inputs, then one pixel a
cycle out); ReLU masks and flattens add nothing. Latency (first sample, empty pipeline): its input, then
the chain, with the errors leaving in stream order (last layer first), each section as soon as it is
computed and the previous one has left. Checked against the RTL twin (docs/rtl.md): LeNet-5 at the DSE's
ZCU104 training plan and at 1 x 1, the SVHN net at its ZCU104 training plan: II and latency within 0.1 %
without backpressure.
"""

from __future__ import annotations

import math

from ..accel.interface import ERR_BITS
from ..ir import Network
from ..ir.folding import LayerFolding
from ..ops import op_of
from ..plan.hardware import Folding
from .perf import fixed_cycles, unit_cycles


def _link(shape) -> tuple[int, int]:
    """(fields, values per field) of a tensor on a pixel-wide link: a map one pixel a field, a vector one."""
    return (shape[1] * shape[2], shape[0]) if len(shape) == 3 else (1, int(math.prod(shape)))


def _cycles(fields: int, lanes: int, value_bits: int, beat_bits: int, padding: bool) -> int:
    """Cycles a section takes through the unpacker (``padding``: its closing padding costs a cycle) or the
    packer: one field a cycle, a field wider than a beat one beat a cycle."""
    width = lanes * value_bits
    return fields * -(-width // beat_bits) + int(padding and (fields * width) % beat_bits != 0)


def backward_call(net: Network, units: dict[tuple[str, str], LayerFolding], ppc: int = 1, beat_bits: int = 128,
                  bits: int = 8) -> dict:
    """MODE_BACKWARD's cycles per sample (II) and the first sample's latency (from the call's start to its
    last error beat) at ``units`` ((layer, "err" | "grad") -> folding, default 1 x 1); ``ppc``: image
    pixels per field (the first unit's). ``bound`` names what sets the II."""
    layers = net.layers[: len(net.layers) - (1 if net.has_softmax else 0)]
    taps = []
    fields, lanes = _link(net.input_shape)
    taps.append((fields // ppc, lanes * ppc))
    for layer in layers:
        if layer.op != "flatten":  # a flatten keeps the map's pixels
            fields, lanes = _link(layer.out_shape)
        taps.append((fields, lanes))
    ins = [_cycles(f, n, bits, beat_bits, True) for f, n in taps] + \
        [_cycles(*taps[-1], ERR_BITS, beat_bits, True)]  # the logits error
    after = [sum(ins[t + 1:]) for t in range(len(taps))]

    delay, units_cycles = 0, []  # (backward unit, its cycles per sample)
    span = ins[-1]  # cycles the error stream at this point of the chain takes to pass
    ready = {}  # tap -> its error complete (cycles after the logits error came in)
    # (tap, cycles after the error came in when its reader has let it go, samples the reader holds, cycles
    # the reader takes to let it go: a ReLU mask as fast as the error passes, the others as it streams in)
    waits = []
    for i in reversed(range(len(layers))):
        layer = layers[i]
        op = op_of(layer)
        if layer.weighted:
            g = units.get((layer.name, "grad"), LayerFolding())
            if i == 0:  # the first layer's gradient unit reads the image as it streams: ppc pixels a field
                g = Folding(g.pe, g.simd, ppc)
            grad = unit_cycles(layer, g, "grad")
            waits.append((i, delay + grad, 2, ins[i]))  # two banks
            units_cycles.append((f"{layer.name} gradient unit", grad))
            if i == 0:
                break
            err = unit_cycles(layer, units.get((layer.name, "err"), LayerFolding()), "err")
            delay, span = delay + err, err  # its results leave as they are computed
            units_cycles.append((f"{layer.name} error unit", err))
        elif op.fuses:  # a ReLU: its output tap masks the error as it streams
            waits.append((i + 1, delay, 0, span))
        elif layer.op != "flatten":  # a pool: its input tap and the whole error, then a pixel a cycle
            span = fixed_cycles(layer)
            delay += span
            units_cycles.append((f"{layer.name} backward", span))
            waits.append((i, delay, 1, ins[i]))
        ready[i] = delay

    out_cycles, left = 0, 0
    for t in range(len(layers) - 1, 0, -1):  # errors at taps L-1 .. 1
        section = _cycles(*taps[t], ERR_BITS, beat_bits, False)
        out_cycles += section
        left = max(left + section, ready[t])
    def bound(wait):  # the next sample's tap enters as this one's leaves, but no faster than it streams
        tap, free, held, drain = wait
        return (free + max(0, ins[tap] - drain) + after[tap]) / (1 + held)

    tap = max(waits, key=bound)[0]
    serial = math.ceil(max(bound(w) for w in waits))
    busiest = max(units_cycles, key=lambda u: u[1])
    names = ["input"] + [layer.name for layer in layers]
    candidates = [(sum(ins), "the input stream"), (out_cycles, "the output stream"), (busiest[1], busiest[0]),
                  (serial, f"tap {names[tap]}'s FIFO: held until the error reaches its reader")]
    ii, bound = max(candidates, key=lambda c: c[0])
    return {"ii_cycles": ii, "latency_cycles": sum(ins) + left, "bound": bound, "input_cycles": sum(ins),
            "output_cycles": out_cycles, "chain_cycles": delay, "slowest_unit": busiest[1]}
