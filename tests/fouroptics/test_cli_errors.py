"""Every verb's bad input: one line ``fouroptics <verb>: ...`` on stderr, exit 2, no traceback;
``--debug`` shows the traceback. The demo prints the sampling report's warnings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fouroptics.cli import main
from fouroptics.errors import ConfigError
from fouroptics.io.run_folder import lock_run_folder
from fouroptics.optics import FieldError, FourFSystem

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = """name: {name}
wavelength: {wavelength}
f1: 100 mm
f2: 100 mm
input_slm: {{shape: {shape}, pitch: 8 um}}
fourier_slm: {{shape: [64, 64], pitch: matched, gap_transmission: {gap}}}
camera: {{shape: [64, 64], pitch: matched}}
"""


def system_text(**changes) -> str:
    fields = {"name": "small", "wavelength": "532 nm", "shape": "[64, 64]", "gap": "0.0"}
    return SYSTEM.format(**{**fields, **changes})


#: The least each verb needs besides --out (nothing of it is run: the errors come first).
VERB_ARGS = {
    "demo": ["demo"],
    "train": ["train", "--threads", "1"],
    "distill": ["distill", "--teacher", "/nonexistent/teacher", "--threads", "1"],
    "experiment": ["experiment", "classify", "--threads", "1"],
}


def one_error_line(capsys, verb: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    lines = [line for line in err if not line.startswith("warning: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"fouroptics {verb}:") and "Traceback" not in lines[0]
    return lines[0]


@pytest.mark.parametrize("verb", sorted(VERB_ARGS))
def test_out_that_is_a_file_is_one_line(verb, tmp_path: Path, capsys) -> None:
    target = tmp_path / "file"
    target.write_text("keep me")
    assert main([*VERB_ARGS[verb], "--out", str(target)]) == 2
    line = one_error_line(capsys, verb)
    assert "exists and is not a folder" in line and str(target) in line
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("verb", sorted(VERB_ARGS))
def test_locked_out_is_refused_for_every_verb(verb, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    with lock_run_folder(out, "experiment"):
        assert main([*VERB_ARGS[verb], "--out", str(out)]) == 2
    line = one_error_line(capsys, verb)
    assert "in use by another run" in line and str(out) in line


@pytest.mark.parametrize("verb", ["train", "experiment"])
def test_nn_verbs_bad_dataset_is_one_line(verb, tmp_path: Path, capsys) -> None:
    args = [*VERB_ARGS[verb], "--out", str(tmp_path / "o"), "--dataset", "idx:/nonexistent"]
    assert main(args) == 2
    assert "/nonexistent" in one_error_line(capsys, verb)


def test_distill_missing_teacher_is_one_line(tmp_path: Path, capsys) -> None:
    assert main([*VERB_ARGS["distill"], "--out", str(tmp_path / "o")]) == 2
    assert "/nonexistent/teacher" in one_error_line(capsys, "distill")


BAD_SYSTEMS = {
    "bare-wavelength": (system_text(wavelength="532"), "532 has no unit"),
    "alias-bomb": (
        "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" + system_text(name="*c"),
        "anchors and aliases",
    ),
    "latin-1": (system_text(name="café").encode("latin-1"), "not UTF-8"),
    "utf-16": (system_text(name="café").encode("utf-16"), None),  # decoded: runs
    "syntax": (system_text(shape="[64, 64"), "not valid YAML"),
    "gap-list": (system_text(gap="[1, 2, 3]"), "gap_transmission"),
    "shape-null": (system_text(shape="null"), "input_slm.shape"),
    "huge-shape": (system_text(shape="[200000, 200000]"), "GiB"),
    "empty": ("", "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_SYSTEMS))
def test_demo_system_errors_are_one_line(case, tmp_path: Path, capsys) -> None:
    text, words = BAD_SYSTEMS[case]
    path = tmp_path / "system.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    rc = main(["demo", "--out", str(tmp_path / "o"), "--system", str(path), "--size", "16"])
    if words is None:
        assert rc == 0
        return
    assert rc == 2
    line = one_error_line(capsys, "demo")
    assert "system.yaml" in line and words in line and "error:" in line


def test_demo_missing_system_and_debug_traceback(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["demo", "--out", str(tmp_path / "o"), "--system", str(missing)]) == 2
    assert "nope.yaml: cannot read it" in one_error_line(capsys, "demo")
    with pytest.raises(ConfigError, match="cannot read"):
        main(["--debug", "demo", "--out", str(tmp_path / "o"), "--system", str(missing)])


@pytest.mark.parametrize("size", ["65", "5000", "0", "-3"])
def test_demo_size_outside_the_slm_is_refused_not_clamped(size, tmp_path: Path, capsys) -> None:
    path = tmp_path / "system.yaml"
    path.write_text(system_text())
    assert main(["demo", "--out", str(tmp_path / "o"), "--system", str(path), "--size", size]) == 2
    line = one_error_line(capsys, "demo")
    assert f"--size {size}" in line and "1..64" in line
    assert not (tmp_path / "o" / "summary.json").exists()


def test_demo_prints_the_sampling_warnings(tmp_path: Path, capsys) -> None:
    path = tmp_path / "system.yaml"  # a Fourier SLM half as wide as the input's band
    path.write_text(
        system_text().replace("[64, 64], pitch: matched, gap", "[32, 32], pitch: 103.90625 um, gap")
    )
    assert main(["demo", "--out", str(tmp_path / "o"), "--system", str(path), "--size", "32"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    expected = summary["sampling"]["warnings"]
    assert expected and any("50.0%" in w for w in expected)
    assert err == [f"warning: {w}" for w in expected]


def test_amplitudes_that_overflow_the_dtype_are_refused() -> None:
    system = FourFSystem.matched((16, 16), "8 um")
    field = np.zeros((16, 16))
    field[2, 5] = 1e200
    with pytest.raises(
        FieldError, match=r"input field: magnitude 1e\+200 at index \(2, 5\).*complex64"
    ):
        system.forward(field)
    mask = np.ones((16, 16), complex)
    mask[0, 0] = 1e30
    with pytest.raises(FieldError, match="Fourier mask"):
        system.forward(np.ones((16, 16)), mask)
    wide = system.with_options(dtype="complex128")
    ok = np.ones((16, 16)) * 1e30  # complex128 holds it
    assert np.isfinite(wide.intensity(wide.forward(ok))).all()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        # a dataset that fails fast: without the check the whole demo would start
        (["--resume", "--force", "--dataset", "idx:/nonexistent"], "--resume and --force: mu"),
        (["--quick", "--system", "SYSTEM"], "--quick with --system: the system check is one"),
        (["--force", "--system", "SYSTEM"], "--force with --system"),
    ],
    ids=["resume-force", "quick-system", "force-system"],
)
def test_demo_flags_that_contradict_are_refused(flags, words, tmp_path: Path, capsys) -> None:
    """--force used to win over --resume (and delete the stages); --quick was ignored by the
    system check."""
    path = tmp_path / "system.yaml"
    path.write_text(system_text())
    out = tmp_path / "o"
    flags = [str(path) if f == "SYSTEM" else f for f in flags]
    assert main(["demo", "--out", str(out), "--size", "16", *flags]) == 2
    assert words in one_error_line(capsys, "demo")
    assert not out.exists()


def test_version_prints_one_line_and_exits_0(capsys) -> None:
    from fouroptics import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"fouroptics {__version__}\n"
