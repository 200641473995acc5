"""Checking what a user gives where it enters: numeric options, input files, JSON documents, outputs.

Everything a user types or points hilt at passes one of these checks before any work starts, and a
failure is a :class:`HiltError` naming the culprit, what is wrong and what to do. Numbers are finite
(NaN and infinities are refused everywhere), and every value that sizes an allocation or a loop has an
upper bound checked before the allocation.

- ``positive_float``, ``fraction``, ... are ``argparse`` ``type=`` functions;
- ``read_json`` parses a JSON file strictly (UTF-8, no NaN/Infinity, no overflowing numbers) and
  ``number``/``mapping`` check its fields;
- ``load_npy`` reads the header of a .npy file and checks dtype, shape and size before the data;
- ``check_output_file`` / ``check_output_dir`` refuse output paths that cannot be written (or would
  destroy a user's folder) before long work starts, and ``atomic_dir`` writes a folder beside its
  target and renames it into place, so nothing half-written is ever left.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import stat
import tempfile
from pathlib import Path

import numpy as np

from .errors import HiltError

MAX_JSON_BYTES = 64 << 20  # folding, chip and sweep files are kilobytes; refuse anything absurd
MAX_INPUT_BYTES = 8 << 30  # an --input batch larger than this is refused before it is read
MAX_PATH_CHARS = 4096
MAX_INPUT_MAGNITUDE = 65536.0  # 16-bit pixels at most; larger inputs overflow the float forward
MANIFEST = "manifest.json"  # what marks a folder as written by `hilt compile`


# ---- numbers ----------------------------------------------------------------------------------

def finite(value, what: str, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False, integer: bool = False, hint: str = "") -> float:
    """``value`` as a finite number inside [lo, hi] (open ends where asked), else a HiltError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise HiltError(f"{what}: {value!r} is not a number{_hint(hint)}")
    if not math.isfinite(float(value)):
        raise HiltError(f"{what}: {value!r} is not a finite number{_hint(hint)}")
    if integer and float(value) != int(value):
        raise HiltError(f"{what}: {value!r} is not an integer{_hint(hint)}")
    bad = ((lo is not None and (value < lo or (lo_open and value == lo)))
           or (hi is not None and (value > hi or (hi_open and value == hi))))
    if bad:
        raise HiltError(f"{what}: {value!r} is outside {_range(lo, hi, lo_open, hi_open)}{_hint(hint)}")
    return int(value) if integer else float(value)


def _hint(hint: str) -> str:
    return f" ({hint})" if hint else ""


def _range(lo, hi, lo_open, hi_open) -> str:
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def number_type(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
                hi_open: bool = False, integer: bool = False, name: str = "number"):
    """An argparse ``type=`` accepting finite numbers in a range; the error says which range."""

    def parse(text: str):
        try:
            value = int(text, 10) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if integer else 'a number'}") from None
        try:
            return finite(value, repr(text), lo, hi, lo_open=lo_open, hi_open=hi_open, integer=integer)
        except HiltError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = name
    return parse


finite_float = number_type(name="finite_float")
positive_float = number_type(0, lo_open=True, name="positive_float")
nonneg_float = number_type(0, name="nonneg_float")
fraction = number_type(0, 1, name="fraction")                         # a share of something, 0..1
open_fraction = number_type(0, 1, lo_open=True, name="open_fraction")  # (0, 1]: 0 would mean nothing
momentum = number_type(0, 1, hi_open=True, name="momentum")
temperature = number_type(-55, 150, name="temperature")  # the widest junction range parts are rated for
clock_mhz = number_type(0, 10_000, lo_open=True, name="clock_mhz")    # no FPGA fabric clocks 10 GHz
seed = number_type(0, 2**32 - 1, integer=True, name="seed")
MAX_COUNT = 10**9  # images, epochs, batches: anything larger is a typo, and sizes an allocation
positive_int = number_type(1, MAX_COUNT, integer=True, name="positive_int")


# ---- JSON -------------------------------------------------------------------------------------

def usable_path(text, what: str, hint: str = "") -> Path:
    """``text`` as a Path, refused when no file system could hold it (empty, NUL, over-long)."""
    text = os.fspath(text) if text is not None else ""
    if not text or "\0" in text or len(text) > MAX_PATH_CHARS or \
            any(len(part.encode(errors="replace")) > 255 for part in Path(text).parts):
        raise HiltError(f"{what} {text[:80]!r}: not a usable file name{_hint(hint)}")
    return Path(text)


def exists(text) -> bool:
    """os.path.exists that answers False for names no file system holds instead of raising."""
    try:
        return os.path.exists(text)
    except (OSError, ValueError):
        return False


