"""The `demostation` command line: one sub-command per module in `app/commands/`.

Each module in `app/commands/` is a command; it exposes ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``.
Exit status: 0 success, 1 the job failed, 2 bad usage or bad input — always with one line on
stderr that says what is wrong, never a traceback for a user mistake (``--debug`` shows one).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import os
import pkgutil
import sys
from types import ModuleType
from typing import Sequence

from app.errors import JobError, UsageError
from recorder.errors import NoSpaceError

COMMAND_PACKAGE = "app.commands"

# Errors from the core packages that mean "your input is wrong", not "the job broke".
_INPUT_ERRORS: tuple[type[BaseException], ...] = (UsageError, ValueError, FileNotFoundError, NotADirectoryError,
                                                 IsADirectoryError, PermissionError)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as argparse does, with our prefix
        self.exit(2, f"demostation: error: {message} (see `demostation {self.prog.split()[-1]} --help`)\n")


def _load_commands() -> list[ModuleType]:
    """Every module in app/commands is a sub-command: adding a command never edits a shared list."""
    package = importlib.import_module(COMMAND_PACKAGE)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"{COMMAND_PACKAGE}.{name}") for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="demostation", description="Teleoperate, record, curate, train and evaluate robot demonstrations.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _load_commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def print_json(obj: object) -> None:
    """One JSON object on stdout (what every `--json` command prints)."""
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(o: object) -> object:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:
        return _reader_went_away()
    except KeyboardInterrupt:
        print("demostation: interrupted", file=sys.stderr)
        return 1
    except _INPUT_ERRORS as exc:
        if args.debug:
            raise
        print(f"demostation {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # the job failed: still one line unless --debug
        if args.debug:
            raise
        if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:  # a name the user gave: bad input
            print(f"demostation {args.command}: error: {_name_too_long(exc)}", file=sys.stderr)
            return 2
        kind = "" if isinstance(exc, (JobError, NoSpaceError)) else f"{type(exc).__name__}: "
        print(f"demostation {args.command}: failed: {kind}{_one_line(exc)} (rerun with --debug for details)",
              file=sys.stderr)
        return 1


def _name_too_long(exc: OSError) -> str:
    """ENAMETOOLONG as the user's mistake: which name, how long, the limit (the name itself shortened)."""
    name = str(exc.filename or "")
    longest = max((part for part in name.split(os.sep)), key=lambda p: len(p.encode()), default="")
    try:
        limit = os.pathconf(os.path.dirname(os.path.abspath(name)) or ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    shown = longest if len(longest) <= 40 else f"{longest[:20]}...{longest[-12:]}"
    return (f"the name {shown!r} is {len(longest.encode())} bytes, longer than the file system allows "
            f"({limit}); choose a shorter name")


def _reader_went_away() -> int:
    """stdout's reader closed early (``demostation info DATA | head -1``): no traceback, and none at
    exit either, where Python would flush into the closed pipe again (the Python docs' recipe for
    SIGPIPE, status 1)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 1


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename and str(exc).startswith("[Errno"):
        return f"{exc.filename}: {exc.strerror.lower()}"  # the OS's words without Python's "[Errno 21]"
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
