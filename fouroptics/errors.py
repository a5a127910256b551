"""The error classes fouroptics raises for known, user-fixable problems.

Every verb of the command line prints one line for a :class:`FouropticsError` (the message names
the problem and the field, file or device) and exits with status 2; ``--debug`` shows the
traceback. Anything else is a bug and keeps its traceback.

Families:

* :class:`ConfigError`: a configuration value (YAML field, CLI option, Python argument) is
  missing, mistyped, has a wrong or missing unit, or is out of range. ``UnitError``
  (:mod:`fouroptics.units`), ``BenchConfigError`` (devices) are kinds of it.
* :class:`FileFormatError`: a file is missing, not of its format, newer, corrupt or edited.
* :class:`DataError`: a data set is malformed (IDX files, labels, sizes).
* :class:`RunFolderError`: an ``--out`` folder is locked by another run, holds another run's
  results, or a ``--resume`` asks for other settings.
* ``DeviceError`` (:mod:`devices.interface.errors`) derives from :class:`FouropticsError` too.

Each is also a ``ValueError`` (or ``RuntimeError`` for devices) so generic handlers still work.
"""

from __future__ import annotations


class FouropticsError(Exception):
    """Base of the known errors: the CLI prints ``str(exc)`` on one line and exits 2."""


class ConfigError(FouropticsError, ValueError):
    """A configuration value is missing, mistyped, out of range or has a wrong unit."""


class FileFormatError(FouropticsError, ValueError):
    """A file is missing, not of the expected format or version, corrupt, or edited."""


class DataError(FouropticsError, ValueError):
    """A data set is malformed: wrong format, impossible labels, mismatched sizes, NaN."""


class RunFolderError(FouropticsError, ValueError):
    """An output folder is in use by another run, holds another run, or resume settings differ."""


def one_line(exc: BaseException) -> str:
    """``exc``'s message folded onto one line (for the CLI's error output)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
