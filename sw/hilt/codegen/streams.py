"""What the generated top streams and how deep its FIFOs are: the accelerator interface's sections at the
board's DMA width, and the depth of every FIFO of the dataflow regions, computed from the layer shapes.

Depths (docs/hls.md explains each):
- layer-to-layer FIFOs: 2 (the Vitis default): every kernel consumes as it produces or buffers internally;
- train-forward taps: the output stream sends each tap whole, in tap order, while the pipeline produces
  them all at once, so tap t's FIFO holds the whole tap (t >= 1; tap 0 is sent as it arrives), and the
  logits FIFO holds the logits (they are sent last);
- backward: the forward taps arrive before the error that starts the backward chain, so each tap a
  backward unit reads has a FIFO of the tap's size; the errors leave in order, last layer first, while
  the chain produces them all at once, so each error FIFO but the first holds the whole error map.
"""

from __future__ import annotations

from ..accel import interface

DEFAULT_DEPTH = 2
DEFAULT_BEAT_BITS = 128  # Zynq UltraScale+ HP ports, where no board is given


def beat_bits(board) -> int:
    return int(getattr(board, "dma_width_bits", DEFAULT_BEAT_BITS))


def bias_bits(bits: int) -> int:
    """Biases travel at the accumulator's width: 32 bits for 8-bit operands, 64 (48 sign-extended) else."""
    return 32 if bits <= 8 else 64


def taps_and_blocks(manifest: dict) -> tuple[list[interface.Tensor], list[interface.WeightBlock]]:
    """The interface's view of a generated design, from its manifest alone."""
    bits = manifest["bits"]
    taps = [interface.Tensor("input", manifest["tap_sizes"][0], bits)]
    taps += [interface.Tensor(l["name"], size, bits) for l, size in zip(manifest["layers"], manifest["tap_sizes"][1:])]
    blocks = []
    for l in manifest["layers"]:
        if l["op"] in ("conv", "dense"):
            o = l["weight_shape"][0]
            k = 1
            for d in l["weight_shape"][1:]:
                k *= d
            blocks.append(interface.WeightBlock(l["name"], o * k, bits, o, bias_bits(bits)))
    return taps, blocks


def layout(manifest: dict, mode: str, samples: int):
    """(input sections, output sections) of one call of the design in ``mode``."""
    taps, blocks = taps_and_blocks(manifest)
    return interface.layout(interface.Mode[mode.upper()], taps, blocks, samples, manifest["backward"])


def forward_depths(tap_sizes: list[int]) -> dict:
    """Depths of the forward region's FIFOs: ``taps[t]`` for tap t (0 .. L-1), ``logits``."""
    return {"taps": [DEFAULT_DEPTH] + list(tap_sizes[1:-1]), "logits": tap_sizes[-1]}


def backward_plan(tap_sizes: list[int], used: set, producers: list[int]) -> dict:
    """The backward region's taps, error outputs and FIFOs with their depths.

    ``used``: the (kind, t) taps a backward unit reads (kind "x": a layer's input, "y": its output);
    ``producers``: the layer indices i whose error at their input (tap i) leaves the accelerator, in
    output order (last layer first)."""
    last = len(tap_sizes) - 1
    taps = [{"t": t, "x": ("x", t) in used, "y": ("y", t) in used} for t in range(last + 1)]
    streams = [(f"t{kind}{t}", tap_sizes[t]) for t in range(last + 1) for kind in ("x", "y") if (kind, t) in used]
    streams += [(f"eo{i}", DEFAULT_DEPTH if n == 0 else tap_sizes[i]) for n, i in enumerate(producers)]
    args = [f"t{kind}{t}" for t in range(last + 1) for kind in ("x", "y") if (kind, t) in used]
    return {"taps": taps, "tap_args": args, "errors_out": producers, "streams": streams}
