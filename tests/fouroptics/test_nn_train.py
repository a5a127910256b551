"""Training loop: learns, checkpoints every epoch, resumes exactly, reloads; MAC counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fouroptics.data import render_glyphs
from fouroptics.nn.macs import count_macs
from fouroptics.nn.models import build_model, sclc_config, seg_sclc_config, teacher_config
from fouroptics.nn.train import CHECKPOINT, TrainConfig, fit, load_model


@pytest.fixture(scope="module")
def small() -> tuple[torch.Tensor, ...]:
    x, y = render_glyphs(640, seed=11)
    return x[:512], y[:512], x[512:], y[512:]


def test_sclc_learns_glyphs(small) -> None:
    cfg = sclc_config(detection="intensity", channels=(8, 8))
    model = build_model(cfg, seed=0)
    hist = fit(model, *small, TrainConfig(epochs=2, batch_size=64, lr=5e-3), log=lambda m: None)
    # measured: accuracy 0.72 (chance is 0.1); train loss 1.98 -> 1.21 (0.61 x; was any drop)
    assert hist["final"]["accuracy"] > 0.6
    assert hist["train_loss"][-1] < 0.8 * hist["train_loss"][0]


def test_resume_continues_exactly_where_it_stopped(small, tmp_path: Path) -> None:
    cfg = teacher_config(widths=(4, 8))  # has dropout: its randomness must resume too
    tc = TrainConfig(epochs=3, batch_size=64, lr=2e-3, seed=3)
    straight = build_model(cfg, seed=1)
    h_straight = fit(straight, *small, tc, log=lambda m: None)

    part = build_model(cfg, seed=1)
    tc2 = TrainConfig(**{**tc.__dict__, "epochs": 3})

    # interrupt after 2 of 3 epochs: run a 3-epoch config but stop via a log hook
    class Stop(Exception):
        pass

    def stopper(msg: str) -> None:
        if msg.strip().startswith("epoch 2/3"):
            raise Stop

    with pytest.raises(Stop):
        fit(part, *small, tc2, out_dir=tmp_path, model_config=cfg, log=stopper)
    assert (tmp_path / CHECKPOINT).is_file()
    msgs: list[str] = []
    resumed = build_model(cfg, seed=99)  # weights come from the checkpoint
    h_res = fit(
        resumed, *small, tc2, out_dir=tmp_path, resume=True, model_config=cfg, log=msgs.append
    )
    assert any("resuming" in m and "after epoch 2/3" in m for m in msgs)
    assert sum("epoch 3/3" in m for m in msgs) == 1 and not any("epoch 1/3" in m for m in msgs)
    assert h_res["epoch"] == [1, 2, 3]
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert h_res["final"]["accuracy"] == pytest.approx(h_straight["final"]["accuracy"], abs=0.01)
    reloaded, state = load_model(tmp_path)
    x = small[2][:8]
    torch.testing.assert_close(reloaded(x), resumed.eval()(x))
    assert state["model_config"] == cfg


def test_kd_with_feature_matching_runs_and_a_finished_run_is_not_redone(small, tmp_path) -> None:
    teacher = build_model(teacher_config(widths=(4, 8)), seed=0)
    fit(teacher, *small, TrainConfig(epochs=1, batch_size=64), log=lambda m: None)
    cfg = sclc_config(channels=(4, 8), detection="signed")
    tc = TrainConfig(epochs=1, batch_size=64, lr=3e-3, feature_weight=0.5)
    model = build_model(cfg, seed=0)
    fit(model, *small, tc, teacher=teacher, out_dir=tmp_path, model_config=cfg, log=lambda m: None)
    msgs: list[str] = []
    again = build_model(cfg, seed=0)
    fit(
        again,
        *small,
        tc,
        teacher=teacher,
        out_dir=tmp_path,
        resume=True,
        model_config=cfg,
        log=msgs.append,
    )
    assert not any(m.strip().startswith("epoch 1/1") for m in msgs)  # nothing retrained
    assert any("resuming" in m for m in msgs)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_mac_counts_match_hand_counts() -> None:
    t = build_model(teacher_config(widths=(16, 32)))
    hand = (
        28 * 28 * 16 * 25  # conv1
        + 14 * 14 * 16 * 4  # maxpool 2x2
        + 14 * 14 * 32 * 16 * 25  # conv2
        + 7 * 7 * 32 * 4
        + 32 * 7 * 7 * 128  # fc1
        + 128 * 10
    )
    assert count_macs(t, (1, 28, 28)) == hand
    s = build_model(sclc_config(channels=(16, 32)))  # optics free; detected 32 x 14 x 14
    det = 32 * 14 * 14
    assert count_macs(s, (1, 28, 28)) == det + det + det + 32 * 7 * 7 * 64 + 64 * 10
    signed = build_model(sclc_config(channels=(16, 32), detection="signed"))
    assert count_macs(signed, (1, 28, 28)) == count_macs(s, (1, 28, 28)) + det * 2


def test_segmentation_student_output_shape() -> None:
    m = build_model(seg_sclc_config(64, 11, (4, 8)))
    assert m(torch.rand(2, 1, 64, 64)).shape == (2, 11, 64, 64)
