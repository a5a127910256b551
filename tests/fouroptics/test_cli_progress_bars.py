"""Progress bars end at their total (#20): calibrate's routine bars stopped at 144/145 (their
totals are estimates), and a photon sweep had no bar of its own (simulate's bar covered only
the first measurement, 24 s of 279). Bars are drawn on a terminal only, so the tests say it is
one. The photon sweep also records the photons counted beside those asked for."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest
import yaml
from bench_yaml import TINY_SYSTEM, simulated_bench, tiny_bundle
from glyph_idx import write_glyph_idx

from fouroptics import progress
from fouroptics.cli import main

SYSTEM = TINY_SYSTEM


def _final_counts(text: str, desc: str) -> tuple[int, int]:
    """(n, total) of the last redraw of the bar called ``desc`` in tqdm's output."""
    draws = [d for d in re.split(r"[\r\n]", text) if d.startswith(desc)]
    assert draws, text[-2000:]
    n, total = re.search(r"(\d+)/(\d+)", draws[-1]).groups()
    return int(n), int(total)


def _run_with_bars(monkeypatch, argv: list[str]) -> str:
    monkeypatch.setattr(progress, "show_bars", lambda requested=True, stream=None: True)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0, err.getvalue()[-2000:]
    return err.getvalue()


def test_calibrate_bars_end_at_their_total(monkeypatch, tmp_path) -> None:
    bench = simulated_bench(SYSTEM, name="tiny")
    bench["laser"]["power"] = "10 nW"  # 1 uW saturates the camera at its shortest exposure
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(bench))
    argv = ["calibrate", "--bench", str(tmp_path / "b.yaml"), "--only", "camera"]
    text = _run_with_bars(monkeypatch, [*argv, "--threads", "1", "--out", str(tmp_path / "c")])
    n, total = _final_counts(text, "calibrate camera")
    assert n == total > 0


@pytest.mark.parametrize("seeds", [["0"], ["0", "1"]])
def test_a_sweep_has_one_bar_over_its_points_and_seeds(monkeypatch, tmp_path, seeds) -> None:
    data = write_glyph_idx(tmp_path / "idx", 40, 6)
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(simulated_bench(SYSTEM, name="tiny")))
    tiny_bundle(tmp_path, "complex")
    bench = str(tmp_path / "b.yaml")
    argv = ["simulate", "--bundle", str(tmp_path / "bundle.h5"), "--bench", bench]
    argv += ["--dataset", f"idx:{data}", "--limit", "2", "--threads", "1", "--sweep", "photons"]
    argv += ["--seeds", *seeds, "--out", str(tmp_path / "s")]
    text = _run_with_bars(monkeypatch, argv)
    n, total = _final_counts(text, "sweep photons")
    assert n == total == 11 * len(seeds)  # 11 photon levels
    # each point records the photons asked for (the axis) beside those the camera counted,
    # and the sweep says in a sentence why they differ
    sweep = json.loads((tmp_path / "s" / "results.json").read_text())["sweep"]
    (pts,) = sweep["series"].values()
    for p in pts:
        assert p["requested_photons_per_pixel"] == p["value"]
        assert p["measured_photons_per_pixel"] == p["mean_photons_per_pixel"] is not None
    floor = pts[0]["measured_photons_per_pixel"] / pts[0]["frames_averaged"] - pts[0]["value"]
    assert f"a floor of about {floor:.3g} per pixel" in sweep["photons_note"]
