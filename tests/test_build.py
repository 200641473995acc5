"""hilt build: timing sign-off, overlay files, board fit, and the whole flow end to end with vendor stand-ins.

The stand-ins (tests/tcl/bin/vitis_hls, vivado) run the generated scripts in the recording Tcl interpreter
and write placeholder outputs where the tools write theirs, with a report_timing_summary in Vivado's
layout whose WNS the test chooses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hilt.build.timing import parse_timing_summary
from hilt.errors import HiltError

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "tests" / "tcl" / "reports"
STANDINS = ROOT / "tests" / "tcl" / "bin"
sys.path.insert(0, str(ROOT / "tests" / "tcl"))


# ---- timing sign-off ---------------------------------------------------------------------------------------
def test_timing_report_met():
    s = parse_timing_summary((REPORTS / "zcu104_300MHz_met.rpt").read_text())
    assert s.met and s.wns_ns == 0.317 and s.failing_endpoints == 0
    acc = s.accelerator_clock()
    assert acc.name == "clk_out1_lenet5_bd_clk_wiz_0" and acc.period_ns == 3.333 and acc.wns_ns == 0.317
    assert s.f_safe_mhz() == pytest.approx(1000.0 / (3.333 - 0.317))
    assert s.clocks["clk_pl_0"].wns_ns == 5.977
    assert s.clocks["clkfbout_lenet5_bd_clk_wiz_0"].wns_ns is None  # pulse-width columns only


def test_timing_report_violated():
    s = parse_timing_summary((REPORTS / "pynqz2_250MHz_violated.rpt").read_text())
    assert not s.met and s.wns_ns == -1.204 and s.tns_ns == -412.337 and s.failing_endpoints == 823
    assert s.f_safe_mhz() == pytest.approx(1000.0 / (4.0 + 1.204))
    assert s.f_safe_mhz() < 250.0


@pytest.mark.parametrize("wns", [0.25, 0.0, -0.731])
def test_timing_report_of_the_stand_in(wns):
    from recorder import timing_summary

    s = parse_timing_summary(timing_summary(5.0, wns, "clk_out1_x_bd_clk_wiz_0", "clk_fpga_0"))
    assert s.accelerator_clock().wns_ns == wns and s.met == (wns >= 0)
    assert s.f_safe_mhz() == pytest.approx(1000.0 / (5.0 - wns))


def test_timing_report_not_a_report():
    with pytest.raises(HiltError, match="Design Timing Summary"):
        parse_timing_summary("Utilization Design Information\n")


# ---- overlay files -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_q(lenet5_net):
    from hilt.quant import quantize

    x = np.random.default_rng(0).normal(size=(16, *lenet5_net.input_shape)).astype(np.float32)
    return quantize(lenet5_net, x, bits=8, labels=np.arange(16) % 10)


def test_qmodel_file_is_compact_and_numpy_only(tmp_path, small_q):
    path = tmp_path / "m.qmodel.npz"
    small_q.save(path, floats=False)  # the overlay's form
    with np.load(path) as z:
        assert "__onnx__" not in z.files
        weights = [k for k in z.files if k.endswith("/weight")]
        assert weights and all(z[k].dtype == np.int8 for k in weights)
    n_weights = sum(int(q.arrays["weight"].size) for q in small_q.layers if "weight" in q.arrays)
    assert path.stat().st_size < 2 * n_weights + 20_000  # int8 weights, not int32 words or float copies
    # read back in a process where onnx (and the rest of hilt's stages) cannot be imported
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['hilt.frontend'] = None\n"
            "from hilt.quant.qfile import read_qmodel\n"
            f"h, a = read_qmodel({str(path)!r})\n"
            "print(h['name'], h['bits'], len(a), int(sum(x['weight'].size for x in a if 'weight' in x)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["lenet5", "8", str(len(small_q.layers)), str(n_weights)]
    from hilt.quant.qfile import read_qmodel

    header, arrays = read_qmodel(path)
    for ql, got, h in zip(small_q.layers, arrays, header["layers"]):
        assert h["name"] == ql.name and h["shift"] == ql.shift
        for k, v in ql.arrays.items():
            assert np.array_equal(got[k], v)


def test_taps_and_blocks_fit_the_interface_layout(small_q):
    from hilt.accel import interface
    from hilt.build.overlay import taps_and_blocks

    taps, blocks = taps_and_blocks(small_q)
    t = [interface.Tensor(**x) for x in taps]
    b = [interface.WeightBlock(**x) for x in blocks]
    assert t[0].count == 28 * 28 and t[-1].count == 10
    ins, outs = interface.layout(interface.Mode.TRAIN_FORWARD, t, b, samples=2)
    assert len(outs) == 2 * len(t)
    ins, _ = interface.layout(interface.Mode.LOAD_WEIGHTS, t, b, samples=0)
    assert sum(s.count for s in ins) == sum(int(q.arrays["weight"].size + q.arrays["bias"].size)
                                           for q in small_q.layers if "weight" in q.arrays)


# ---- the flow ----------------------------------------------------------------------------------------------
def env_with(standins: tuple[str, ...] = ("vitis_hls", "vivado"), tmp: Path | None = None, **extra) -> dict:
    """PATH with only the chosen stand-ins (and no real vendor tool) before the system's own folders."""
    env = dict(os.environ)
    path = [p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "vivado").exists()
            and not (Path(p) / "vitis_hls").exists()]
    if standins:
        d = tmp / "bin"
        d.mkdir(exist_ok=True)
        for tool in standins:
            shutil.copy(STANDINS / tool, d / tool)
        env["HILT_FAKE_DIR"] = str(STANDINS.parent)
        path.insert(0, str(d))
    env["PATH"] = os.pathsep.join(path)
    env["HILT_FAKE_PYTHON"] = sys.executable
    env.update({k: str(v) for k, v in extra.items()})
    return env


