"""``python -m kit COMMAND`` (or ``kit COMMAND``): measure, decide, deploy-check.

Commands are a table of name -> (module, summary); only the chosen command's
module is imported, so ``--help`` answers at once. Each module declares
``configure(parser)`` and ``run(args) -> exit code``: parse, call the library,
render, exit. Errors are mapped to exit codes once, here: a ``KitError`` is one
line and its code; Ctrl-C is 130; anything else is a bug in the kit, reported
in one line with its traceback kept in a log file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
from types import ModuleType

from kit.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, KitError

PROG = "python -m kit"
COMMANDS: dict[str, tuple[str, str]] = {
    "local": ("kit.cli.local", "the whole pipeline on an embedded AWS emulator (make demo)"),
    "aws": ("kit.cli.aws", "benchmark a deployed stack (uploads real audio)"),
    "tune": ("kit.cli.tune", "sweep Lambda memory (deployed, or --local): cost and speed per size"),
    "recommend": (
        "kit.cli.recommend",
        "the cheapest configuration meeting your p99 at your traffic, and the stack to deploy",
    ),
    "simulate": ("kit.cli.simulate", "cost and p50/p95/p99 per variant by traffic level and shape"),
    "cost": ("kit.cli.cost", "monthly cost per variant at steady traffic, crossovers, sensitivity"),
    "report": ("kit.cli.report", "the decision report (Markdown + HTML) for a results file"),
    "preflight": ("kit.cli.preflight", "check stack settings against what AWS accepts, offline"),
    "prices": (
        "kit.cli.prices",
        "the prices used, with sources; --refresh from the AWS Price List API",
    ),
    "prune": ("kit.cli.prune", "delete SnapStart versions nothing invokes (each one is billed)"),
}
EPILOG = "Run `python -m kit COMMAND --help` for a command's options."


def _top_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items())
    return argparse.ArgumentParser(
        prog=PROG,
        description="Serverless audio inference kit: measure each way of serving one ONNX model "
        "on AWS, decide which is cheapest for your traffic and latency target.",
        epilog=f"commands:\n{lines}\n\n{EPILOG}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def command_parser(name: str) -> tuple[argparse.ArgumentParser, ModuleType]:
    """The parser of one command (its module imported now) and the module."""
    module_name, summary = COMMANDS[name]
    module = importlib.import_module(module_name)
    doc = (module.__doc__ or summary).strip()
    parser = argparse.ArgumentParser(
        prog=f"{PROG} {name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.configure(parser)
    return parser, module


def _internal_error(exc: BaseException) -> int:
    fd, path = tempfile.mkstemp(prefix="kit-error-", suffix=".log")
    with os.fdopen(fd, "w") as log:
        traceback.print_exception(exc, file=log)
    message = str(exc).splitlines()[0][:200] if str(exc) else ""
    print(
        f"error: unexpected {type(exc).__name__}: {message} -- this is a bug in the kit; the "
        f"traceback is in {path} (please include it in a report)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    """Parse and run one command; every error becomes one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return EXIT_OK if argv else 2
    if argv[0] not in COMMANDS:
        top.error(f"unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}")
    try:
        parser, module = command_parser(argv[0])
        args = parser.parse_args(argv[1:])
        return int(module.run(args) or EXIT_OK)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:  # a bug: one line for the user, the traceback in a file
        return _internal_error(exc)