def regular_file(path: Path, what: str, hint: str) -> os.stat_result:
    """stat() of a regular file; FIFOs, devices and folders are refused before anything opens them
    (opening a FIFO would block forever)."""
    usable_path(path, what, hint)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HiltError(f"{path}: no such {what}{_hint(hint)}") from None
    except OSError as err:
        raise HiltError(f"{path}: cannot read this {what} ({err.strerror or err}){_hint(hint)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise HiltError(f"{path}: is a folder, not a file{_hint(hint)}")
    if not stat.S_ISREG(st.st_mode):
        raise HiltError(f"{path}: not a regular file (a pipe or device); give a {what} saved on disk")
    return st


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} overflows a double")
    return value


def parse_json(text: str | bytes, where: str, hint: str = ""):
    """Strict JSON: NaN, Infinity and numbers that overflow to inf are errors, as is deep nesting."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise HiltError(f"{where}: not UTF-8 text{_hint(hint)}") from None
    except RecursionError:
        raise HiltError(f"{where}: JSON nested too deeply{_hint(hint)}") from None
    except ValueError as err:  # JSONDecodeError is a ValueError, and so are the refusals above
        raise HiltError(f"{where}: not valid JSON ({_first_line(err)}){_hint(hint)}") from None


def _read_document(path: str | os.PathLike, what: str, hint: str) -> tuple[Path, str]:
    """(path, text) of a regular UTF-8 file of at most MAX_JSON_BYTES: the common door of JSON and YAML."""
    path = Path(path)
    st = regular_file(path, what, hint)
    if st.st_size > MAX_JSON_BYTES:
        raise HiltError(f"{path}: {st.st_size:,} bytes is far too large for a {what}{_hint(hint)}")
    try:
        return path, path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise HiltError(f"{path}: not UTF-8 text{_hint(hint)}") from None
    except OSError as err:
        raise HiltError(f"{path}: cannot read it ({err.strerror or err})") from None


def read_json(path: str | os.PathLike, what: str, hint: str = ""):
    """A JSON document from a regular file of at most MAX_JSON_BYTES, parsed strictly."""
    path, text = _read_document(path, what, hint)
    return parse_json(text, str(path), hint)


def mapping(obj, where: str, allowed: tuple[str, ...] | None = None, required: tuple[str, ...] = ()) -> dict:
    """``obj`` as a dict with string keys, only ``allowed`` keys (when given) and every ``required`` one."""
    if not isinstance(obj, dict):
        raise HiltError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if allowed is not None:
        extra = sorted(set(obj) - set(allowed))
        if extra:
            raise HiltError(f"{where}: unknown field {extra[0]!r} (fields: {', '.join(allowed)})")
    for key in required:
        if key not in obj:
            raise HiltError(f"{where}: missing field {key!r}")
    return obj


def read_yaml(path: str | os.PathLike, what: str, hint: str = ""):
    """A YAML document (safe loader) from a regular UTF-8 file of at most MAX_JSON_BYTES."""
    import yaml

    path, text = _read_document(path, what, hint)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise HiltError(f"{path.name}: not valid YAML ({_first_line(err)}){_hint(hint)}") from None
    except RecursionError:
        raise HiltError(f"{path.name}: YAML nested too deeply{_hint(hint)}") from None


# ---- documents hilt writes and reads back ---------------------------------------------------------

CHIP_HINT = "write chip files with `hilt profile fit`"


def chip_fields(obj, where: str) -> dict:
    """The keyword arguments of a Chip, from a chip JSON file, every field checked against its range."""
    obj = mapping(obj, where, ("seed", "f_safe_mhz", "crash_ratio", "temp_c", "voltage_factor", "lane_sigma",
                               "layer_scale"))
    out = dict(obj)
    checks = {"seed": (0, 2**32 - 1, False, True), "f_safe_mhz": (0, 10_000, True, False),
              "crash_ratio": (1, 100, True, False), "temp_c": (-55, 150, False, False),
              "voltage_factor": (0, 10, True, False), "lane_sigma": (0, 0.3, False, False)}
    for key, (lo, hi, lo_open, integer) in checks.items():
        if key in obj:
            out[key] = finite(obj[key], f"{where}: {key}", lo, hi, lo_open=lo_open, integer=integer, hint=CHIP_HINT)
    if "layer_scale" in obj:
        scales = mapping(obj["layer_scale"], f"{where}: layer_scale")
        out["layer_scale"] = {str(k): finite(v, f"{where}: layer_scale.{k}", 0, 100, lo_open=True, hint=CHIP_HINT)
                              for k, v in scales.items()}
    return out


def sweep_points(obj, where: str) -> list[dict]:
    """The points of a sweep JSON (from `hilt sweep --json` or a board), checked: clocks, hangs, rates."""
    points = mapping(obj, where, required=("points",))["points"]
    if not isinstance(points, list) or not points:
        raise HiltError(f"{where}: 'points' must be a non-empty list of sweep points")
    for i, p in enumerate(points):
        at = f"{where}: points[{i}]"
        mapping(p, at, required=("freq_mhz",))
        finite(p["freq_mhz"], f"{at}.freq_mhz", 0, 10_000, lo_open=True)
        if not isinstance(p.get("hung", False), bool):
            raise HiltError(f"{at}.hung: must be true or false")
        layers = p.get("layers") or {}
        for name, rate in mapping(layers, f"{at}.layers").items():
            if rate is not None:
                finite(rate, f"{at}.layers.{name}", 0, 1)
    if all(p.get("hung") for p in points):
        raise HiltError(f"{where}: every point hung; a fit needs at least one clock that ran")
    return points


def load_quantized(path) -> "object":
    """A QModel written by `hilt quantize`, refused with one line when the file is not one (or is
    corrupt in a way the reader does not check itself)."""
    from .quant import QModel

    regular_file(Path(path), "quantized model", "write one with `hilt quantize`")
    try:
        q = QModel.load(path)
    except HiltError as err:  # the model's own checks (layer names) do not name the file
        if str(path) in str(err):
            raise
        raise HiltError(f"{path}: {err}; write the file again with `hilt quantize`") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError, EOFError) as err:
        raise HiltError(f"{path}: not a quantized model written by `hilt quantize` ({_first_line(err)})") from None
    if len(q.layers) != len(q.network.layers):
        raise HiltError(f"{path}: {len(q.layers)} quantized layers for a {len(q.network.layers)}-layer network; "
                        f"write the file again with `hilt quantize`")
    if q.bits not in (8, 16):
        raise HiltError(f"{path}: operand width {q.bits!r} is not 8 or 16; write the file again with `hilt quantize`")
    for ql, layer in zip(q.layers, q.network.layers):
        where = f"{path}: layer {layer.name}"
        for attr in ("in_fmt", "out_fmt", "w_fmt", "lut_fmt", "err_in_fmt", "grad_fmt", "bias_grad_fmt"):
            fmt = getattr(ql, attr, None)
            if fmt is not None:
                finite(fmt.bits, f"{where} {attr} bits", 2, 64, integer=True)
                finite(fmt.frac, f"{where} {attr} frac", -64, 64, integer=True)
        for attr in ("shift", "lut_shift"):
            finite(getattr(ql, attr), f"{where} {attr}", -64, 64, integer=True)
        w_fmt = getattr(ql, "w_fmt", None)
        if w_fmt is not None and "weight" in ql.arrays and ql.arrays["weight"].size and \
                not (w_fmt.qmin <= ql.arrays["weight"].min() and ql.arrays["weight"].max() <= w_fmt.qmax):
            raise HiltError(f"{where}: stored weights exceed their {w_fmt.bits}-bit format; the file is corrupt")
        for key, value in layer.params.items():
            stored = ql.arrays.get(key)
            if stored is None or stored.shape != value.shape:
                raise HiltError(f"{path}: layer {layer.name} {key} is {None if stored is None else stored.shape}, the "
                                f"network says {value.shape}; write the file again with `hilt quantize`")
    return q


# ---- .npy input --------------------------------------------------------------------------------

def npy_header(path: str | os.PathLike, what: str = "--input") -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of a .npy file, checked against the file's size before any data is read."""
    path = Path(path)
    hint = "give a .npy array saved with numpy.save"
    st = regular_file(path, f"{what} array", hint)
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=10000)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=10000)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
    except (ValueError, OSError, SyntaxError, TypeError, EOFError) as err:
        raise HiltError(f"{path}: not a .npy array ({_first_line(err)}); {hint}") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise HiltError(f"{path}: dtype {dtype} is not a plain numeric array; save float32 images")
    if dtype.kind not in "biuf":
        raise HiltError(f"{path}: dtype {dtype} ({_KINDS.get(dtype.kind, dtype.kind)}) is not numeric; "
                        f"save float32 images")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > MAX_INPUT_BYTES:
        raise HiltError(f"{path}: header claims shape {shape} ({nbytes:,} bytes), beyond the "
                        f"{MAX_INPUT_BYTES >> 30} GiB limit; split the batch")
    if st.st_size - offset < nbytes:
        raise HiltError(f"{path}: header claims shape {shape} ({nbytes:,} bytes) but the file holds "
                        f"{max(0, st.st_size - offset):,}; the file is truncated, save it again")
    return tuple(shape), dtype, offset


