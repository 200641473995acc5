"""`hilt build` with the layer-sequential engine: AlexNet, which the streaming pipeline cannot fit on a ZCU104,
becomes the engine's project and a block design whose AXI4 masters reach DDR through the PS's HP ports, with
no DMA; the scaled AlexNet goes through the stand-in vendor tools to an overlay a driver can load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from test_build import calls, env_with, hilt, make_bitstream

sys.path.insert(0, str(Path(__file__).resolve().parent / "tcl"))

from catalog import IPS, hls_ip  # noqa: E402
from checks import check_addresses, check_catalog, properties  # noqa: E402
from recorder import Interpreter  # noqa: E402

from hilt.build import blockdesign, kinds  # noqa: E402
from hilt.build.engine_kind import master_bundles, register_map  # noqa: E402
from hilt.dse.boards import load_board  # noqa: E402
from hilt.dse.sequential import EngineConfig  # noqa: E402


def check_engine_block_design(build: Path, board_key: str) -> None:
    """The recorded overlay.tcl: catalog names only, the engine's every m_axi bundle on the data SmartConnect
    whose one master is the PS's HP port, each mapped onto DDR, no DMA."""
    program = json.loads((build / "hls" / "program.json").read_text())
    cfg = EngineConfig(**program["config"])
    kind = kinds.for_plan(kinds.get("sequential"), cfg)
    board = load_board(board_key)
    fam = blockdesign.FAMILIES[board.ps]
    interp = Interpreter("vivado", effects=True)
    rec = interp.source(build / "vivado" / "overlay.tcl")
    (accel,) = [c for c in rec.named("create_bd_cell") if c.args[-1] == "hilt_accel"]
    vlnv = accel.args[accel.args.index("-vlnv") + 1]
    assert vlnv == f"hilt:hilt:{program['name']}:1.0"  # the IP the engine's csynth.tcl exports
    assert f"-ipname {program['name']}" in (build / "hls" / "csynth.tcl").read_text()
    assert check_catalog(rec, interp.tcl, {**IPS, vlnv: hls_ip(program["name"], kind)}) == []
    assert "axi_dma" not in interp.cells
    masters = master_bundles(cfg.wports)
    assert kind.masters == masters and len(masters) == cfg.wports + 2
    # dealt round robin over the HP ports, one SmartConnect each: each weight master (listed first) alone on
    # its port, as the engine's DSE counts a full port's width per weight master
    ports = min(4, len(masters))
    intf = [set(c.args) for c in rec.named("connect_bd_intf_net")]
    spaces = {c.args[c.args.index("-target_address_space") + 1]: c.args[-2] for c in rec.named("assign_bd_address")}
    props = properties(rec, interp.tcl)
    clock_net = [set(c.args) for c in rec.named("connect_bd_net") if "clk_wiz/clk_out1" in c.args][0]
    for p in range(ports):
        sc = "data_smc" if p == 0 else f"data_smc{p}"
        slave, clk, seg = fam.hp(p)
        mine = masters[p::ports]
        assert props[sc]["CONFIG.NUM_SI"] == str(len(mine))
        assert {f"{sc}/M00_AXI", f"zynq_ps/{slave}"} in intf
        assert {f"zynq_ps/{clk}", f"{sc}/aclk"} <= clock_net
        for i, m in enumerate(mine):
            assert {f"hilt_accel/{m}", f"{sc}/S{i:02d}_AXI"} in intf, m
            assert spaces[f"hilt_accel/Data_{m}"] == f"zynq_ps/{seg}"
    weights = ["m_axi_gmem1", *[f"m_axi_gmem{i + 2}" for i in range(1, cfg.wports)]]
    assert masters[:cfg.wports] == tuple(weights) and cfg.wports <= ports
    for i in range(1, 4):
        assert (props["zynq_ps"].get(f"CONFIG.PSU__USE__S_AXI_GP{i + 2}") == "1") == (i < ports)
    assert check_addresses(rec, (fam.control_base, fam.control_base + 0x10000000)) == []
    # the engine's top declares exactly these bundles
    top = (build / "hls" / f"{program['name']}_top.cpp").read_text()
    declared = {f"m_axi_{w.split('=')[1]}" for w in top.split() if w.startswith("bundle=gmem")}
    assert declared == set(masters)


