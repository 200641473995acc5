"""The command line: every sub-command end to end, and the exit-code-2 contract for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hilt.cli import main


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


COMMANDS = ("info", "infer", "zoo", "train", "quantize", "eval", "dse", "sweep", "finetune", "faults", "profile",
            "compile", "csim")


def test_help_lists_every_command(capsys):
    """Every command is a registered sub-command (not a word that happens to be in the description), each
    has a one-line help in the listing and its own --help."""
    import argparse

    from hilt.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(COMMANDS) <= set(sub.choices)
    helps = {a.dest: a.help for a in sub._choices_actions}
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert helps[command] and f"{command}  " in out and helps[command][:30] in out, command
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0 and f"usage: hilt {command}" in capsys.readouterr().out


def test_zoo_list_and_export(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "zoo", "list")
    assert code == 0 and "lenet5" in out and "alexnet" in out
    path = tmp_path / "lenet5.onnx"
    code, _, _ = run_cli(capsys, "zoo", "export", "lenet5", "-o", path)
    assert code == 0
    import onnx

    onnx.checker.check_model(onnx.load(str(path)))


def test_info_lenet5_table_and_json(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "info", "lenet5", "--json", tmp_path / "info.json")
    assert code == 0
    assert "conv" in out and "6x24x24" in out and "44,426" in out
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["params"] == 44426
    assert [l["op"] for l in info["layers"]][:3] == ["conv", "relu", "maxpool"]


def test_info_alexnet_pipecnn_table(capsys):
    code, out, _ = run_cli(capsys, "info", "alexnet")
    assert code == 0
    for shape in ("3x227x227", "96x55x55", "96x27x27", "256x27x27", "256x13x13", "384x13x13", "256x6x6",
                  "9216", "4096", "1000"):
        assert shape in out
    assert "60,965,224" in out and "lrn" in out


def test_infer_float_and_golden(capsys, tmp_path, mnist_splits):
    x = mnist_splits[1].x[:8]
    np.save(tmp_path / "x.npy", x)
    code, _, _ = run_cli(capsys, "infer", "lenet5", "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert code == 0
    y = np.load(tmp_path / "y.npy")
    from hilt import golden, reference
    from hilt.loading import load_network
    from hilt.quant import quantize

    net = load_network("lenet5")
    assert y.dtype == np.float32 and np.allclose(y, reference.forward(net, x), rtol=1e-5, atol=1e-6)
    code, _, _ = run_cli(capsys, "infer", "lenet5", "--input", tmp_path / "x.npy", "--output", tmp_path / "q.npy",
                         "--backend", "golden", "--int")
    assert code == 0
    q = np.load(tmp_path / "q.npy")
    # infer calibrates on its input batch: the same integers as the golden model calibrated on it
    assert np.issubdtype(q.dtype, np.integer) and np.array_equal(q, golden.forward(quantize(net, x), x))


def test_train_quantize_eval_round_trip(capsys, tmp_path):
    model = tmp_path / "lenet5.onnx"
    run_cli(capsys, "zoo", "export", "lenet5", "-o", model)
    code, out, _ = run_cli(capsys, "train", model, "-o", tmp_path / "t.onnx", "--epochs", 1, "--quiet",
                           "--metrics", tmp_path / "m.json")
    assert code == 0, out
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["history"][0]["val_accuracy"] > 0.8
    code, out, _ = run_cli(capsys, "quantize", tmp_path / "t.onnx", "-o", tmp_path / "t.q")
    assert code == 0 and (tmp_path / "t.q").exists()
    code, out, _ = run_cli(capsys, "eval", tmp_path / "t.onnx", "--json", tmp_path / "e.json")
    assert code == 0
    acc = json.loads((tmp_path / "e.json").read_text())["accuracy"]
    assert acc["float"] > 0.8 and abs(acc["golden_int8"] - acc["float"]) < 0.05


@pytest.mark.parametrize("argv, culprit", [
    (["info", "{missing}"], "no such ONNX file"),
    (["info", "{garbage}"], "{garbage}"),
    (["zoo", "export", "resnet50", "-o", "{out}"], "resnet50"),
    (["infer", "lenet5", "--input", "{missing}", "--output", "{out}"], "{missing}"),
    (["train", "lenet5", "-o", "{out}", "--data", "{missing}"], "{missing}"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(capsys, tmp_path, argv, culprit):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x01this is not a protobuf" * 3)
    names = {"missing": tmp_path / "missing.onnx", "garbage": garbage, "out": tmp_path / "out.onnx"}
    argv = [a.format(**names) for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hilt: error:")
    assert culprit.format(**names) in lines[0]
    assert not (tmp_path / "out.onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["garbage.onnx"]


def test_console_script_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00" * 17)
    proc = subprocess.run([sys.executable, "-m", "hilt", "info", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
