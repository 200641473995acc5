"""The C++ toolchain of C simulation: the compiler, its flags, and the vendor-header switch.

Generated HLS compiles against the project's own stream shim by default (bounded FIFOs, a coroutine per
dataflow process, deadlock reports; ``-DHILT_CSIM_THREADS`` for an OS thread per process,
``-DHILT_CSIM_UNBOUNDED`` for the fast sequential mode), or with
``-DHILT_VENDOR_HEADERS`` against Xilinx's ``hls_stream.h`` / ``ap_int.h`` / ``ap_axi_sdata.h``. Without
Vitis, the Apache-2.0 ``ap_types`` C-sim headers that the hls4ml package ships serve (they lack
``ap_axi_sdata.h``; the library's beat then keeps ap_axiu's members on ap_uint fields).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

from ..errors import HiltError

CXXFLAGS = ["-std=c++14", "-O2", "-Wall", "-Werror", "-pthread"]
MODES = {"bounded": [], "threads": ["-DHILT_CSIM_THREADS"], "unbounded": ["-DHILT_CSIM_UNBOUNDED"],
         "vendor": ["-DHILT_VENDOR_HEADERS"]}


def compiler() -> str:
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        raise HiltError("no C++ compiler found: install g++ (e.g. apt-get install g++) to run C simulation")
    return cxx


def vendor_include() -> Path:
    """The folder holding Xilinx's C-sim ``ap_int.h`` and ``hls_stream.h``: hls4ml's ``ap_types``."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise HiltError("the vendor C-sim headers come from the hls4ml package: pip install --no-deps hls4ml")
    path = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
    if not (path / "ap_int.h").exists():
        raise HiltError(f"{path}: no ap_int.h in this hls4ml install; reinstall hls4ml")
    return path


def mode_flags(mode: str) -> list[str]:
    """Compiler flags of a C-sim mode: ``bounded`` (default), ``threads``, ``unbounded`` or ``vendor``."""
    if mode not in MODES:
        raise HiltError(f"unknown C-sim mode {mode!r}: choose one of {', '.join(MODES)}")
    flags = list(MODES[mode])
    if mode == "vendor":
        flags += ["-isystem", str(vendor_include())]
    return flags


def compile_cpp(sources, binary, includes=(), mode: str = "bounded", defines=(), extra=()) -> Path:
    """g++ the sources into ``binary`` with the C-sim flags of ``mode``; raises HiltError with g++'s first line."""
    cmd = [compiler(), *CXXFLAGS, *mode_flags(mode), *extra, *[f"-D{d}" for d in defines],
           *[f"-I{i}" for i in includes], *map(str, sources), "-o", str(binary)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((l for l in proc.stderr.splitlines() if "error" in l), proc.stderr.strip()[:300])
        raise HiltError(f"g++ failed on {', '.join(map(str, sources))}: {first}")
    return Path(binary)
