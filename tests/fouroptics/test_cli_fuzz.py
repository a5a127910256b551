"""The verbs' numeric options at their edges (0, negative, nan, inf, huge) and at random: each
run ends with exit 0, or exit 2 and one line on stderr; never a traceback. A tiny bench (a 32 x
32 input SLM), an 8 x 8 SCLC and 6 test glyphs keep a run that is accepted under a second."""

from __future__ import annotations

import contextlib
import io
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from bench_yaml import TINY_SYSTEM, simulated_bench, tiny_bundle
from glyph_idx import write_glyph_idx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fouroptics.cli import build_parser, main
from fouroptics.commands.inputs import check_run_args
from fouroptics.errors import ConfigError
from fouroptics.nn.options import MAX_EPOCHS
from fouroptics.units import UnitError, parse_option

ROOT = Path(__file__).resolve().parents[2]
MATCHED = str(ROOT / "examples" / "systems" / "matched.yaml")
SYSTEM = TINY_SYSTEM
HUGE = str(10**12)
EDGES = ("0", "-1", "nan", "inf", "1e12", HUGE)

#: numeric options per verb (every option at every edge: --epochs and --refine are bounded, so
#: 10**12 of them is refused too)
OPTIONS = {
    "simulate": ("--limit", "--seed", "--seeds", "--batch", "--threads", "--target", "--exposure"),
    "finetune": (
        "--limit",
        "--seed",
        "--batch",
        "--threads",
        "--target",
        "--exposure",
        "--epochs",
        "--lr",
        "--batch-size",
        "--train",
        "--val",
    ),  # fmt: skip
    "compile": ("--image-size", "--max-frames", "--upsample", "--refine"),
    "calibrate": ("--seed", "--threads"),
    "demo": ("--size",),
}
#: runs that would repeat another one (the default seed; --seeds acts with --sweep only; 1e12
#: is 10**12 for a float option), left out to keep the file fast
REPEATS = {("--seed", "0"), ("--seeds", "0"), ("--seeds", HUGE)}
REPEATS |= {(option, "1e12") for option in ("--target", "--exposure", "--lr")}


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("fuzz")
    data = write_glyph_idx(tmp / "idx", 40, 6)
    bench = simulated_bench(SYSTEM, name="tiny")
    (tmp / "bench.yaml").write_text(yaml.safe_dump(bench))
    tiny_bundle(tmp, "double-phase")
    np.save(tmp / "k.npy", np.ones((1, 3, 3)))
    (tmp / "system.yaml").write_text(
        "wavelength: 532 nm\nf1: 100 mm\nf2: 100 mm\ninput_slm: {shape: [32, 32], pitch: 8 um}\n"
        "fourier_slm: {shape: [32, 32], pitch: matched}\ncamera: {shape: [32, 32], "
        "pitch: matched}\n"
    )
    run = ["--bundle", str(tmp / "bundle.h5"), "--bench", str(tmp / "bench.yaml"), "--dataset"]
    run += [f"idx:{data}", "--limit", "2", "--threads", "1", "--no-progress"]
    base = {
        "simulate": ["simulate", *run],
        "finetune": ["finetune", *run, "--train", "8", "--val", "4", "--epochs", "1"],
        "compile": [
            "compile",
            "--kernels",
            str(tmp / "k.npy"),
            "--image-size",
            "8",
            "--system",
            MATCHED,
            "--no-progress",
        ],  # fmt: skip
        "calibrate": [
            "calibrate",
            "--bench",
            str(tmp / "bench.yaml"),
            "--only",
            "camera",
            "--threads",
            "1",
            "--no-progress",
        ],  # fmt: skip
        "demo": ["demo", "--system", str(tmp / "system.yaml"), "--no-progress"],
    }
    return {"tmp": tmp, "base": base, "runs": itertools.count()}


def run_cli(made: dict, argv: list[str]) -> tuple[int, list[str]]:
    """``main(argv)`` into a fresh --out: (exit status, stderr lines other than warnings)."""
    out = made["tmp"] / f"out{next(made['runs'])}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main([*argv, "--out", str(out)])
        except SystemExit as exc:  # argparse: a value that is not a number
            rc = exc.code
    text = err.getvalue()
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    return rc, [line for line in lines if not line.startswith("warning: ")]


def assert_result_or_one_line(made: dict, verb: str, argv: list[str]) -> None:
    rc, lines = run_cli(made, argv)
    assert rc in (0, 2), (argv, rc, lines)
    if rc == 2:
        assert len(lines) == 1 and lines[0].startswith(f"fouroptics {verb}: error: "), lines


@pytest.mark.parametrize(
    ("verb", "option", "value"),
    [
        (verb, option, value)
        for verb, options in OPTIONS.items()
        for option in options
        for value in EDGES
        if (option, value) not in REPEATS
    ],
)
def test_every_numeric_option_at_its_edges_is_a_result_or_one_line(made, verb, option, value):
    assert_result_or_one_line(made, verb, [*made["base"][verb], option, value])


