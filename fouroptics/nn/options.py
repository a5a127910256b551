"""Range checks of the learning verbs' options (``train``, ``distill``, ``experiment``).

Every option is checked by the name the user types, before any data is loaded: a value out of
range raises :class:`~fouroptics.errors.ConfigError` naming the option, the value and what is
allowed. Nothing is clamped and no value stands in for "all" (omit ``--limit-train`` for all).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from fouroptics.errors import ConfigError, DataError

SEED_MAX = 2**31 - 1
#: most epochs a verb accepts (train, distill, experiment, finetune): a bound on the work, far
#: above what any preset uses (8-30); 10**12 epochs would run for ever
MAX_EPOCHS = 10_000
MIN_RESOLUTION = 4  # pixels: the teacher pools twice by 2, the SCLC pools the spectrum by 2


def _fail(name: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{name} {value!r}: {allowed}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_at_least(low: int, hint: str = "") -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if not _is_int(value) or value < low:
            raise _fail(name, value, f"must be an integer >= {low}{hint}")

    return check


def _int_in(low: int, high: int, hint: str = "") -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if not _is_int(value) or not low <= value <= high:
            raise _fail(name, value, f"must be an integer from {low} to {high:,}{hint}")

    return check


def _seed(name: str, value: Any) -> None:
    if not _is_int(value) or not 0 <= value <= SEED_MAX:
        raise _fail(name, value, f"must be an integer in [0, {SEED_MAX}]")


def _positive(name: str, value: Any) -> None:
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise _fail(name, value, "must be a finite number > 0")


def _non_negative(name: str, value: Any) -> None:
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise _fail(name, value, "must be a finite number >= 0")


def _fraction(name: str, value: Any) -> None:
    if not _is_real(value) or not 0.0 <= value <= 1.0:
        raise _fail(name, value, "must lie in [0, 1] (the weight of the soft, teacher loss)")


def _each(check: Callable[[str, Any], None], distinct: bool = False) -> Callable[[str, Any], None]:
    def check_all(name: str, values: Any) -> None:
        values = list(values)
        if not values:
            raise _fail(name, values, "needs at least one value")
        for v in values:
            check(name, v)
        if distinct and len(set(values)) != len(values):
            raise _fail(name, values, "values must be distinct (each writes its own folders)")

    return check_all


_LIMIT_HINT = "; omit it for all"

#: option name -> check. Options absent here (paths, choices) are checked by argparse or later.
RULES: dict[str, Callable[[str, Any], None]] = {
    "--epochs": _int_in(1, MAX_EPOCHS),
    "--student-epochs": _int_in(1, MAX_EPOCHS, "; omit it for the preset's"),
    "--teacher-epochs": _int_in(1, MAX_EPOCHS, "; omit it for the preset's"),
    "--lr": _positive,
    "--batch-size": _int_at_least(1),
    "--seed": _seed,
    "--seeds": _each(_seed, distinct=True),
    "--val": _int_at_least(0, " (0: evaluate on the test set)"),
    "--limit-train": _int_at_least(1, _LIMIT_HINT),
    "--limit-test": _int_at_least(1, _LIMIT_HINT),
    "--threads": _int_at_least(1),
    "--channels": _each(_int_at_least(1)),
    "--width": _each(_int_at_least(1)),
    "--resolutions": _each(_int_at_least(MIN_RESOLUTION), distinct=True),
    "--temperature": _positive,
    "--alpha": _fraction,
    "--feature-weight": _non_negative,
}


def check_options(values: Mapping[str, Any]) -> None:
    """Check each ``{option name: value}`` (None = not given) against :data:`RULES`.

    Raises:
        ConfigError: the first value out of range, naming the option and what is allowed.
    """
    for name, value in values.items():
        if value is not None and name in RULES:
            RULES[name](name, value)


def check_limit(name: str, limit: int | None, available: int, split: str) -> None:
    """Refuse ``--limit-*`` above the number of images the split holds (no silent clamp)."""
    if limit is not None and limit > available:
        raise ConfigError(
            f"{name} {limit}: the {split} split holds only {available} images; "
            f"give at most {available}, or omit it for all"
        )


def check_images(shape: tuple[int, ...], dataset: str) -> None:
    """The models take square single-channel images of side >= :data:`MIN_RESOLUTION`."""
    h, w = shape[-2:]
    if h != w or h < MIN_RESOLUTION:
        raise DataError(
            f"dataset {dataset}: images are {h}x{w} pixels; the models take square images "
            f"of side >= {MIN_RESOLUTION}"
        )


def option_values(opts: Any) -> dict[str, Any]:
    """The options that define an experiment (an ``ExperimentOptions``), by the names the
    user types."""
    names = ("dataset", "preset", "seeds", "detection", "dc_free", "temperature", "alpha",
             "feature_weight", "student_epochs", "teacher_epochs", "val", "resolutions",
             "limit_train", "limit_test")  # fmt: skip
    return {"--" + n.replace("_", "-"): getattr(opts, n) for n in names}
