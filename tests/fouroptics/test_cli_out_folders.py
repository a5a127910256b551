"""``simulate``, ``finetune`` and ``calibrate`` refuse an ``--out`` that holds their results
(one line naming the file, exit 2, nothing written) unless ``--force`` (#20); they overwrote it
silently before. The tiny bench and 8 x 8 SCLC of the fuzz tests keep each run short."""

from __future__ import annotations

import contextlib
import io

import pytest
import yaml
from bench_yaml import TINY_SYSTEM, simulated_bench, tiny_bundle
from glyph_idx import write_glyph_idx

from fouroptics.cli import main

SYSTEM = TINY_SYSTEM


@pytest.fixture(scope="module")
def argv(tmp_path_factory) -> dict[str, list[str]]:
    tmp = tmp_path_factory.mktemp("outs")
    data = write_glyph_idx(tmp / "idx", 40, 6)
    (tmp / "bench.yaml").write_text(yaml.safe_dump(simulated_bench(SYSTEM, name="tiny")))
    dim = simulated_bench(SYSTEM, name="tiny")
    dim["laser"]["power"] = "10 nW"  # 1 uW saturates the camera at its shortest exposure
    (tmp / "dim.yaml").write_text(yaml.safe_dump(dim))
    tiny_bundle(tmp, "double-phase")
    run = ["--bundle", str(tmp / "bundle.h5"), "--bench", str(tmp / "bench.yaml"), "--dataset"]
    run += [f"idx:{data}", "--limit", "2", "--threads", "1", "--no-progress"]
    return {
        "simulate": ["simulate", *run],
        "finetune": ["finetune", *run, "--train", "8", "--val", "4", "--epochs", "1"],
        "calibrate": [
            "calibrate",
            "--bench",
            str(tmp / "dim.yaml"),
            "--only",
            "camera",
            "--threads",
            "1",
            "--no-progress",
        ],  # fmt: skip
    }


def _run(args: list[str]) -> tuple[int, list[str]]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(args)
    return rc, [line for line in err.getvalue().splitlines() if line.strip()]


#: a file each verb writes, and what the refusal calls the folder's content
HELD = {
    "simulate": ("results.json", "the results of a simulate run"),
    "finetune": ("bundle.h5", "the results of a finetune run"),
    "calibrate": ("calibration.h5", "a calibration"),
}


@pytest.mark.parametrize("verb", sorted(HELD))
def test_an_out_holding_the_verbs_results_is_refused(argv, verb, tmp_path) -> None:
    name, what = HELD[verb]
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_bytes(b"earlier")
    rc, lines = _run([*argv[verb], "--out", str(out)])
    assert rc == 2
    assert lines == [
        f"fouroptics {verb}: error: --out {out}: holds {what} ({name}); pass --force to "
        "overwrite it, or another --out"
    ]
    assert sorted(p.name for p in out.iterdir()) == [name]  # nothing written
    assert (out / name).read_bytes() == b"earlier"


@pytest.mark.parametrize("verb", ["simulate", "calibrate"])
def test_force_overwrites_and_a_fresh_or_foreign_folder_is_used(argv, verb, tmp_path) -> None:
    name, _ = HELD[verb]
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("a folder with other files is fine")
    assert _run([*argv[verb], "--out", str(out)])[0] == 0
    before = (out / name).read_bytes()
    (out / name).write_bytes(b"earlier")
    rc, lines = _run([*argv[verb], "--out", str(out), "--force"])
    assert rc == 0, lines
    assert (out / name).read_bytes() not in (b"earlier", b"") and len(before) > 0
    assert (out / "notes.txt").exists()


def test_finetune_force_overwrites(argv, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("{}")
    rc, lines = _run([*argv["finetune"], "--out", str(out), "--force"])
    assert rc == 0, lines
    assert (out / "bundle.h5").exists() and (out / "results.json").read_text() != "{}"


def test_the_outputs_named_are_what_the_verbs_write() -> None:
    """Each verb's OUTPUTS holds the names it writes (checked on the modules' own lists)."""
    from fouroptics.commands import calibrate, finetune, simulate

    assert "results.json" in simulate.OUTPUTS and "sweep_photons.png" in simulate.OUTPUTS
    assert {"results.json", "bundle.h5", "finetune.png"} <= set(finetune.OUTPUTS)
    assert {"calibration.h5", "calibration.json", "fourier.png"} <= set(calibrate.OUTPUTS)
