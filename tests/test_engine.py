"""The layer-sequential engine: g++ C simulation of hw/hls/hilt/engine.h == golden model, every layer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hilt import golden, zoo
from hilt.dse.sequential import EngineConfig, plan
from hilt.engine import build, pack_weights, run_csim, write_params, write_project
from hilt.engine.nets import SCALED_ALEXNET, scaled_alexnet
from hilt.errors import HiltError
from hilt.quant import quantize
from hilt.zoo import from_spec

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")

SMALL = EngineConfig(vec=4, lane=8, tile_bytes=4096, obuf_pix=256, wbuf_vecs=512)  # several bands per layer
WIDE = EngineConfig(vec=16, lane=32, wports=4)  # wider than most layers (padding); weights over four masters


def _quantized(net, n=8, seed=0):
    x = np.random.default_rng(seed).normal(0.0, 1.0, (n,) + tuple(net.input_shape)).astype(np.float32)
    return quantize(net, x), x


def _check(q, x, tmp_path, cfg, fuse_relu):
    xi = golden.quantize_input(q, x)
    ref = golden.run_int64(q, xi)
    write_project(q, tmp_path / "eng", cfg, fuse_relu=fuse_relu)
    taps = run_csim(tmp_path / "eng", xi)
    assert len(taps) == len(ref)
    stored = 0
    for i, (a, b) in enumerate(zip(taps, ref)):
        if a is None:
            assert fuse_relu and q.network.layers[i].op == "relu"  # only a conv's own output before a fused ReLU
            continue
        assert a.shape == b.shape and np.array_equal(a, b), f"activation {i} differs"
        stored += 1
    return stored


@pytest.mark.parametrize("fuse_relu", [False, True])
def test_lenet5_every_layer_bit_exact(tmp_path, fuse_relu):
    q, x = _quantized(zoo.network("lenet5"))
    stored = _check(q, x[:4], tmp_path, EngineConfig(vec=4, lane=8), fuse_relu)
    assert stored == (len(q.network.layers) + 1 if not fuse_relu else len(q.network.layers) + 1 - 4)


@pytest.mark.parametrize("cfg", [SMALL, WIDE], ids=["banded", "wide"])
def test_scaled_alexnet_every_layer_bit_exact(tmp_path, cfg):
    q, x = _quantized(scaled_alexnet())
    steps = plan(q.network, cfg, fuse_relu=False)
    assert {s.op for s in steps} == {"conv", "maxpool", "lrn"}
    assert _check(q, x[:2], tmp_path, cfg, fuse_relu=False) == len(q.network.layers) + 1


def test_scaled_alexnet_strong_lrn_fused(tmp_path):
    """LRN that really scales (alpha 2): the table index spans many bins."""
    shape, spec = SCALED_ALEXNET
    spec = [(n, op, (5, 2.0, 0.75, 1.0) if op == "lrn" else a) for n, op, a in spec]
    q, x = _quantized(from_spec("alexnet_lrn", shape, spec, seed=3), seed=3)
    xi = golden.quantize_input(q, x)
    taps = golden.run_int64(q, xi)
    norm = next(i for i, l in enumerate(q.network.layers) if l.op == "lrn")
    assert not np.array_equal(taps[norm], taps[norm + 1])  # the LRN changes values
    _check(q, x[:2], tmp_path, SMALL, fuse_relu=True)


def test_weight_packing_order():
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (10, 3, 2, 2))  # 2 groups of 5 outputs, 3 inputs each
    vec, lane, groups = 2, 4, 2
    p = pack_weights(w, groups, vec, lane).reshape(groups, 2, 2 * 2 * 2, lane, vec)  # g, block, kv, lane, vec
    for g in range(groups):
        for o in range(5):
            for c in range(4):
                for i in range(2):
                    for j in range(2):
                        k = ((c // vec) * 2 + i) * 2 + j
                        expect = w[g * 5 + o, c, i, j] if c < 3 else 0
                        assert p[g, o // lane, k, o % lane, c % vec] == expect
    assert not p[:, 1, :, 1:].any()  # lanes past a group's 5 outputs are zero
    halves = pack_weights(w, groups, vec, lane, parts=2).reshape(groups, 2, 2, 8, lane // 2, vec)
    assert np.array_equal(halves[:, :, 1], p[:, :, :, 2:])  # the second master reads lanes 2-3 of each block


def test_reload_rewrites_only_parameters(tmp_path):
    q, x = _quantized(zoo.network("lenet5"))
    prog = build(q, EngineConfig())
    image = prog.image.copy()
    q2 = q.requantize_weights({n: {k: v * 0.5 for k, v in p.items()} for n, p in q.network.get_params().items()})
    write_params(prog, q2, image)
    changed = np.flatnonzero(image != prog.image)
    assert changed.size and changed.min() >= prog.param_region.offset
    assert changed.max() < prog.param_region.offset + prog.param_region.size


def test_limits_are_refused():
    q, _ = _quantized(zoo.network("lenet5"))
    with pytest.raises(HiltError, match="tile"):
        build(q, EngineConfig(tile_bytes=64))
    q16 = quantize(zoo.network("lenet5"), np.zeros((2, 1, 28, 28), np.float32), bits=16)
    with pytest.raises(HiltError, match="int8"):
        build(q16)


@pytest.mark.heavy
def test_alexnet_one_image_bit_exact(tmp_path):
    net = zoo.network("alexnet")
    q, x = _quantized(net, n=2)
    _check(q, x[:1], tmp_path, EngineConfig(vec=8, lane=32, tile_bytes=131072, wbuf_vecs=1024), fuse_relu=False)


@pytest.mark.parametrize("net, cfg, fuse_relu", [
    ("lenet5", EngineConfig(vec=4, lane=8, wports=2), True),
    pytest.param("scaled", SMALL, False, marks=pytest.mark.heavy),
    pytest.param("scaled", EngineConfig(vec=8, lane=16), True, marks=pytest.mark.heavy),
], ids=["lenet5", "scaled-banded", "scaled-wide"])
def test_bounded_concurrent_fifos(tmp_path, net, cfg, fuse_relu):
    """Every process concurrent over FIFOs bounded at their declared depths (the library's bounded C-sim):
    the same integers as the golden model, no deadlock."""
    q, x = _quantized(zoo.network("lenet5") if net == "lenet5" else scaled_alexnet())
    xi = golden.quantize_input(q, x[:1])
    ref = golden.run_int64(q, xi)
    project = tmp_path / "eng"
    m = write_project(q, project, cfg, fuse_relu=fuse_relu)
    binary = tmp_path / "bounded"
    # the library's own bounded C-sim (hw/hls/hilt/dataflow.h): concurrent processes, deadlocks reported
    subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", "-Werror", "-pthread", f"-I{project}",
                    f"-I{project / 'include'}", str(project / "tb.cpp"),
                    str(project / f"{m['name']}_top.cpp"), "-o", str(binary)], check=True)
    taps = run_csim(project, xi, binary=binary)
    assert all(np.array_equal(a, b) for a, b in zip(taps, ref) if a is not None)
