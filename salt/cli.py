"""Command-line interface: ``salt <command> ...``, thin over the library.

Each command lives in its own module under :mod:`salt.commands` and defines
``register(subparsers)``, which adds a sub-parser whose ``func`` default is
``run(args) -> int``. Any :class:`salt.SaltError` becomes a one-line message on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from salt import __version__
from salt.errors import SaltError

__all__ = ["COMMAND_MODULES", "EXIT_ERROR", "EXIT_FAILURES", "EXIT_OK", "main"]

#: Exit codes shared by all commands.
EXIT_OK = 0  #: everything asked for was done
EXIT_FAILURES = 1  #: the run finished but some inputs failed (see errors.csv)
EXIT_ERROR = 2  #: bad arguments or input; nothing (more) was done

COMMAND_MODULES: tuple[str, ...] = (
    "salt.commands.synth",
    "salt.commands.endpoints",
    "salt.commands.synth_registry",
    "salt.commands.train",
    "salt.commands.finetune",
    "salt.commands.evaluate",
    "salt.commands.score",
    "salt.commands.pseudo_label",
    "salt.commands.score_visit",
    "salt.commands.report",
    "salt.commands.export_annotations",
    "salt.commands.import_annotations",
    "salt.commands.rescore",
)


def _command_name(module: str) -> str:
    return module.rsplit(".", 1)[-1].replace("_", "-")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the ``salt`` argument parser.

    Parameters
    ----------
    only : str, optional
        Register just this command (its module is the only one imported, so that a
        command that needs no torch does not pay for importing it); every command
        when None or unknown.

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="salt",
        description="Measure scalp hair loss from photographs and score SALT.",
    )
    parser.add_argument("--version", action="version", version=f"salt {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = {_command_name(m): m for m in COMMAND_MODULES}
    modules = [names[only]] if only in names else list(COMMAND_MODULES)
    for module in modules:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``salt`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 when everything succeeded, 1 when a batch finished with failed
        inputs, 2 on bad arguments or input.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=first)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except SaltError as exc:
        print(f"salt {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"salt {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
