"""The one quantized-model file (hilt.quant.qfile): `hilt quantize`, the build cache and the overlay folder."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hilt import golden
from hilt.errors import HiltError
from hilt.quant import QModel, qfile


@pytest.fixture(scope="module")
def q(lenet5_net):
    from hilt.quant import quantize

    x = np.random.default_rng(0).normal(size=(16, *lenet5_net.input_shape)).astype(np.float32)
    return quantize(lenet5_net, x, bits=8)


def _same_model(a: QModel, b: QModel) -> None:
    assert (a.bits, a.err_out_fmt, a.network.name, a.network.input_name, a.network.input_shape,
            a.network.output_name) == (b.bits, b.err_out_fmt, b.network.name, b.network.input_name,
                                       b.network.input_shape, b.network.output_name)
    for x, y in zip(a.layers, b.layers):
        assert x.header() == y.header() and sorted(x.arrays) == sorted(y.arrays)
        assert all(np.array_equal(x.arrays[k], y.arrays[k]) for k in x.arrays)
    for x, y in zip(a.network.layers, b.network.layers):
        assert (x.name, x.op, x.in_shape, x.out_shape, x.attrs, x.onnx_nodes) == \
            (y.name, y.op, y.in_shape, y.out_shape, y.attrs, y.onnx_nodes)


def test_full_file_round_trips_the_network_as_the_onnx_copy_did(q, tmp_path):
    from hilt.frontend import to_onnx

    q.save(tmp_path / "q.npz")
    again = QModel.load(tmp_path / "q.npz")
    _same_model(q, again)
    for x, y in zip(q.network.layers, again.network.layers):
        assert sorted(x.params) == sorted(y.params)
        assert all(np.array_equal(x.params[k], y.params[k]) for k in x.params)  # the float master weights
    # what the ONNX copy of version 1 gave: the same exported graph, initializer names included (gradients)
    assert to_onnx(again.network).SerializeToString() == to_onnx(q.network).SerializeToString()
    assert qfile.file_format(tmp_path / "q.npz") == {"format": "hilt.qmodel", "version": 2, "floats": True}


def test_compact_file_has_no_floats_and_its_weights_requantize_to_the_same_integers(q, tmp_path):
    q.save(tmp_path / "c.npz", floats=False)
    with np.load(tmp_path / "c.npz") as z:
        assert not [k for k in z.files if k.startswith("float/")]
    again = QModel.load(tmp_path / "c.npz")
    _same_model(q, again)
    for ql, layer in again.pairs():
        if layer.weighted:
            assert np.array_equal(ql.w_fmt.to_int(layer.params["weight"]), ql.arrays["weight"])
    x = np.random.default_rng(1).normal(size=(8, 1, 28, 28)).astype(np.float32)
    assert np.array_equal(golden.forward(again, x), golden.forward(q, x))
    assert qfile.file_format(tmp_path / "c.npz")["floats"] is False


def _legacy_v1_files(q, tmp_path):
    """The two version-1 layouts as they were written: `hilt quantize`'s archive and the build flow's compact one."""
    from hilt.frontend import to_onnx

    net = q.network
    plain = lambda v: [plain(x) for x in v] if isinstance(v, (list, tuple)) else v  # noqa: E731
    described = {"name": net.name, "input_name": net.input_name, "input_shape": list(net.input_shape),
                 "output_name": net.output_name,
                 "layers": [{"name": l.name, "op": l.op, "in_shape": list(l.in_shape), "out_shape": list(l.out_shape),
                             "attrs": {k: plain(v) for k, v in l.attrs.items()}, "onnx_nodes": list(l.onnx_nodes)}
                            for l in net.layers]}
    ints = {f"{i}/{k}": qfile.narrow(v) for i, ql in enumerate(q.layers) for k, v in ql.arrays.items()}
    full = {**ints, "__header__": json.dumps({"version": 1, "bits": q.bits, "layers": [l.header() for l in q.layers],
                                              "err_out_fmt": q.err_out_fmt.to_json(), "input_name": net.input_name,
                                              "name": net.name}).encode(),
            "__network__": json.dumps(described).encode(), "__onnx__": to_onnx(net).SerializeToString(),
            **{f"net/{i}/{k}": v for i, l in enumerate(net.layers) for k, v in l.params.items()}}
    compact = {**ints, "header": json.dumps({
        "version": 1, "name": net.name, "input_name": net.input_name, "bits": q.bits, "acc_bits": q.acc_bits,
        "input_shape": list(net.input_shape), "input_format": q.input_fmt.to_json(),
        "err_out_fmt": q.err_out_fmt.to_json(),
        "layers": [{**ql.header(), "in_shape": list(l.in_shape), "out_shape": list(l.out_shape),
                    "attrs": {k: plain(v) for k, v in l.attrs.items()}, "arrays": sorted(ql.arrays)}
                   for ql, l in zip(q.layers, net.layers)]}).encode()}
    paths = []
    for name, arrays in (("v1.npz", full), ("v1_compact.npz", compact)):
        arrays = {k: np.frombuffer(v, np.uint8) if isinstance(v, bytes) else v for k, v in arrays.items()}
        np.savez(tmp_path / name, **arrays)
        paths.append(tmp_path / name)
    return paths


def test_version_1_files_are_still_read(q, tmp_path):
    full, compact = _legacy_v1_files(q, tmp_path)
    x = np.random.default_rng(2).normal(size=(8, 1, 28, 28)).astype(np.float32)
    for path in (full, compact):
        again = QModel.load(path)
        assert np.array_equal(golden.forward(again, x), golden.forward(q, x))
        assert [ql.header() for ql in again.layers] == [ql.header() for ql in q.layers]
    again = QModel.load(full)
    assert all(np.array_equal(a.params["weight"], b.params["weight"])
               for a, b in zip(again.network.weighted_layers(), q.network.weighted_layers()))


def test_unknown_version_and_foreign_files_are_one_clear_error(q, tmp_path):
    q.save(tmp_path / "q.npz")
    with np.load(tmp_path / "q.npz") as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays["header"]).decode())
    arrays["header"] = np.frombuffer(json.dumps({**header, "version": 9}).encode(), np.uint8)
    np.savez(tmp_path / "v9.npz", **arrays)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    (tmp_path / "text.npz").write_text("hello")
    for name, words in (("v9.npz", "version 9"), ("other.npz", "not a quantized model"),
                        ("text.npz", "not a quantized model"), ("missing.npz", "no such quantized model")):
        with pytest.raises(HiltError, match=words) as err:
            QModel.load(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)


def test_written_and_read_without_onnx(q, tmp_path):
    """The host training loop on a board saves its models too: writing needs numpy alone."""
    q.save(tmp_path / "q.npz")
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['hilt.frontend'] = None\n"
            "from hilt.quant import QModel\n"
            f"q = QModel.load({str(tmp_path / 'q.npz')!r}); q.save({str(tmp_path / 'again.npz')!r})\n"
            f"print(QModel.load({str(tmp_path / 'again.npz')!r}).network.name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == q.network.name, out.stderr
    _same_model(q, QModel.load(tmp_path / "again.npz"))
