"""The ONNX mutation fuzzer (tests/fuzz_onnx.py) over the zoo models through `hilt info` and
`hilt infer --backend golden`: every mutant ends with exit 0 or exit 2 and one line; no traceback,
no warning, no hang, bounded memory. A few hundred mutants in the default set, thousands when heavy.

The mutants the fuzzer ever found failing are kept in REGRESSIONS (seed, index) and as the named
hand-made cases of tests/test_validation.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz_onnx import FAILURES, fuzz, run_case

DEFAULT_CASES = 300  # x 2 commands (info, infer): about 40 s of one core
CHUNKS = 4  # the default set is split so that xdist runs it on both cores


def _assert_clean(counts, failures):
    assert not failures, "\n".join(f"case {c.index} ({c.base}, {c.mutations}): {c.outcome}: {c.detail}"
                                   for c in failures)
    assert counts["ok"] + counts["refused"] == sum(counts.values())


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_fuzz_default_set(chunk):
    size = DEFAULT_CASES // CHUNKS
    counts, failures = fuzz(size, seed=0, start=chunk * size)
    _assert_clean(counts, failures)
    # the mutants are not all refused at the door: some stay valid models that must still run
    assert counts["refused"] > 0 and counts["ok"] > 0


@pytest.mark.heavy
@pytest.mark.parametrize("chunk", range(8))
def test_fuzz_heavy(chunk):
    counts, failures = fuzz(375, seed=1, start=chunk * 375)  # 3,000 mutants in all
    _assert_clean(counts, failures)


# (seed, index) of mutants that failed before the fix that made them pass, and what they were. A pair
# names a mutant of this version of the fuzzer; the durable form of each is a named case in
# tests/test_validation.py ("huge finite weight", "int32 weights reinterpreted from float bytes").
REGRESSIONS = {
    (1, 232): "byte writes in an SVHN weight: magnitude 1.9e37, float forward overflowed",
    (1, 424): "byte writes in a conv bias: magnitude 7.9e27, overflow in multiply",
    (1, 688): "byte writes in a conv weight: magnitude 1.3e34, overflow in multiply",
    (1, 911): "float weights relabelled INT32: magnitudes 1e9, overflow in the float forward",
    (1, 1486): "one conv weight set huge (values mutation), overflow in multiply",
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_fuzz_regressions(case, tmp_path):
    seed, index = case
    result = run_case(seed, index, tmp_path)
    assert result.outcome not in FAILURES, f"{REGRESSIONS[case]}: {result.outcome}: {result.detail}"


def test_fuzzer_finds_what_it_is_meant_to_find(tmp_path, monkeypatch):
    """The fuzzer can fail: with the importer's NaN check removed, NaN-weight mutants are caught."""
    import numpy as np

    import hilt.frontend.importer as importer

    real = importer._Walk.const

    def no_check(self, node, index, what, optional=False):
        name = node.input[index] if index < len(node.input) else ""
        if name in self.consts and np.issubdtype(np.asarray(self.consts[name]).dtype, np.floating):
            return name, np.asarray(self.consts[name], np.float32)
        return real(self, node, index, what, optional)

    monkeypatch.setattr(importer._Walk, "const", no_check)
    counts, failures = fuzz(60, seed=0)
    assert failures, counts


# ---- external data under the lowest onnx the package allows ------------------------------------------

ONNX_FLOOR = "1.21.0"  # pyproject's floor: the first onnx with its own symlink/containment guard


@pytest.mark.heavy
def test_external_data_refused_under_the_lowest_onnx(tmp_path):
    """Install the floor version of onnx beside the tests (pip, from the index) and run the duplicated
    location and subgraph cases through the CLI with it: exit 2, one line, under both versions."""
    target = tmp_path / "onnx-floor"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                          f"onnx=={ONNX_FLOOR}"], capture_output=True, text=True)
    if pip.returncode:
        pytest.fail(f"cannot install onnx {ONNX_FLOOR}: {pip.stderr[-500:]}")
    from test_validation import EXTERNAL_CASES, external_model

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]))
    script = "import sys, onnx; from hilt.cli import main; print(onnx.__version__, file=sys.stderr); sys.exit(main())"
    for name in ("duplicated location (onnx reads the last)", "duplicated location, bad one first",
                 "subgraph tensor through a symlink", "subgraph tensor outside the folder", "symlink"):
        entries, sub, fragment = EXTERNAL_CASES[name]
        case_dir = tmp_path / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
        case_dir.mkdir()
        model = external_model(case_dir, entries, sub)
        proc = subprocess.run([sys.executable, "-c", script, "info", str(model)], capture_output=True, text=True,
                              env=env, timeout=120)
        version, *lines = proc.stderr.splitlines()
        assert version == ONNX_FLOOR
        assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], (name, proc.stderr)


def test_onnx_floor_matches_pyproject():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert f'"onnx>={ONNX_FLOOR.rsplit(".", 1)[0]}"' in text
