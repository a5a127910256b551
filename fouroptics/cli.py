"""Command-line shell: ``fouroptics <verb> ...``.

Each verb lives in the module that implements it; this file only wires them together so that
``fouroptics --help`` stays fast (verb modules are imported on use). A verb module exposes
``add_arguments(parser)`` and ``run(args) -> int``. Every verb writes into ``--out DIR`` and
prints where it wrote; :func:`main` holds that folder locked while the verb runs (a second run
on the same folder is refused with one line), for every verb, here and only here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from typing import NoReturn

from fouroptics.errors import FouropticsError, one_line
from fouroptics.io.run_folder import run_folder_lock

#: verb -> (module path, one-line help). Modules are imported lazily.
VERBS: dict[str, tuple[str, str]] = {
    "demo": (
        "fouroptics.commands.demo",
        "train, compile, calibrate, simulate, fine-tune: report.md",
    ),
    "train": ("fouroptics.nn.commands", "train one model (teacher or SCLC student)"),
    "distill": ("fouroptics.nn.commands", "distill a teacher into an SCLC student"),
    "experiment": ("fouroptics.nn.commands", "teacher vs SCLC vs SCLC+KD experiments"),
    "calibrate": ("fouroptics.commands.calibrate", "measure a bench: camera, LUTs, registration"),
    "simulate": ("fouroptics.commands.simulate", "run a compiled bundle on a bench, with metrics"),
    "finetune": (
        "fouroptics.commands.finetune",
        "fine-tune a bundle's head (and kernels) on a bench",
    ),
    "compile": ("fouroptics.commands.compile", "compile a trained SCLC or kernels into SLM masks"),
}


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors (a bad value, a missing option) are one line
    ``fouroptics <verb>: error: ...`` with a pointer to ``--help``, exit 2, like every known
    error (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the ``selected`` verb's module is imported (the others stay lazy)."""
    parser = OneLineParser(
        prog="fouroptics",
        description="Optical CNNs on a 4f correlator. Known errors print one line and exit 2.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of known errors (any position)"
    )
    from fouroptics import __version__

    parser.add_argument("--version", action="version", version=f"fouroptics {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb, (module, help_text) in VERBS.items():
        p = sub.add_parser(verb, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if verb == selected:
            mod = importlib.import_module(module)
            adder = getattr(mod, f"add_{verb}_arguments", None) or mod.add_arguments
            adder(p)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A Python warning (a :class:`calibration.errors.CalibrationWarning`, a library's) as one
    line ``warning: ...`` on stderr, without the source line Python would print."""
    print(f"warning: {one_line(message)}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one verb. Known errors (:class:`fouroptics.errors.FouropticsError`) print one line
    ``fouroptics <verb>: error: ...`` on stderr and return 2; ``--debug`` re-raises them with
    their traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(selected if selected in VERBS else None)
    args = parser.parse_args(argv)
    args.debug = debug
    try:
        mod = importlib.import_module(args._module)
        runner = getattr(mod, f"run_{args.verb}", None) or mod.run
        with run_folder_lock(args), warnings.catch_warnings():
            warnings.showwarning = _show_warning  # restored when the verb returns
            return int(runner(args) or 0)
    except FouropticsError as exc:
        if debug:
            raise
        print(f"fouroptics {args.verb}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"fouroptics {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
