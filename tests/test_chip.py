"""The virtual unstable chip: the timing model's required properties, faults, FAQ, the emulator's
exactness against the golden model, hangs, and hardware-in-the-loop training with exact resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hilt import golden
from hilt.accel import AcceleratorHang, Counters, Emulator
from hilt.faults import Chip, FaultConfig, fault_aware_quantize, flip_bits, stuck_at_map
from hilt.faults.timing import accumulate, add_with_timing, settle_depth
from hilt.quant import Format
from hilt.train.hil import HILConfig, finetune


@pytest.fixture(scope="module")
def images(mnist_splits):
    return mnist_splits[1].x[:96], mnist_splits[1].y[:96]


def corrupted_rate(q, chip, x, f) -> float:
    emu = Emulator(chip)
    emu.load(q)
    emu.set_clock(f)
    emu.forward(x)
    return emu.counters.corrupted_accumulations / emu.counters.accumulations


def test_at_or_below_f_safe_the_emulator_is_the_golden_model(trained_q, images):
    x, _ = images
    g = golden.run(trained_q, golden.quantize_input(trained_q, x))
    for chip in (Chip(seed=3), Chip(seed=4, temp_c=85.0)):  # even at the hottest rated temperature
        emu = Emulator(chip)
        emu.load(trained_q)
        for f in (100.0, chip.f_safe_mhz):
            emu.set_clock(f)
            out = emu.forward(x, taps=True)
            assert len(out.taps) == len(g) and all(np.array_equal(a, b) for a, b in zip(out.taps, g))
            assert emu.counters.corrupted_accumulations == 0 and emu.counters.timing_failures == 0


def test_depth_budget_never_fails_below_f_safe_for_any_lane_or_rated_temperature():
    for temp in (-20.0, 25.0, 85.0):
        chip = Chip(seed=0, temp_c=temp, lane_sigma=0.1)
        worst = np.array([1 + Chip.LANE_LIMIT * chip.lane_sigma])
        assert settle_depth(chip, chip.f_safe_mhz, worst, 32)[0] >= 32


def test_error_rate_is_non_decreasing_in_frequency(trained_q, images):
    x, _ = images
    rates = [corrupted_rate(trained_q, Chip(seed=1), x[:32], f) for f in (200, 240, 260, 280, 300, 330)]
    assert rates[0] == 0 and rates[-1] > 0.05
    assert all(b >= a for a, b in zip(rates, rates[1:])), rates


def test_first_failure_is_monotone_in_the_depth_budget(rng):
    """Exact form of monotonicity: a smaller settle budget fails at the same addition or earlier."""
    init = rng.integers(-1000, 1000, 500)
    products = rng.integers(-(1 << 14), 1 << 14, (500, 40))
    previous = None
    for depth in (32, 20, 12, 8, 4, 1):
        acc = init.copy()
        first = np.full(500, 99)
        for k in range(products.shape[1]):
            acc, failed = add_with_timing(acc, products[:, k], np.full(500, depth), 32)
            first = np.where(failed & (first == 99), k, first)
        if previous is not None:
            assert np.all(first <= previous)
        previous = first


def test_same_chip_same_input_same_result_and_two_seeds_differ(trained_q, images):
    x, _ = images
    outs = []
    for seed in (5, 5, 6):
        emu = Emulator(Chip(seed=seed))
        emu.load(trained_q)
        emu.set_clock(275)
        outs.append(emu.forward(x[:32]).logits)
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_a_hotter_chip_errs_at_a_lower_frequency(trained_q, images):
    x, _ = images
    f = 245.0
    cold = corrupted_rate(trained_q, Chip(seed=2, temp_c=25.0), x[:32], f)
    hot = corrupted_rate(trained_q, Chip(seed=2, temp_c=85.0), x[:32], f)
    assert hot > cold


def test_past_f_crash_the_accelerator_hangs_until_reset(trained_q, images):
    x, _ = images
    chip = Chip(seed=0)
    emu = Emulator(chip)
    emu.load(trained_q)
    emu.set_clock(chip.f_crash_mhz + 1)
    with pytest.raises(AcceleratorHang):
        emu.forward(x[:4])
    emu.set_clock(chip.f_safe_mhz)
    with pytest.raises(AcceleratorHang):  # still hung: the driver must reset it
        emu.forward(x[:4])
    emu.reset()
    assert emu.forward(x[:4]).logits.shape == (4, 10)
    assert emu.counters.hangs == 1


def test_timed_accumulation_without_failures_is_the_exact_wrapped_sum(rng):
    init = rng.integers(-(1 << 30), 1 << 30, 200)
    products = rng.integers(-(1 << 20), 1 << 20, (200, 64))
    acc, fails = accumulate(init, products, np.full(200, 32), 32)
    exact = ((init + products.sum(axis=1) + (1 << 31)) % (1 << 32)) - (1 << 31)
    assert np.array_equal(acc, exact) and not fails.any()


def test_a_late_carry_keeps_the_stale_upper_bits():
    # 0b0111 + 1: the carry must ripple from bit 0 to bit 3; with a budget of one bit it reaches bit 1
    reg, failed = add_with_timing(np.array([7]), np.array([1]), np.array([1]), 32)
    assert failed[0] and reg[0] == 0b0100  # bits 0-1 new (00), bits >= 2 from the previous value (01..)


def test_stuck_at_maps_are_per_chip_nested_and_at_the_rate():
    chip = Chip(seed=9)
    a = stuck_at_map(chip, "fc1", (200, 100), 8, 0.02)
    again = stuck_at_map(chip, "fc1", (200, 100), 8, 0.02)
    assert np.array_equal(a.and_mask, again.and_mask) and np.array_equal(a.or_mask, again.or_mask)
    assert a.faulty_bits == pytest.approx(0.02 * 200 * 100 * 8, rel=0.1)
    other = stuck_at_map(Chip(seed=10), "fc1", (200, 100), 8, 0.02)
    assert not np.array_equal(a.or_mask, other.or_mask)
    more = stuck_at_map(chip, "fc1", (200, 100), 8, 0.04)
    stuck = (~a.and_mask & 0xFF) | a.or_mask
    assert np.all(((~more.and_mask & 0xFF) | more.or_mask) & stuck == stuck)  # 2% faults stay at 4%


def test_reram_cells_fail_as_whole_multi_bit_cells():
    fmap = stuck_at_map(Chip(seed=1), "w", (5000,), 8, 0.05, cell_bits=2, kind="reram")
    stuck = (~fmap.and_mask & 0xFF) | fmap.or_mask
    for c in range(4):
        cell = (stuck >> (2 * c)) & 0b11
        assert set(np.unique(cell)) <= {0, 0b11}
    read = fmap.read(np.zeros(5000, np.int64))
    assert (read != 0).any()


def test_faq_picks_the_best_readable_word_exhaustively(rng):
    fmt = Format(8, 6)
    w = rng.uniform(-1.9, 1.9, 3000)
    fmap = stuck_at_map(Chip(seed=4), "x", w.shape, 8, 0.05)
    stored = fault_aware_quantize(w, fmt, fmap)
    err_faq = np.abs(fmap.read(stored) - w * 64)
    candidates = np.arange(-128, 128)
    best = np.array([np.abs(_read_all(fmap, i, candidates) - w[i] * 64).min() for i in range(len(w))])
    assert np.allclose(err_faq, best)
    assert err_faq.mean() < np.abs(fmap.read(fmt.to_int(w)) - w * 64).mean()


def _read_all(fmap, i, candidates):
    from hilt.faults.memory import FaultMap

    one = FaultMap(np.full(len(candidates), fmap.and_mask[i]), np.full(len(candidates), fmap.or_mask[i]), fmap.bits)
    return one.read(candidates)


def test_seu_flips_are_seeded_and_at_the_rate():
    v = np.zeros((1000, 10), np.int64)
    a, n = flip_bits(v, 8, 0.01, np.random.default_rng(1))
    b, m = flip_bits(v, 8, 0.01, np.random.default_rng(1))
    assert np.array_equal(a, b) and n == m
    assert n == pytest.approx(800, rel=0.15) and (a != 0).sum() <= n


def test_faults_combine_and_degrade_accuracy(trained_q, images):
    x, y = images
    clean = Emulator(Chip(seed=0))
    clean.load(trained_q)
    faulty = Emulator(Chip(seed=0), FaultConfig(stuck_at_rate=0.04, reram_rate=0.02, seu_act_rate=1e-4,
                                                seu_acc_rate=1e-5))
    faulty.load(trained_q)
    acc_clean = np.mean(clean.predict(x) == y)
    acc_faulty = np.mean(faulty.predict(x) == y)
    assert acc_faulty < acc_clean and faulty.counters.seu_flips > 0


def test_hil_finetune_recovers_accuracy_on_an_overclocked_chip(trained_q, mnist_splits):
    train_ds, test_ds = mnist_splits
    emu = Emulator(Chip(seed=1))
    emu.load(trained_q)
    emu.set_clock(280)  # this model loses most of its int8 accuracy here
    val = (test_ds.x[:200], test_ds.y[:200])
    before = np.mean(emu.predict(val[0]) == val[1])
    offline = np.mean(golden.predict(trained_q, val[0]) == val[1])
    assert offline - before >= 0.3  # the clock really costs accuracy
    result = finetune(trained_q, emu, train_ds.x[:640], train_ds.y[:640], HILConfig(epochs=1), val=val,
                      progress=False)
    assert result.history[-1]["val_accuracy"] >= before + 0.5 * (offline - before)  # half the loss back


def test_a_killed_run_resumes_to_the_same_weights(trained_q, mnist_splits, tmp_path):
    train_ds, _ = mnist_splits
    x, y = train_ds.x[:192], train_ds.y[:192]
    config = HILConfig(epochs=2, checkpoint_every=2)

    def chip_emu():
        emu = Emulator(Chip(seed=1), FaultConfig(seu_act_rate=1e-4))
        emu.set_clock(250)
        return emu

    whole = finetune(trained_q, chip_emu(), x, y, config, progress=False).network.get_params()

    class Killed(Exception):
        pass

    def kill(step):
        if step == 5:
            raise Killed

    path = tmp_path / "ck.npz"
    with pytest.raises(Killed):
        finetune(trained_q, chip_emu(), x, y, config, checkpoint=path, on_step=kill, progress=False)
    resumed = finetune(trained_q, chip_emu(), x, y, config, checkpoint=path, progress=False).network.get_params()
    for name in whole:
        assert np.array_equal(whole[name]["weight"], resumed[name]["weight"]), name


def test_chip_commands_write_their_json_contracts(tmp_path, capsys, trained_lenet5):
    from hilt.cli import main
    from hilt.frontend import export_onnx

    model = tmp_path / "m.onnx"
    export_onnx(trained_lenet5, model)
    common = ["--samples", "64", "--calib", "200"]
    assert main(["sweep", str(model), "--freq", "200,260,400", "--json", str(tmp_path / "s.json"),
                 "--plot", str(tmp_path / "s.png"), "--quiet", *common]) == 0
    sweep = json.loads((tmp_path / "s.json").read_text())
    assert sweep["f_safe_mhz"] == 200 and sweep["f_crash_mhz"] == 350
    assert [p["hung"] for p in sweep["points"]] == [False, False, True]
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["finetune", str(model), "--freq", "250", "--epochs", "1", "--train-samples", "64",
                 "--json", str(tmp_path / "f.json"), "--quiet", *common]) == 0
    ft = json.loads((tmp_path / "f.json").read_text())
    assert {"freq_mhz", "before_accuracy", "after_accuracy", "other_chip_before_accuracy",
            "other_chip_after_accuracy"} <= set(ft)
    assert main(["faults", str(model), "--stuck-at", "0.02", "--mitigate", "none,faq", "--json",
                 str(tmp_path / "x.json"), "--quiet", *common]) == 0
    faults = json.loads((tmp_path / "x.json").read_text())
    assert [(r["stuck_at_rate"], r["mitigation"]) for r in faults["results"]] == [(0.02, "none"), (0.02, "faq")]
    assert all(0 <= r["accuracy"] <= 1 for r in faults["results"])
    assert main(["profile", "fit", str(tmp_path / "s.json"), str(model), "-o", str(tmp_path / "chip.json"),
                 "--quiet", *common]) == 0
    assert main(["infer", str(model), "--input", str(tmp_path / "nope.npy"), "--output", str(tmp_path / "y.npy"),
                 "--backend", "emu"]) == 2
    capsys.readouterr()


def test_profile_fit_recovers_a_slower_layer(trained_q, images):
    from hilt.data import Dataset
    from hilt.experiments import SweepSettings, fit_chip, onsets, sweep

    x, y = images
    ds = Dataset(x[:32], y[:32])
    settings = SweepSettings([float(f) for f in range(220, 290, 5)], FaultConfig(), progress=False)
    measured_chip = Chip(seed=0, layer_scale={"fc1": 1.08})
    measured = {"points": sweep(trained_q, measured_chip, ds, settings)}
    base = Chip(seed=0)
    fitted = fit_chip(measured, sweep(trained_q, base, ds, settings), base)
    again = sweep(trained_q, fitted, ds, settings)
    assert abs(onsets(again)["fc1"] - onsets(measured["points"])["fc1"]) <= 5
    assert fitted.layer_scale["fc1"] > 1.0
