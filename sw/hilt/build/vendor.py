"""Running the vendor tools: finding them, naming the settings script when they are missing, keeping logs.

Each run's whole output (stdout and stderr together) is kept in ``logs/<tool>-<n>.log`` (n counts up
over the build folder's life, so earlier runs stay readable) and ``logs/<tool>.log`` is the latest.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import HiltError

SETTINGS = {  # where Xilinx's installer puts the script that puts each tool on PATH
    "vitis_hls": "<Xilinx install folder, e.g. /tools/Xilinx>/Vitis_HLS/{version}/settings64.sh",
    "vivado": "<Xilinx install folder, e.g. /tools/Xilinx>/Vivado/{version}/settings64.sh",
}


class VendorToolMissing(HiltError):
    pass


def find(tool: str, version: str, waiting: Path) -> str:
    path = shutil.which(tool)
    if path is None:
        raise VendorToolMissing(
            f"{tool} not found on PATH: source {SETTINGS[tool].format(version=version)} "
            f"and run the same command again; the generated project waits in {waiting}")
    return path


def next_log(logs: Path, tool: str) -> Path:
    logs.mkdir(parents=True, exist_ok=True)
    n = 1 + max([int(p.stem.rsplit("-", 1)[1]) for p in logs.glob(f"{tool}-*.log")
                 if p.stem.rsplit("-", 1)[1].isdigit()] + [0])
    return logs / f"{tool}-{n}.log"


def run(tool: str, exe: str, args: list[str], cwd: Path, logs: Path, quiet: bool = False) -> Path:
    """Run ``exe args`` in ``cwd``, teeing its output into a numbered log; raises on a non-zero exit."""
    log = next_log(logs, tool)
    with open(log, "w") as f:
        f.write(f"# {tool} {' '.join(args)}  (in {cwd})\n")
        f.flush()
        proc = subprocess.Popen([exe, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            f.write(line)
            if not quiet:
                sys.stdout.write(f"  [{tool}] {line}")
        code = proc.wait()
    shutil.copyfile(log, logs / f"{tool}.log")
    if code != 0:
        err = HiltError(f"{tool} failed (exit {code}); its log is {log}")
        err.exit_code = 1
        raise err
    return log
