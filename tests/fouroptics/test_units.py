from __future__ import annotations

import pytest

from fouroptics.units import UnitError, parse_quantity


@pytest.mark.parametrize(
    ("value", "dimension", "expected"),
    [
        ("532 nm", "length", 532e-9),
        ("8 um", "length", 8e-6),
        ("8µm", "length", 8e-6),
        ("100 mm", "length", 0.1),
        ("1.5e-3 m", "length", 1.5e-3),
        (0.25, "length", 0.25),
        ("10 ms", "time", 0.01),
        ("5 mW", "power", 5e-3),
        ("93 %", "dimensionless", 0.93),
    ],
)
def test_parse_quantity(value, dimension, expected) -> None:
    assert parse_quantity(value, dimension, "x") == pytest.approx(expected)


@pytest.mark.parametrize("value", ["8 furlongs", "eight um", None, True, [1], "1 s"])
def test_parse_quantity_rejects(value) -> None:
    with pytest.raises(UnitError, match="cfg.pitch"):
        parse_quantity(value, "length", "cfg.pitch")


def test_zero_allowed_only_on_request() -> None:
    assert parse_quantity(0, "time", "t", allow_zero=True) == 0.0
    with pytest.raises(UnitError, match="> 0"):
        parse_quantity(0, "time", "t")


def test_an_option_takes_a_bare_number_in_si_or_a_unit() -> None:
    """``--exposure 0.002`` was refused as "unknown unit ''" while the message allowed SI."""
    from fouroptics.units import parse_option

    assert parse_option("0.002", "time", "--exposure") == pytest.approx(2e-3)
    assert parse_option("2 ms", "time", "--exposure") == pytest.approx(2e-3)
    for bad, says in (("nan", "finite"), ("-1", "> 0"), ("2 mm", "length"), ("", "cannot read")):
        with pytest.raises(UnitError, match=says):
            parse_option(bad, "time", "--exposure")
