"""The ``hilt`` command line.

Each sub-command lives in a small module with ``register(subparsers)``; this file only assembles them
and turns user errors into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import HiltError

DESCRIPTION = """\
hilt: hardware-in-the-loop training for FPGA CNN accelerators.

Turns an ONNX CNN into fixed-point HLS forward/backward pipelines for Zynq boards, and trains the
model for the chip it runs on. MODEL arguments take an ONNX file or a zoo name (see `hilt zoo list`).
"""

EPILOG = """\
examples:
  hilt zoo export lenet5 -o lenet5.onnx
  hilt train lenet5.onnx -o lenet5_trained.onnx          # bundled MNIST-5k, float32 SGD
  hilt eval lenet5_trained.onnx --backend float,golden   # float vs int8 accuracy on held-out images
  hilt info alexnet                                      # layer table of the zoo AlexNet
  hilt dse lenet5 --board zcu104 --freq 200 --mode train
"""


COMMAND_MODULES = (
    "hilt.commands.models",    # info, infer, zoo
    "hilt.commands.training",  # train, quantize, eval
    "hilt.dse.command",        # dse
    "hilt.codegen.command",    # compile, csim
    "hilt.build.command",      # build
    "hilt.rtl.command",        # rtlsim
    "hilt.commands.chip",      # sweep, finetune, faults, profile
)


def _command_modules():
    import importlib

    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as err:
            if not (err.name and (name == err.name or name.startswith(err.name + "."))):
                raise  # a missing dependency inside an existing module is a real error
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hilt", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hilt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except HiltError as err:
        print(f"hilt: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("hilt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
