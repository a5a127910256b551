"""The JSON reports (calibration.json, results.json, compile.json) are strict JSON: a NaN or
infinite number is written as null and a ``non_finite`` field says which and why (they were
``NaN``/``Infinity``, which strict parsers refuse)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fouroptics.report import write_json


def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_null_and_said_why(tmp_path) -> None:
    payload = {
        "registration": {"beam_waist_px": float("inf"), "residual_px": np.float64(5.1)},
        "exposure": {"brightest_tile_fraction": np.float32("nan")},
        "curve": np.array([1.0, -np.inf]),
        "ok": [1, True, None, "x"],
    }
    data = _strict(write_json(tmp_path / "calibration.json", payload).read_text())
    assert data["registration"] == {"beam_waist_px": None, "residual_px": 5.1}
    assert data["exposure"]["brightest_tile_fraction"] is None
    assert data["curve"] == [1.0, None] and data["ok"] == [1, True, None, "x"]
    assert data["non_finite"]["values"] == {
        "registration.beam_waist_px": "inf",
        "exposure.brightest_tile_fraction": "nan",
        "curve[1]": "-inf",
    }
    assert "written as null" in data["non_finite"]["why"]


def test_finite_reports_are_unchanged_and_unknown_objects_still_refused(tmp_path) -> None:
    data = _strict(write_json(tmp_path / "r.json", {"a": np.int64(3), "b": 0.5}).read_text())
    assert data == {"a": 3, "b": 0.5}
    with pytest.raises(TypeError, match="not JSON serialisable"):
        write_json(tmp_path / "bad.json", {"a": object()})
