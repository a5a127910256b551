"""model.pt / checkpoint.pt integrity: a zeroed, truncated, byte-flipped, foreign or legacy
file raises one FileFormatError naming it; load_run returns the verified model and its config."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from fouroptics.errors import FileFormatError, RunFolderError
from fouroptics.nn import commands, load_run
from fouroptics.nn.models import build_model, sclc_config
from fouroptics.nn.torchfile import load_verified, save_verified
from fouroptics.nn.train import CHECKPOINT, FINAL, TrainConfig, fit, load_model

ARGS = ["--dataset", "glyphs", "--limit-train", "64", "--limit-test", "32", "--threads", "1",
        "--device", "cpu", "--epochs", "1", "--batch-size", "32"]  # fmt: skip


class Payload:
    """Not a tensor or plain container: ``torch.load(weights_only=True)`` must refuse it."""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ck") / "t"
    argv = ["train", "--model", "teacher", "--width", "4", "8", "--out", str(out), *ARGS]
    assert commands.main(argv) == 0
    return out


def _copy(run: Path, dest: Path) -> Path:
    dest.mkdir()
    for p in run.iterdir():
        (dest / p.name).write_bytes(p.read_bytes())
    return dest


def test_load_run_returns_the_verified_model_and_its_config(run: Path) -> None:
    model, config = load_run(run, torch.device("cpu"))
    assert config["model"]["kind"] == "teacher" and config["model"]["widths"] == [4, 8]
    assert config["data"] == {"name": "glyphs", "image_shape": [1, 28, 28], "num_classes": 10,
                              "n_train": 64, "n_test": 32}  # fmt: skip
    assert config["verb"] == "train" and config["settings"]["--epochs"] == 1
    assert len(config["sha256"]) == 64 and config["path"].endswith("model.pt")
    again, state = load_model(run / FINAL, torch.device("cpu"))
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(model(x), again(x))
    assert config["history"]["epoch"] == [1] == state["history"]["epoch"]


@pytest.mark.parametrize("name", [FINAL, CHECKPOINT])
def test_zeroed_30_percent_and_truncation_are_refused_naming_the_file(run, tmp_path, name):
    raw = (run / name).read_bytes()
    bad = bytearray(raw)
    start = len(raw) // 3
    bad[start : start + int(0.3 * len(raw))] = bytes(int(0.3 * len(raw)))
    for label, data in (("zeroed", bytes(bad)), ("truncated", raw[: len(raw) // 2]),
                        ("one byte short", raw[:-1]), ("empty", b"")):  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FileFormatError, match=str(path)) as info:
            load_verified(path)
        assert "corrupt" in str(info.value) or "header" in str(info.value), label


def test_sampled_byte_flips_never_load(run: Path, tmp_path: Path) -> None:
    raw = (run / FINAL).read_bytes()
    rng = np.random.default_rng(0)
    positions = [0, 5, 17, 40, 90, 91, len(raw) - 1, *rng.integers(0, len(raw), 60).tolist()]
    path = tmp_path / FINAL
    for pos in positions:
        bad = bytearray(raw)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        path.write_bytes(bytes(bad))
        with pytest.raises(FileFormatError, match=str(path)):
            load_model(path, torch.device("cpu"))


def test_random_legacy_and_foreign_files_are_refused(tmp_path: Path) -> None:
    rand = tmp_path / "random.pt"
    rand.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(FileFormatError, match=r"random.pt: not a fouroptics model"):
        load_model(rand)
    legacy = tmp_path / "legacy.pt"  # a plain torch.save, as before checksums existed
    torch.save({"model_config": sclc_config(), "state_dict": {}}, legacy)
    with pytest.raises(FileFormatError, match="legacy.pt: not a fouroptics model.*retrained"):
        load_model(legacy)
    foreign = tmp_path / "foreign.pt"
    save_verified({"x": Payload()}, foreign)  # arbitrary objects are never unpickled
    with pytest.raises(FileFormatError, match="foreign.pt: payload cannot be read"):
        load_verified(foreign)
    not_a_model = tmp_path / "tensor.pt"
    save_verified(torch.zeros(3), not_a_model)
    with pytest.raises(FileFormatError, match="tensor.pt: .*not a model"):
        load_model(not_a_model)
    with pytest.raises(FileFormatError, match="no saved model"):
        load_model(tmp_path / "nothing")


def test_cli_refuses_a_corrupt_teacher_and_a_truncated_checkpoint(run, tmp_path, capsys) -> None:
    teacher = _copy(run, tmp_path / "teacher")
    raw = (teacher / FINAL).read_bytes()
    (teacher / FINAL).write_bytes(raw[:100] + bytes(len(raw) - 100))
    capsys.readouterr()
    argv = ["distill", "--teacher", str(teacher), "--out", str(tmp_path / "s"), *ARGS]
    assert commands.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fouroptics distill: error: ") and err.count("\n") == 1
    assert f"{teacher / FINAL}: corrupt" in err and not (tmp_path / "s").exists()

    partial = _copy(run, tmp_path / "partial")
    (partial / FINAL).unlink()
    ck = (partial / CHECKPOINT).read_bytes()
    (partial / CHECKPOINT).write_bytes(ck[: len(ck) * 2 // 3])
    argv = ["train", "--model", "teacher", "--width", "4", "8", "--out", str(partial), *ARGS]
    assert commands.main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"{partial / CHECKPOINT}: corrupt" in err and err.count("\n") == 1


def test_load_run_names_experiment_and_unfinished_folders(tmp_path: Path) -> None:
    from fouroptics.data import render_glyphs

    x, y = render_glyphs(96, seed=3)
    cfg = sclc_config(channels=(2, 2))
    for seed in (0, 1):
        fit(build_model(cfg), x[:64], y[:64], x[64:], y[64:], TrainConfig(epochs=1),
            out_dir=tmp_path / "sclc" / f"seed{seed}", model_config=cfg,
            log=lambda m: None)  # fmt: skip
    with pytest.raises(RunFolderError, match=r"experiment folder; give one of .*sclc/seed0"):
        load_run(tmp_path)
    model, config = load_run(tmp_path / "sclc" / "seed1", torch.device("cpu"))
    assert config["settings"] is None and config["data"] is None  # trained outside the CLI
    (tmp_path / "sclc" / "seed1" / FINAL).unlink()
    with pytest.raises(RunFolderError, match="unfinished run.*--resume"):
        load_run(tmp_path / "sclc" / "seed1")
    with pytest.raises(FileFormatError, match="no such run folder"):
        load_run(tmp_path / "missing")


def test_checkpoint_round_trip_is_exact(tmp_path: Path) -> None:
    obj = {"w": torch.randn(5, 3), "meta": {"a": [1, 2.5, "x", None]}}
    digest = save_verified(obj, tmp_path / "c.pt")
    back = load_verified(tmp_path / "c.pt")
    torch.testing.assert_close(back["w"], obj["w"])
    assert back["meta"] == obj["meta"] and len(digest) == 64
    header = (tmp_path / "c.pt").read_bytes()[:91]
    assert header == b"fouroptics-torch 1 sha256 " + digest.encode() + b"\n"
    buf = io.BytesIO()
    torch.save(obj, buf)
    assert (tmp_path / "c.pt").read_bytes()[91:] == buf.getvalue()  # the plain torch payload
