"""The HLS kernel library's C-sim layer with g++: bounded FIFOs, concurrent dataflow processes, deadlock
reports, AXI4-Stream beats against the interface's packing, and numerics.h against the golden numerics."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from hilt.accel import interface
from hilt.codegen.toolchain import compile_cpp
from hilt.quant import formats

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests" / "hls"
INCLUDE = ROOT / "hw" / "hls"


def _build(tmp_path, name, mode="bounded", defines=()):
    tag = "_".join([mode, *defines]).replace("=", "")
    return compile_cpp([SRC / f"{name}.cpp"], tmp_path / f"{name}_{tag}", [INCLUDE], mode, defines)


def _run(binary, *args, stdin=""):
    return subprocess.run([str(binary), *args], input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module", params=["bounded", "threads"])
def stream_bin(request, tmp_path_factory):
    """The coroutine runtime (default) and the OS-thread one (-DHILT_CSIM_THREADS)."""
    return _build(tmp_path_factory.mktemp("stream"), "test_stream", request.param)


def test_a_bounded_fifo_never_holds_more_than_its_depth(stream_bin):
    proc = _run(stream_bin, "bounded")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["most", "held", "3", "ok"]


@pytest.mark.parametrize("case", ["pipeline", "nested"])
def test_dataflow_processes_run_concurrently_over_depth_2_fifos(stream_bin, case):
    # 5,000 values through default-depth FIFOs only finish if producer and consumer run at once
    proc = _run(stream_bin, case)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_a_bypass_fifo_one_below_the_needed_depth_deadlocks_naming_it(tmp_path, stream_bin):
    assert _run(stream_bin, "taps").returncode == 0  # TAP_DEPTH = 64 = the values of one call
    mode = "threads" if stream_bin.name.startswith("test_stream_threads") else "bounded"
    low = _build(tmp_path, "test_stream", mode, ["TAP_DEPTH=63"])
    proc = _run(low, "taps")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == "hilt C-sim: deadlock: every process is blocked"
    assert "  process tee(in, main_path, tap): blocked writing full stream 'tap' (depth 63)" in lines
    assert "  full streams: 'tap' (63)" in lines
    assert any(l.startswith("  process emit(tap, squared, out): blocked reading empty stream 'squared'") for l in lines)


@pytest.mark.parametrize("case, stream", [("short", "short_stream"), ("sequential", "lonely")])
def test_a_missing_value_or_a_full_fifo_without_reader_is_a_deadlock(stream_bin, case, stream):
    proc = _run(stream_bin, case)
    assert proc.returncode == 1
    assert "deadlock" in proc.stderr and f"'{stream}'" in proc.stderr


def test_unbounded_mode_runs_processes_in_order(tmp_path):
    fast = _build(tmp_path, "test_stream", "unbounded", ["TAP_DEPTH=1"])
    for case in ("pipeline", "nested", "taps"):  # a depth of 1 does not matter without bounds
        assert _run(fast, case).stdout.strip() == "ok"
    proc = _run(fast, "short")
    assert proc.returncode == 1 and "read from empty stream 'short_stream'" in proc.stderr


BEAT_CASES = [(13, 8, 64), (16, 8, 64), (33, 8, 128), (7, 16, 64), (9, 16, 128), (5, 32, 64), (3, 32, 128),
              (3, 64, 128), (1, 8, 128)]  # (N, BITS, WORD) as tests/hls/test_beats.cpp instantiates them


@pytest.mark.parametrize("mode", ["bounded", "vendor"])
def test_beat_packing_equals_the_interface_definition(tmp_path, mode):
    rng = np.random.default_rng(7)
    values = [rng.integers(-(1 << (b - 1)), (1 << (b - 1)) - 1, n, endpoint=True) for n, b, _ in BEAT_CASES]
    values[0][:2] = [-128, 127]  # the range's ends
    stdin = "\n".join(" ".join(map(str, v)) for v in values) + "\n"
    proc = _run(_build(tmp_path, "test_beats", mode), stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    assert len(rows) == len(BEAT_CASES)
    for (n, bits, word), v, row in zip(BEAT_CASES, values, rows):
        b, w, count, data, last, round_trip = row.split()
        assert (int(b), int(w), int(count)) == (bits, word, n)
        expected = interface.pack(v, bits, word)
        assert bytes.fromhex(data) == expected.tobytes()
        beats = interface.Section("s", n, bits).beats(word)
        assert last == "0" * (beats - 1) + "1"  # TLAST on the section's (here: the call's) last beat only
        assert round_trip == "1"
        assert np.array_equal(interface.unpack(np.frombuffer(bytes.fromhex(data), np.uint8), n, bits), v)


def _numerics_cases():
    cases, expected = [], []
    for s in range(-3, 41):
        for base in (-(3 << 20), -7, -1, 0, 1, 5, 1 << 30):
            for off in ((-1, 0, 1) if s <= 0 else (-(1 << (s - 1)) - 1, -(1 << (s - 1)), 1 << (s - 1) - 1 if s > 1 else 0,
                                                  1 << (s - 1), (1 << (s - 1)) + 1)):
                v = base * (1 << max(s, 0)) + off
                if abs(v) >= 1 << 62:
                    continue
                cases.append(f"R {v} {s}")
                expected.append(int(formats.shift_round(v, s)))
                for bits in (8, 16, 32):
                    cases.append(f"Q {v} {s} {bits}")
                    expected.append(int(formats.requantize(v, s, bits)))
    for bits in (8, 16, 32, 48):
        for v in (-(1 << 47), -(1 << (bits - 1)) - 1, -(1 << (bits - 1)), -1, 0, (1 << (bits - 1)) - 1, 1 << (bits - 1),
                  (1 << 47) - 1, 3 << 46):
            cases += [f"S {v} {bits}", f"W {v} {bits}"]
            expected += [int(formats.saturate(v, bits)), int(formats.wrap(v, bits))]
    rng = np.random.default_rng(3)
    for bits in (16, 32, 48):
        for n in (1, 7, 200):
            xs = rng.integers(-(1 << 40), 1 << 40, n)
            cases.append(f"A {bits} {n} " + " ".join(map(str, xs)))
            expected.append(int(formats.wrap(int(xs.sum()), bits)))
    return cases, expected


@pytest.mark.parametrize("mode", ["bounded", "vendor"])
def test_numerics_header_equals_the_golden_numerics(tmp_path, mode):
    cases, expected = _numerics_cases()
    # the corners the contract names: half-way values round up (also when negative), s <= 0 shifts left
    assert formats.shift_round(-5, 1) == -2 and formats.shift_round(5, 1) == 3 and formats.shift_round(3, -2) == 12
    proc = _run(_build(tmp_path, "test_numerics_vendor", mode), stdin="\n".join(cases) + "\n")
    assert proc.returncode == 0, proc.stderr
    got = [int(x) for x in proc.stdout.split()]
    assert len(got) == len(expected)
    bad = [(c, g, e) for c, g, e in zip(cases, got, expected) if g != e]
    assert not bad, bad[:5]
