"""The ``hilt`` command line.

Each sub-command lives in a small module with ``register(subparsers)``; this file only assembles them
and turns user errors into one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys

import _signal  # the C module: `signal` itself imports enum, functools and collections first


def _interrupted_at_start(signum, frame):  # nothing is open yet: leave at once, quietly
    sys.stderr.write("hilt: interrupted\n")
    os._exit(130)


try:  # Ctrl-C while this module's own imports run: main() is not there yet to catch it
    _previous_sigint = _signal.signal(_signal.SIGINT, _interrupted_at_start)
except ValueError:  # imported from a thread other than the main one: signals are not ours to set
    _previous_sigint = None

import argparse  # noqa: E402

from . import __version__  # noqa: E402
from .errors import HiltError  # noqa: E402

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


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error contract: ``hilt: error: ...`` and exit code 2, no usage dump."""

    def error(self, message):
        raise HiltError(f"{message} (see `{self.prog} --help`)")  # main() prints it as every other error


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hilt", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hilt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)
    return parser


if _previous_sigint is not None:
    _signal.signal(_signal.SIGINT, _previous_sigint)


class _Interrupts:
    """SIGINT while main() runs. During the imports of compiled extensions a KeyboardInterrupt raised
    inside their initialisation aborts the process (onnx's nanobind module calls std::terminate) or
    comes out as another exception (numpy turns it into an ImportError), so while ``deferred`` a
    Ctrl-C is only counted and acted on once the imports are done. With a signal seen, any failure is
    the interrupt's."""

    def __init__(self):
        self.seen = 0
        self.deferred = False
        self.previous = None

    def __call__(self, signum, frame):
        self.seen += 1
        if not self.deferred:
            raise KeyboardInterrupt

    def resume(self) -> None:
        self.deferred = False
        if self.seen:
            raise KeyboardInterrupt

    def __enter__(self):
        try:
            self.previous = _signal.signal(_signal.SIGINT, self)
        except ValueError:  # not the main thread: leave signals alone
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            _signal.signal(_signal.SIGINT, self.previous)
        return False


def main(argv: list[str] | None = None) -> int:
    # Everything, the imports of the command modules (numpy, onnx: most of the start-up time)
    # included, runs inside the handler, so Ctrl-C at any moment ends with one line and no traceback.
    with _Interrupts() as interrupts:
        try:
            return _run(argv, interrupts)
        except KeyboardInterrupt:
            print("hilt: interrupted", file=sys.stderr)
            return 130
        except Exception:
            if interrupts.seen:
                print("hilt: interrupted", file=sys.stderr)
                return 130
            raise


def _run(argv, interrupts: _Interrupts) -> int:
    try:
        interrupts.deferred = True
        import numpy  # noqa: F401  the compiled extensions every command needs, loaded where
        import onnx  # noqa: F401   a Ctrl-C cannot tear their initialisation apart
        parser = build_parser()
        interrupts.resume()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except HiltError as err:
        print(f"hilt: error: {_one_line(err)}", file=sys.stderr)
        return err.exit_code
    except OSError as err:  # a file system refusal hilt did not foresee (permissions, a full disk): still one line
        print(f"hilt: error: {err.filename or 'file system'}: {err.strerror or err} (check the path, its "
              f"permissions and free space)", file=sys.stderr)
        return 2
    except MemoryError:
        print("hilt: error: out of memory (the model or batch is too large for this machine; use a smaller "
              "--samples/--calib or a smaller model)", file=sys.stderr)
        return 2


def _one_line(err: HiltError) -> str:
    """The contract is one line: a message that quotes a multi-line culprit is folded."""
    return " ".join(str(err).split("\n"))


if __name__ == "__main__":
    sys.exit(main())
