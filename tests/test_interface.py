"""The accelerator interface: beat packing round trips, section alignment, the per-mode layout."""

import numpy as np
import pytest

from hilt.accel import interface as itf


@pytest.mark.parametrize("bits", [4, 8, 12, 16, 32, 64])
@pytest.mark.parametrize("beat_bits", [32, 64, 128])
def test_pack_round_trip(bits, beat_bits):
    rng = np.random.default_rng(bits * beat_bits)
    v = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=37, dtype=np.int64)
    v[:2] = [-(1 << (bits - 1)), (1 << (bits - 1)) - 1]
    raw = itf.pack(v, bits, beat_bits)
    assert raw.size == -(-37 * bits // beat_bits) * beat_bits // 8
    assert np.array_equal(itf.unpack(raw, 37, bits), v)


def test_pack_is_little_endian_twos_complement():
    # int8 -1, 2 in a 64-bit beat: bytes ff 02 then zero padding
    assert itf.pack([-1, 2], 8, 64).tolist() == [0xFF, 0x02, 0, 0, 0, 0, 0, 0]
    # 16-bit 0x1234 low byte first
    assert itf.pack([0x1234], 16, 32).tolist() == [0x34, 0x12, 0, 0]
    # 4-bit elements: element 0 in the low nibble
    assert itf.pack([1, -1], 4, 32).tolist() == [0xF1, 0, 0, 0]


def test_pack_refuses_out_of_range():
    with pytest.raises(ValueError):
        itf.pack([128], 8, 64)


def _model():
    taps = [itf.Tensor("input", 784, 8), itf.Tensor("conv1", 4704, 8), itf.Tensor("fc", 10, 8)]
    blocks = [itf.WeightBlock("conv1", 150, 8, 6, 32), itf.WeightBlock("fc", 47040, 8, 10, 32)]
    return taps, blocks


def test_layout_sections_start_on_beats():
    taps, blocks = _model()
    ins, outs = itf.layout(itf.Mode.INFER, taps, blocks, samples=3)
    assert [s.name for s in outs] == ["fc"] * 3
    # 10 int8 logits take two 64-bit beats each; sections never share a beat
    assert itf.total_beats(outs, 64) == 6
    data = itf.pack_sections(outs, [np.arange(10)] * 3, 64)
    back = itf.unpack_sections(outs, data, 64)
    assert all(np.array_equal(b, np.arange(10)) for b in back)


def test_layout_modes():
    taps, blocks = _model()
    _, outs = itf.layout(itf.Mode.TRAIN_FORWARD, taps, blocks, samples=2)
    assert [s.name for s in outs] == ["input", "conv1", "fc"] * 2
    ins, outs = itf.layout(itf.Mode.BACKWARD, taps, blocks, samples=1)
    assert [s.name for s in ins] == ["input", "conv1", "fc", "fc.error"]
    assert ins[-1].bits == itf.ERR_BITS
    assert [s.name for s in outs] == ["conv1.error", "conv1.weight_grad", "conv1.bias_grad", "fc.weight_grad",
                                      "fc.bias_grad"]
    assert itf.layout(itf.Mode.BACKWARD, taps, blocks, samples=1, backward=False) == ([], [])
    ins, outs = itf.layout(itf.Mode.LOAD_WEIGHTS, taps, blocks, samples=5)
    assert [s.count for s in ins] == [150, 6, 47040, 10] and outs == []


def test_describe_matches_vitis_ap_ctrl_hs_map():
    d = itf.describe(128)
    regs = d["control"]["registers"]
    assert (regs["ctrl"], regs["gie"], regs["ier"], regs["isr"], regs["mode"]) == (0, 4, 8, 12, 16)
    assert d["modes"] == {"infer": 0, "train_forward": 1, "backward": 2, "load_weights": 3}
    assert d["stream"]["beat_bits"] == 128