def test_threads_beyond_what_torch_takes_is_one_line(made):
    """``--threads 10**12`` was an OverflowError from torch.set_num_threads."""
    for verb in ("simulate", "finetune", "calibrate"):
        rc, lines = run_cli(made, [*made["base"][verb], "--threads", HUGE])
        assert rc == 2 and lines == [
            f"fouroptics {verb}: error: --threads: got {HUGE}; expected an integer from 1 to 1024"
        ]


def test_unbounded_work_is_refused_in_one_line(made):
    """``--epochs 10**12`` and ``--refine 10**12`` were accepted and would have run for ever."""
    rc, lines = run_cli(made, [*made["base"]["finetune"], "--epochs", HUGE])
    assert rc == 2 and lines == [
        f"fouroptics finetune: error: --epochs: got {HUGE}; expected an integer from 0 to "
        "10,000 (a bound on the work: each epoch measures every training image on the bench)"
    ]
    rc, lines = run_cli(made, [*made["base"]["compile"], "--refine", HUGE])
    assert rc == 2 and lines == [
        f"fouroptics compile: error: --refine: got {HUGE}; expected an integer from 0 to "
        "100,000 (a bound on the work)"
    ]
    rc, lines = run_cli(made, ["train", "--dataset", "glyphs", "--epochs", HUGE])
    assert rc == 2 and len(lines) == 1 and "from 1 to 10,000" in lines[0], lines


def test_a_value_that_is_not_a_number_is_one_line_with_a_pointer_to_help(made):
    rc, lines = run_cli(made, [*made["base"]["compile"], "--max-frames", "nan"])
    assert rc == 2 and lines == [
        "fouroptics compile: error: argument --max-frames: invalid int value: 'nan' "
        "(see fouroptics compile --help)"
    ]


# -- at random: the checks every run verb makes before it loads anything -------------------
INTS = st.one_of(st.integers(-(10**15), 10**15), st.sampled_from([0, -1, 1, 10**12]))
FLOATS = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=INTS, seed=INTS, seeds=st.lists(INTS, max_size=3), threads=st.none() | INTS,
    target=FLOATS, lr=FLOATS, epochs=INTS, batch_size=INTS, limit=st.none() | INTS,
)  # fmt: skip
def test_run_options_are_accepted_in_range_or_refused_in_one_line(
    batch, seed, seeds, threads, target, lr, epochs, batch_size, limit
):
    import argparse

    args = argparse.Namespace(
        batch=batch, seed=seed, seeds=seeds, threads=threads, target=target, lr=lr,
        epochs=epochs, batch_size=batch_size, limit=limit, train=8, val=4,
    )  # fmt: skip
    try:
        got = check_run_args(args)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("--")
        return
    assert 0 < got <= 1 and batch >= 1 and seed >= 0 and all(s >= 0 for s in seeds)
    assert threads is None or 1 <= threads <= 1024
    assert math.isfinite(lr) and lr > 0 and 0 <= epochs <= MAX_EPOCHS and batch_size >= 1
    assert limit is None or limit >= 1


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=12),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.tuples(
            st.floats(-1e6, 1e6), st.sampled_from(["s", "ms", "us", "ns", "m", "", " x"])
        ).map(lambda t: f"{t[0]} {t[1]}"),
    )
)
def test_exposure_text_is_a_positive_finite_time_or_one_line(text):
    try:
        seconds = parse_option(text, "time", "--exposure")
    except UnitError as exc:
        assert "\n" not in str(exc).strip() and "--exposure" in str(exc)
        return
    assert math.isfinite(seconds) and seconds > 0


@settings(max_examples=200, deadline=None)
@given(
    verb=st.sampled_from(["simulate", "finetune", "compile", "calibrate"]),
    text=st.one_of(st.text(max_size=8), INTS.map(str), FLOATS.map(repr)),
)
def test_any_text_for_a_numeric_option_parses_or_is_one_line(verb, text):
    """argparse's own refusals (not a number) are one line, exit 2, like every known error."""
    parser = build_parser(verb)
    base = {
        "simulate": ["--bundle", "b", "--bench", "b", "--out", "o"],
        "finetune": ["--bundle", "b", "--bench", "b", "--out", "o"],
        "compile": ["--kernels", "k", "--system", "s", "--out", "o"],
        "calibrate": ["--bench", "b", "--out", "o"],
    }[verb]
    option = {"simulate": "--batch", "finetune": "--lr", "compile": "--max-frames",
              "calibrate": "--threads"}[verb]  # fmt: skip
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            parser.parse_args([verb, *base, f"{option}={text}"])
        except SystemExit as exc:
            assert exc.code == 2
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"fouroptics {verb}: error: "), lines
