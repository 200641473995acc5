"""What the generated top streams and how deep its FIFOs are: the accelerator interface's sections at the
board's DMA width, and the depth of every FIFO of the dataflow regions, computed from the layer shapes.

Depths (docs/hls.md explains each):
- layer-to-layer FIFOs: 2 (the Vitis default): every kernel consumes as it produces or buffers internally;
- train-forward taps: the output stream sends each tap whole, in tap order, while the pipeline produces
  them all at once, so tap t's FIFO holds the whole tap (t >= 1; tap 0 is sent as it arrives), and the
  logits FIFO holds the logits (they are sent last);
- backward: the forward taps arrive before the error that starts the backward chain, so each tap a
  backward unit reads has a FIFO of the tap's size (two where the unit buffers the tap itself: a max-pool's
  map, a dense layer's input vector); the errors leave in order, last layer first, while
  the chain produces them all at once, so each error FIFO but the first holds the whole error map.
"""

from __future__ import annotations

from ..accel import interface
from ..plan.memory import DEFAULT_DEPTH, backward_depths, forward_depths  # noqa: F401 (the depths: one definition)
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


def backward_plan(tap_sizes: list[int], used: set, buffered: set, producers: list[int]) -> dict:
    """The backward region's taps, error outputs and FIFOs with their depths.

    ``used``: the (kind, t) taps a backward unit reads (kind "x": a layer's input, "y": its output);
    ``buffered``: those whose reader buffers the whole tap itself (their FIFO holds two);
    ``producers``: the layer indices i whose error at their input (tap i) leaves the accelerator, in
    output order (last layer first)."""
    last = len(tap_sizes) - 1
    taps = [{"t": t, "x": ("x", t) in used, "y": ("y", t) in used} for t in range(last + 1)]
    args = [f"t{kind}{t}" for t in range(last + 1) for kind in ("x", "y") if (kind, t) in used]
    return {"taps": taps, "tap_args": args, "errors_out": producers,
            "streams": backward_depths(tap_sizes, used, buffered, producers)}