_KINDS = {"c": "complex", "U": "text", "S": "bytes", "M": "dates", "m": "time deltas", "V": "raw bytes"}


def load_npy(path: str | os.PathLike, what: str = "--input") -> np.ndarray:
    """A numeric .npy array whose header was checked first (FIFOs, truncation, huge shapes refused)."""
    npy_header(path, what)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise HiltError(f"{path}: not a readable .npy array ({_first_line(err)})") from None


def check_images(x: np.ndarray, where: str) -> np.ndarray:
    """A batch of at least one sample with finite values, as float32."""
    if x.ndim == 0 or x.shape[0] == 0 or x.size == 0:
        raise HiltError(f"{where}: the array holds no samples (shape {x.shape}); give at least one image")
    with np.errstate(over="ignore"):
        x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise HiltError(f"{where}: holds NaN or infinite values; give finite pixel values")
    if np.abs(x).max() > MAX_INPUT_MAGNITUDE:
        raise HiltError(f"{where}: holds values of magnitude {np.abs(x).max():.3g}; images are pixel values "
                        f"(up to {MAX_INPUT_MAGNITUDE:.0f}), normalise them")
    return x


def check_labels(y: np.ndarray, n_classes: int | None, where: str) -> np.ndarray:
    """Integer class labels in [0, n_classes) (floats like 2.0 are accepted, 2.7 is not), as int64."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise HiltError(f"{where}: labels must be whole class numbers, found {y[y != np.round(y)][:1]}")
    elif y.dtype.kind not in "iub":
        raise HiltError(f"{where}: labels of dtype {y.dtype} are not class numbers")
    if y.size and y.min() < 0:
        raise HiltError(f"{where}: negative label {int(y.min())}; labels are class numbers 0..C-1")
    if n_classes is not None and y.size and y.max() >= n_classes:
        raise HiltError(f"{where}: label {int(y.max())} but the model has {n_classes} outputs; "
                        f"give data with classes 0..{n_classes - 1} or a model with more outputs")
    return y.astype(np.int64)


# ---- outputs ----------------------------------------------------------------------------------

def _nearest_existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if os.path.lexists(p):
            return p
    return Path(".")


def _probe_writable(folder: Path, what: str, path) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".hilt-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise HiltError(f"{what} {path}: cannot write in {folder} ({err.strerror or err}); "
                        f"choose a writable place") from None


def check_output_file(path, what: str = "output") -> Path:
    """Refuse an output file path that cannot be written, before any long work: '' and folders,
    paths under a file, unwritable or pseudo file systems (/proc)."""
    p = usable_path(path, what, "give a file path")
    if p.is_dir():
        raise HiltError(f"{what} {p}: is a folder; give a file name inside it")
    if os.path.lexists(p) and not (p.is_file() or p.is_symlink()):
        raise HiltError(f"{what} {p}: exists and is not a regular file; give a file path")
    base = _nearest_existing(p.parent if str(p.parent) else Path("."))
    if not base.is_dir():
        raise HiltError(f"{what} {p}: {base} is a file, not a folder; choose another path")
    if p.resolve().is_relative_to("/proc") or p.resolve().is_relative_to("/sys"):
        raise HiltError(f"{what} {p}: is inside a kernel pseudo file system; choose a real folder")
    _probe_writable(base, what, p)
    return p


def is_hilt_output(folder: Path) -> bool:
    """True when ``folder`` holds the manifest of a project hilt wrote (so replacing it loses nothing of
    the user's)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and {"top", "modes", "tap_sizes"} <= set(manifest)


def check_output_dir(path, force: bool = False, what: str = "-o") -> Path:
    """Refuse an output folder hilt would have to destroy: an existing non-empty folder without a hilt
    manifest (unless ``force``), a file, or a place that cannot be written."""
    p = usable_path(path, what, "give a folder path")
    if p.resolve() in (Path("/"), Path.home().resolve(), Path.cwd().resolve()):
        raise HiltError(f"{what} {p}: refusing to replace this folder; give a new folder for the project")
    if os.path.lexists(p) and not p.is_dir():
        raise HiltError(f"{what} {p}: exists and is not a folder; choose another path")
    if p.is_dir() and any(p.iterdir()) and not is_hilt_output(p) and not force:
        raise HiltError(f"{what} {p}: folder exists and was not written by hilt (no {MANIFEST}); "
                        f"choose a new folder, or add --force to replace it")
    base = _nearest_existing(p.parent if str(p.parent) else Path("."))
    if not base.is_dir():
        raise HiltError(f"{what} {p}: {base} is a file, not a folder; choose another path")
    _probe_writable(base, what, p)
    return p


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path`` (the old folder
    is removed only after the new one is in place), on any failure or interrupt it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    old = None
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.rename(path, old / path.name)
        os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            if not path.exists() and (old / path.name).exists():
                os.rename(old / path.name, path)  # the swap failed: put the old folder back
            shutil.rmtree(old, ignore_errors=True)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