def make_bitstream(out: Path, env: dict, model="lenet5", board="zcu104", freq=300, args="--calib 32", engine="auto"):
    cmd = ["make", "-s", "-C", str(ROOT), "-o", ".venv/.installed-base", "bitstream", f"MODEL={model}",
           f"BOARD={board}", f"FREQ={freq}", f"OUT={out}", f"BUILD_ARGS={args}", f"ENGINE={engine}",
           f"BIN={Path(sys.executable).parent}"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def hilt(args: list[str], env: dict):
    return subprocess.run([sys.executable, "-m", "hilt", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def calls(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_make_bitstream_end_to_end(tmp_path):
    log = tmp_path / "calls.txt"
    env = env_with(tmp=tmp_path, HILT_FAKE_CALLS=log, HILT_FAKE_WNS=0.25)
    r = make_bitstream(tmp_path / "out", env)
    assert r.returncode == 0, r.stdout + r.stderr
    build = tmp_path / "out" / "lenet5_zcu104_300MHz"
    overlay = build / "overlay"
    assert sorted(p.name for p in overlay.iterdir()) == ["lenet5.bit", "lenet5.hwh", "lenet5.qmodel.npz",
                                                         "manifest.json"]
    assert [c.split()[0] for c in calls(log)] == ["vitis_hls", "vivado"]
    man = json.loads((overlay / "manifest.json").read_text())
    # the overlay contract
    for key in ("name", "kind", "board", "family", "part", "freq_mhz", "f_safe_mhz", "timing_closed", "wns_ns",
                "bitstream", "hwh", "qmodel", "interface", "ips", "clock", "taps", "weight_blocks", "backward",
                "cycles_per_sample", "plan", "hashes"):
        assert key in man, key
    assert (man["kind"], man["board"], man["family"], man["freq_mhz"]) == ("streaming", "zcu104", "zynqmp", 300.0)
    assert man["timing_closed"] is True and man["wns_ns"] == 0.25
    assert man["f_safe_mhz"] == pytest.approx(1000.0 / (1000.0 / 300 - 0.25), abs=0.1)
    assert man["interface"]["stream"]["beat_bits"] == 128
    assert {v["name"] for v in man["ips"].values()} == {"hilt_accel", "axi_dma", "clk_wiz", "axi_gpio_reset"}
    assert man["ips"]["accel"]["base"] == 0xA0000000
    assert man["ips"]["reset_gpio"]["active_high"] is True  # C_AUX_RESET_HIGH = 1: the driver pulses the bit high
    assert man["clock"] == {"wizard": "clk_wiz", "input_mhz": 100.0, "output": "clk_out1"}
    assert man["taps"][0]["name"] == "input" and man["taps"][-1]["count"] == 10
    assert man["cycles_per_sample"] > 0 and man["plan"]["source"] == "dse"
    from hilt.plan import HardwarePlan

    plan = HardwarePlan.from_json({k: v for k, v in man["plan"].items() if k != "source"})
    assert (plan.target, plan.mode, plan.board, plan.freq_mhz) == ("hls", "train", "zcu104", 300.0)
    params = (build / "hls" / "lenet5_params.h").read_text()  # the project renders the manifest's plan
    for lp in plan.layers:
        if (u := lp.unit("fwd")):
            struct = rf"struct {lp.name}_p {{[^}}]*?\bPE = {u.pe};[^}}]*?\bSIMD = {u.simd};"
            assert re.search(struct, params, re.S), lp.name
    assert set(man["hashes"]) == {"quantize", "hls", "vivado"}
    # logs of each vendor run kept
    logs = build / "logs"
    assert {p.name for p in logs.iterdir()} == {"vitis_hls-1.log", "vitis_hls.log", "vivado-1.log", "vivado.log"}
    assert "create_bd_cell" in (logs / "vivado.log").read_text()

    # nothing changed: no vendor run, same overlay
    r = make_bitstream(tmp_path / "out", env)
    assert r.returncode == 0, r.stderr
    assert len(calls(log)) == 2
    assert "[hls] up to date" in r.stdout and "[vivado] up to date" in r.stdout

    # only the Vivado side changes (implementation jobs): HLS skipped, Vivado rerun, its earlier log kept
    r = make_bitstream(tmp_path / "out", env, args="--calib 32 --jobs 2")
    assert r.returncode == 0, r.stderr
    assert [c.split()[0] for c in calls(log)] == ["vitis_hls", "vivado", "vivado"]
    assert (logs / "vivado-2.log").is_file() and (logs / "vivado-1.log").is_file()

    # overclocked on purpose: negative WNS is reported plainly, the overlay is still written, marked
    env["HILT_FAKE_WNS"] = "-0.731"
    r = make_bitstream(tmp_path / "out", env, args="--calib 32 --jobs 3")
    assert r.returncode == 0, r.stderr
    assert "NOT met at 300 MHz: WNS -0.731 ns" in r.stdout
    man = json.loads((overlay / "manifest.json").read_text())
    assert man["timing_closed"] is False and man["wns_ns"] == -0.731
    assert man["f_safe_mhz"] == pytest.approx(1000.0 / (1000.0 / 300 + 0.731), abs=0.1) and man["f_safe_mhz"] < 300


def test_frequency_change_reruns_both_vendor_stages(tmp_path):
    log = tmp_path / "calls.txt"
    env = env_with(tmp=tmp_path, HILT_FAKE_CALLS=log)
    out = tmp_path / "b"
    for freq in ("150", "150", "175"):
        r = hilt(["build", "lenet5", "--board", "pynq-z2", "--freq", freq, "-o", str(out), "--calib", "32", "-q"], env)
        assert r.returncode == 0, r.stderr
    assert [c.split()[0] for c in calls(log)] == ["vitis_hls", "vivado", "vitis_hls", "vivado"]
    assert "period 5.714" in (out / "vivado" / "timing.xdc").read_text()
    man = json.loads((out / "overlay" / "manifest.json").read_text())
    assert man["family"] == "zynq7" and man["interface"]["stream"]["beat_bits"] == 64
    assert man["ips"]["accel"]["base"] == 0x40000000


def test_without_vendor_tools_one_line_and_exit_2(tmp_path):
    env = env_with((), tmp=tmp_path)
    r = make_bitstream(tmp_path / "out", env, board="pynq-z2", freq=200)
    assert r.returncode == 2
    errors = [l for l in r.stderr.splitlines() if l.startswith("hilt: error:")]
    assert len(errors) == 1 and "Traceback" not in r.stderr
    hls = tmp_path / "out" / "lenet5_pynq-z2_200MHz" / "hls"
    assert "vitis_hls not found" in errors[0] and "Vitis_HLS/2022.1/settings64.sh" in errors[0]
    assert str(hls) in errors[0] and (hls / "csynth.tcl").is_file()
    assert (hls.parent / "vivado" / "overlay.tcl").is_file()  # every step it can do is done


def test_vivado_missing_names_vivado_and_its_folder(tmp_path):
    env = env_with(("vitis_hls",), tmp=tmp_path)
    out = tmp_path / "b"
    r = hilt(["build", "lenet5", "--board", "zcu104", "--freq", "250", "-o", str(out), "--calib", "32", "-q"], env)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "vivado not found" in r.stderr and "Vivado/2022.1/settings64.sh" in r.stderr
    assert str(out / "vivado") in r.stderr


def test_dry_run_stops_before_the_vendor_tools(tmp_path):
    log = tmp_path / "calls.txt"
    env = env_with(tmp=tmp_path, HILT_FAKE_CALLS=log)
    r = hilt(["build", "lenet5", "--board", "kv260", "--freq", "250", "-o", str(tmp_path / "b"), "--calib", "32",
              "--dry-run"], env)
    assert r.returncode == 0, r.stderr
    assert "[dry run] stopping before `vitis_hls -f csynth.tcl`" in r.stdout
    assert calls(log) == [] and (tmp_path / "b" / "vivado" / "overlay.tcl").is_file()


@pytest.mark.parametrize("model,board", [("cifar10", "pynq-z2"), ("alexnet", "zcu104")])
def test_board_too_small_refused_before_anything(tmp_path, model, board):
    """ENGINE=streaming: no fallback to the layer-sequential engine (tests/test_build_engine.py)."""
    r = make_bitstream(tmp_path / "out", env_with(tmp=tmp_path), model=model, board=board, freq=200,
                       engine="streaming")
    assert r.returncode == 2
    assert f"hilt: error: {model} does not fit" in r.stderr and "even fully folded" in r.stderr
    assert not (tmp_path / "out").exists()


def test_bad_clock_refused(tmp_path):
    r = hilt(["build", "lenet5", "--board", "pynq-z2", "--freq", "900", "-o", str(tmp_path / "b")], env_with(()))
    assert r.returncode == 2 and "--freq 900" in r.stderr and not (tmp_path / "b").exists()


@pytest.mark.heavy
@pytest.mark.parametrize("model", ["lenet5", "svhn", "cifar10", "alexnet"])
@pytest.mark.parametrize("board", ["pynq-z1", "pynq-z2", "zc706", "zynq7100", "ultra96v2", "kv260", "zcu104"])
def test_every_zoo_model_and_board_without_tools(tmp_path, model, board):
    """Without vendor tools each combination ends with exit 2: the missing vitis_hls when the model fits the
    board, the DSE's reason when it does not."""
    r = make_bitstream(tmp_path / "out", env_with((), tmp=tmp_path), model=model, board=board, freq=200, args="")
    assert r.returncode == 2
    (line,) = [l for l in r.stderr.splitlines() if l.startswith("hilt: error:")]
    assert "vitis_hls not found" in line or "does not fit" in line


@pytest.mark.heavy
def test_csim_before_the_vendor_tools(tmp_path):
    r = hilt(["build", "lenet5", "--board", "zcu104", "--freq", "200", "-o", str(tmp_path / "b"), "--calib", "32",
              "--csim", "--dry-run"], env_with(()))
    assert r.returncode == 0, r.stderr
    assert "every tap, error and gradient equals the golden model" in r.stdout


def test_plan_from_dse_report_and_from_bare_folding(tmp_path, lenet5_net):
    from hilt.build.plan import make_plan
    from hilt.dse.boards import load_board
    from hilt.plan import HLS, MODEL, Folding
    from hilt.plan import make_plan as hardware_plan

    board = load_board("zcu104")
    chosen = make_plan(lenet5_net, board, 200.0, 8, 0.8)
    assert chosen.mode == "train" and chosen.plan["source"] == "dse"
    assert chosen.plan["target"] == "hls" and chosen.hardware.unbuilt(HLS) == []  # what the HLS code builds
    folding = {k: {"pe": f.pe, "simd": f.simd} for k, f in chosen.folding.items()}
    report = {"chosen": {"folding": folding, "ii_cycles": chosen.cycles_per_sample,
                         "latency_cycles": chosen.latency_cycles, "plan": chosen.hardware.to_json()}}
    (tmp_path / "dse.json").write_text(json.dumps(report))  # a `hilt dse --json` report carries its chosen plan
    again = make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "dse.json"))
    assert again.folding == chosen.folding and again.cycles_per_sample == chosen.cycles_per_sample
    assert again.hardware == chosen.hardware
    # an overlay's manifest gives back the plan it was built from
    (tmp_path / "manifest.json").write_text(json.dumps({"f_safe_mhz": 250.0, "plan": chosen.plan}))
    rebuilt = make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "manifest.json"))
    assert rebuilt.hardware == chosen.hardware and rebuilt.cycles_per_sample == chosen.cycles_per_sample
    # forward folding alone: every other unit 1 x 1, and the cycles are the model's for that plan
    (tmp_path / "fwd.json").write_text(json.dumps({"chosen": {"folding": folding}}))
    fwd = make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "fwd.json"))
    assert fwd.folding == chosen.folding and fwd.cycles_per_sample >= chosen.cycles_per_sample
    assert all((u.pe, u.simd) == (1, 1) for lp in fwd.hardware.layers for u in lp.units
               if u.kind != "fwd" and u.storage != "tied")
    (tmp_path / "bare.json").write_text(json.dumps({"conv1": {"pe": 2, "simd": 5}}))
    bare = make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "bare.json"))
    assert bare.folding["conv1"].pe == 2 and bare.folding["conv1"].simd == 5
    assert bare.cycles_per_sample >= 24 * 24 * (6 // 2) * (25 // 5)  # conv1's 576 pixels at 15 cycles each
    (tmp_path / "bad.json").write_text(json.dumps({"conv1": {"pe": 4, "simd": 1}}))  # 4 does not divide 6
    with pytest.raises(HiltError):
        make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "bad.json"))
    # a plan the generated HLS does not build stops at the plan stage: a model-target plan (pixel beats),
    # and an HLS plan with two values per cycle into conv2 (only the first conv's generator takes them)
    wide = hardware_plan(lenet5_net, {("conv1", "fwd"): Folding(1, 1, 2)}, target=MODEL, mode="train")
    (tmp_path / "model.json").write_text(json.dumps(wide.to_json()))
    with pytest.raises(HiltError, match="does not build: model plans stream pixels"):
        make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "model.json"))
    late = hardware_plan(lenet5_net, {("conv2", "fwd"): Folding(1, 1, 2)}, target=HLS, mode="train")
    (tmp_path / "late.json").write_text(json.dumps(late.to_json()))
    with pytest.raises(HiltError, match="does not build: conv2.fwd: ppc=2"):
        make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "late.json"))
    first = hardware_plan(lenet5_net, {("conv1", "fwd"): Folding(1, 1, 2)}, target=HLS, mode="train")
    (tmp_path / "first.json").write_text(json.dumps(first.to_json()))
    assert make_plan(lenet5_net, board, 200.0, 8, 0.8, str(tmp_path / "first.json")).hardware.layer(
        "conv1").unit("fwd").ppc == 2


