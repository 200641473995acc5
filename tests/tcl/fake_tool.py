"""Stand-ins for ``vitis_hls`` and ``vivado`` in tests: run the given script in the recording interpreter.

Called by the shell wrappers in tests/tcl/bin (put that folder first on PATH). A command the tool does
not have fails the run as the real tool would ("invalid command name"); outputs are placeholders written
where the tool writes its own. Environment:

- ``HILT_FAKE_WNS``: the worst negative slack the timing report shows (ns, default 0.25);
- ``HILT_FAKE_CALLS``: a file to which each invocation appends one line ``tool args...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog import TCL_BUILTINS, VITIS_HLS_COMMANDS, VIVADO_COMMANDS  # noqa: E402
from recorder import Interpreter  # noqa: E402


def main(tool: str, argv: list[str]) -> int:
    if os.environ.get("HILT_FAKE_CALLS"):
        with open(os.environ["HILT_FAKE_CALLS"], "a") as f:
            f.write(" ".join([tool, *argv]) + "\n")
    flag = "-f" if tool == "vitis_hls" else "-source"
    if flag not in argv:
        print(f"ERROR: {tool} stand-in needs {flag} SCRIPT", file=sys.stderr)
        return 1
    script = argv[argv.index(flag) + 1]
    known = VITIS_HLS_COMMANDS if tool == "vitis_hls" else VIVADO_COMMANDS
    interp = Interpreter(tool, effects=True, wns=float(os.environ.get("HILT_FAKE_WNS", "0.25")))
    print(f"****** {tool} stand-in (recording Tcl interpreter), script {script}")
    try:
        rec = interp.source(script)
    except Exception as err:  # a Tcl error, as the tool would report it
        print(f"ERROR: [Common 17-161] {err}")
        return 1
    for call in rec.calls:
        print(f"{tool}% {call.cmd} {' '.join(call.args)}")
    unknown = sorted(rec.commands() - known - TCL_BUILTINS)
    if unknown:
        print(f'ERROR: invalid command name "{unknown[0]}"')
        return 1
    if "-log" in argv:
        Path(argv[argv.index("-log") + 1]).write_text("\n".join(f"{c.cmd} {' '.join(c.args)}" for c in rec.calls))
    print(f"INFO: {tool} stand-in finished: {len(rec.calls)} commands")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
