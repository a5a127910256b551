"""``fouroptics simulate`` and ``fouroptics finetune`` on a segmentation SCLC: a tiny model
trained on 32 x 32 canvases, compiled ``complex`` for the ideal example bench's system. Noise
off, the optical mIoU and pixel accuracy equal the digital ones; on the noisy bench of the same
optics the run works and its numbers are in range; fine-tuning trains the per-pixel head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from glyph_idx import write_glyph_idx

from fouroptics.cli import main
from fouroptics.compiler import MaskBundle, compile_model
from fouroptics.data.registry import load_segmentation
from fouroptics.nn.models import build_model, seg_sclc_config
from fouroptics.nn.train import TrainConfig, fit_data
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]
IDEAL = ROOT / "examples" / "benches" / "ideal.yaml"
NOISY = ROOT / "examples" / "benches" / "aligned_noisy.yaml"  # the same optics, a real camera


@pytest.fixture(scope="module")
def seg(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("seg")
    data = write_glyph_idx(tmp / "idx", 300, 60)
    dataset = f"idx:{data}"
    canv = load_segmentation(dataset, seed=0, size=32)  # what simulate evaluates on
    canv.train_x, canv.train_y = canv.train_x[:1500], canv.train_y[:1500]
    canv.test_x, canv.test_y = canv.test_x[:100], canv.test_y[:100]
    cfg = seg_sclc_config(32, canv.num_classes, (4,), "intensity")
    model = build_model(cfg, seed=0)
    run = tmp / "model"
    tc = TrainConfig(epochs=10, batch_size=64, lr=3e-2)
    fit_data(model, canv, tc, task="segment", out_dir=run, model_config=cfg, log=lambda m: None)
    system = FourFSystem.from_yaml(IDEAL)
    bundle = compile_model(run, system, encoding="complex").save(tmp / "bundle.h5")
    return {"tmp": tmp, "data": dataset, "bundle": bundle, "run": run}


def _simulate(seg, bench: Path, name: str, *extra: str) -> dict:
    out = seg["tmp"] / name
    argv = ["simulate", "--bundle", str(seg["bundle"]), "--bench", str(bench), "--out", str(out)]
    argv += ["--dataset", seg["data"], "--limit", "24", "--no-progress", *extra]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == "segment"
    assert "segmentation.png" in res["files"] and (out / "segmentation.png").stat().st_size
    assert not (out / "confusion.png").exists()  # the masks instead of the confusion matrix
    return res


def _miou_from_confusion(cm: np.ndarray) -> tuple[float, float]:
    """mIoU over the classes present and pixel accuracy, by hand from the confusion matrix."""
    cm = np.asarray(cm, dtype=float)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    return float(np.mean(inter[union > 0] / union[union > 0])), float(inter.sum() / cm.sum())


def test_noise_off_optical_segmentation_equals_digital(seg, capsys):
    res = _simulate(seg, IDEAL, "ideal", "--no-noise")
    dig, opt = res["digital"], res["optical"]
    assert dig["source"].startswith("model")  # the trained SCLC itself is the reference
    assert dig["miou"] > 0.12  # it learned some digits: not all background (~0.07)
    predicted = np.count_nonzero(np.sum(res["confusion"], axis=0))
    assert predicted >= 5  # so that equal label maps mean something
    assert abs(opt["miou"] - dig["miou"]) <= 1e-3  # within 0.1 point
    assert abs(opt["pixel_accuracy"] - dig["pixel_accuracy"]) <= 1e-3
    assert opt["agreement_with_digital"] > 0.995  # pixel by pixel
    assert opt["feature_nrmse"] < 5e-3
    # the metrics are the confusion matrix's (recomputed here by hand)
    miou, pix = _miou_from_confusion(res["confusion"])
    assert miou == pytest.approx(opt["miou"], abs=1e-6)
    assert pix == pytest.approx(opt["pixel_accuracy"], abs=1e-6)
    assert np.sum(res["confusion"]) == 24 * 32 * 32
    assert "mIoU" in capsys.readouterr().out


def test_noisy_bench_runs_and_its_numbers_are_in_range(seg):
    res = _simulate(seg, NOISY, "noisy")
    dig, opt = res["digital"], res["optical"]
    for m in ("miou", "pixel_accuracy"):
        assert 0 <= opt[m] <= 1
        assert abs(opt[m] - dig[m]) < 0.1  # shot and read noise at half full well
    assert 0 < opt["feature_nrmse"] < 0.3
    assert opt["mean_photons_per_pixel"] > 100 and opt["saturated_fraction"] < 1e-3
    assert res["hardware_estimate"]


def test_finetune_trains_the_segmentation_head_through_the_bench(seg):
    out = seg["tmp"] / "ft"
    argv = ["finetune", "--bundle", str(seg["bundle"]), "--bench", str(NOISY), "--out", str(out)]
    argv += ["--dataset", seg["data"], "--train", "48", "--val", "24", "--limit", "24"]
    argv += ["--epochs", "2", "--no-progress", "--threads", "1"]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == "segment"
    assert set(res["digital"]) == {"miou", "pixel_accuracy"}
    keys = {f"{s}_{m}" for s in ("val", "test") for m in ("miou", "pixel_accuracy")}
    assert set(res["before"]) == keys == set(res["after"])
    assert res["after"]["val_miou"] >= res["before"]["val_miou"]  # the best epoch is kept
    assert all(0 <= v <= 1 for v in (*res["before"].values(), *res["after"].values()))
    tuned = MaskBundle.load(out / "bundle.h5")
    assert tuned.meta["finetuned"]["bench"] == str(NOISY)
    feats = tuned.simulate(np.zeros((2, *tuned.image_shape), np.float32))
    with torch.no_grad():
        logits = tuned.head()(torch.as_tensor(feats, dtype=torch.float32))
    assert logits.shape == (2, 11, 32, 32)  # a label map per canvas