def test_alexnet_builds_the_engine_and_make_names_the_missing_tool(tmp_path):
    out = tmp_path / "out"
    r = make_bitstream(out, env_with((), tmp=tmp_path), model="alexnet", board="zcu104", freq=300, args="")
    assert r.returncode == 2, r.stdout + r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith("hilt: error:")]
    assert len(errors) == 1 and "Traceback" not in r.stderr and "vitis_hls not found" in errors[0]
    assert "building the layer-sequential engine" in r.stdout and "(sequential, infer)" in r.stdout
    build = out / "alexnet_zcu104_300MHz"
    program = json.loads((build / "hls" / "program.json").read_text())
    assert program["engine"] == "sequential" and program["board"] == "ZCU104" and program["freq_mhz"] == 300
    assert (build / "hls" / "ddr.bin").stat().st_size == program["activations"][0]
    check_engine_block_design(build, "zcu104")

    # the headline command as written, on the same folder: the plan and quantization are reused
    r = hilt(["build", "alexnet", "--board", "zcu104", "--freq", "300", "--dry-run", "-o", str(build)],
             env_with((), tmp=tmp_path))
    assert r.returncode == 0, r.stderr
    assert "[quantize] " in r.stdout and "up to date" in r.stdout and "[generate]" in r.stdout
    assert "[dry run] stopping before `vitis_hls -f csynth.tcl`" in r.stdout

    # forcing the streaming pipeline gives the DSE's reason, before anything is written
    r = hilt(["build", "alexnet", "--board", "zcu104", "--freq", "300", "--engine", "streaming", "-o",
              str(tmp_path / "s")], env_with((), tmp=tmp_path))
    assert r.returncode == 2 and "alexnet does not fit" in r.stderr and not (tmp_path / "s").exists()


def test_engine_refuses_a_board_it_does_not_fit_in_one_line(tmp_path):
    r = hilt(["build", "lenet5", "--board", "zcu104", "--freq", "300", "--engine", "sequential", "--cap", "0.001",
              "-o", str(tmp_path / "b")], env_with((), tmp=tmp_path))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "even as the layer-sequential engine" in r.stderr and not (tmp_path / "b").exists()
    r = hilt(["build", "lenet5", "--engine", "sequential", "--csim", "-o", str(tmp_path / "c")], env_with(()))
    assert r.returncode == 2 and "drop --csim" in r.stderr and not (tmp_path / "c").exists()


def test_scaled_alexnet_engine_through_the_stand_in_tools(tmp_path):
    from hilt.engine.nets import scaled_alexnet
    from hilt.engine.program import build as build_program
    from hilt.quant import quantize

    net = scaled_alexnet()
    x = np.random.default_rng(0).uniform(0, 1, (4, *net.input_shape)).astype(np.float32)
    q = quantize(net, x)
    model = tmp_path / "alexnet_s.npz"
    q.save(model)
    log = tmp_path / "calls.txt"
    env = env_with(tmp=tmp_path, HILT_FAKE_CALLS=log, HILT_FAKE_WNS=0.1)
    out = tmp_path / "b"
    r = hilt(["build", str(model), "--engine", "sequential", "--board", "zcu104", "--freq", "300", "-o", str(out)],
             env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [c.split()[0] for c in calls(log)] == ["vitis_hls", "vivado"]
    overlay = out / "overlay"
    assert sorted(p.name for p in overlay.iterdir()) == ["alexnet_s.bit", "alexnet_s.hwh", "alexnet_s.qmodel.npz",
                                                         "ddr.bin", "manifest.json", "program.json"]
    man = json.loads((overlay / "manifest.json").read_text())
    assert man["kind"] == "sequential" and man["timing_closed"] is True and man["wns_ns"] == 0.1
    assert set(man["ips"]) == {"accel", "clk_wiz", "reset_gpio"}  # no DMA
    cfg = EngineConfig(**man["engine"]["config"])
    assert man["plan"]["config"] == cfg.to_json() and man["plan"]["source"] == "dse"
    regs = man["interface"]["control"]["registers"]
    assert regs == register_map(cfg.wports)["registers"]
    assert (regs["ctrl"], regs["act_in"], regs["params"]) == (0x00, 0x10, 0x1C) and regs["count"] > regs["descs"]
    eng = man["engine"]
    assert eng["ddr_image"] == "ddr.bin" and eng["masters"] == list(master_bundles(cfg.wports))
    # the overlay's image is the program of the manifest's configuration for the model it carries
    prog = build_program(q, cfg, fuse_relu=True)
    image = np.fromfile(overlay / "ddr.bin", np.uint8)
    assert np.array_equal(image, prog.image[: prog.act_region.offset])
    assert eng["count"] == len(prog.steps) and eng["input"] == [prog.input.offset, prog.input.size]
    from hilt.dse.sequential import performance

    assert man["cycles_per_sample"] == performance(net, load_board("zcu104"), 300, cfg)["cycles"]
    check_engine_block_design(out, "zcu104")