def test_virtual_chip_takes_f_safe_from_the_overlay(tmp_path):
    from hilt.cli import build_parser

    man = tmp_path / "manifest.json"
    man.write_text(json.dumps({"f_safe_mhz": 246.062, "timing_closed": False}))
    args = build_parser().parse_args(["sweep", "lenet5", "--f-safe", str(man)])
    from hilt.commands.chip import chip_from_args

    assert chip_from_args(args).f_safe_mhz == 246.062
    r = hilt(["sweep", "lenet5", "--f-safe", str(tmp_path / "none.json")], env_with(()))
    assert r.returncode == 2 and "no such overlay manifest" in r.stderr and "Traceback" not in r.stderr


def test_qmodel_file_rebuilds_the_model_without_onnx(tmp_path, small_q):
    """The compact file gives a QModel whose golden forward equals the original's, in a process without onnx."""
    from hilt import golden

    path = tmp_path / "m.qmodel.npz"
    small_q.save(path, floats=False)
    x = golden.quantize_input(small_q, np.random.default_rng(1).normal(size=(4, 1, 28, 28)).astype(np.float32))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "want.npy", golden.run(small_q, x)[-1])
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None\n"
            "import numpy as np\n"
            "from hilt import golden\n"
            "from hilt.quant import QModel\n"
            f"q = QModel.load({str(path)!r})\n"
            f"got = golden.run(q, np.load({str(tmp_path / 'x.npy')!r}))[-1]\n"
            f"print(bool(np.array_equal(got, np.load({str(tmp_path / 'want.npy')!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr
