"""Acceptance: a compiled SCLC (the quick MNIST architecture, channels 16 -> 32, pooled 28 ->
14) read out from the simulated camera gives the model's own detected features, NRMSE <= 1e-3,
for every detection on both example systems (complex encoding, no noise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fouroptics.compiler import MaskBundle, compile_model
from fouroptics.nn.models import build_model, sclc_config
from fouroptics.nn.train import TrainConfig, save_model
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]


def saved_sclc(tmp: Path, detection: str, channels=(16, 32), seed: int = 1) -> tuple:
    cfg = sclc_config(channels=channels, detection=detection)
    model = build_model(cfg, seed=seed).eval()
    with torch.no_grad():  # kernels that use the whole band, not just the 5x5 start
        g = torch.Generator().manual_seed(seed)
        for layer in model.optics.layers:
            if hasattr(layer, "weight_real"):
                layer.weight_real.add_(0.3 * torch.randn(layer.weight_real.shape, generator=g))
                layer.weight_imag.add_(0.3 * torch.randn(layer.weight_imag.shape, generator=g))
    save_model(tmp, model, cfg, {}, TrainConfig())
    return model, tmp


def digits(n: int) -> torch.Tensor:
    """MNIST-like images in [0, 1]: glyph digits (no download)."""
    from fouroptics.data.glyphs import render_glyphs

    return render_glyphs(n, seed=3, size=28)[0]


def nrmse(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(got - ref) / np.linalg.norm(ref))


@pytest.mark.parametrize("name", ["matched", pytest.param("realistic", marks=pytest.mark.slow)])
@pytest.mark.parametrize("detection", ["intensity", "signed", "ideal"])
def test_compiled_sclc_reads_out_its_own_features(tmp_path, name, detection) -> None:
    system = FourFSystem.from_yaml(ROOT / "examples" / "systems" / f"{name}.yaml")
    channels = (16, 32)
    model, run = saved_sclc(tmp_path, detection, channels)
    bundle = compile_model(run, system)
    x = digits(2)
    ref = model.features(x).detach().numpy()
    got = bundle.simulate(x.numpy())
    assert got.shape == ref.shape
    assert nrmse(got, ref) <= 1e-3
    # the head turns the read-out features into the model's logits
    logits = bundle.head()(torch.as_tensor(got, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(logits, model(x).detach().numpy(), rtol=1e-3, atol=1e-3)


def test_bundle_round_trip_keeps_the_readout(tmp_path) -> None:
    system = FourFSystem.from_yaml(ROOT / "examples" / "systems" / "matched.yaml")
    (tmp_path / "run").mkdir()
    model, run = saved_sclc(tmp_path / "run", "ideal", (4, 4))
    bundle = compile_model(run, system)
    path = bundle.save(tmp_path / "bundle.h5")
    again = MaskBundle.load(path, system=system)
    x = digits(2).numpy()
    frames = bundle.camera_frames(x).astype(np.float64)
    np.testing.assert_allclose(again.readout(frames), bundle.readout(frames), rtol=1e-6)
    assert again.n_frames == bundle.n_frames == 2
    assert again.image_shape == (1, 28, 28)
    assert again.fourier_levels is None and again.encoding == "complex"
    # frames in DN through an affine camera: gain and offset restore the same features
    dn = 1e13 * frames + 100.0  # ~1000 DN of signal
    np.testing.assert_allclose(
        again.readout(dn, gain=1e13, offset=100.0), bundle.readout(frames), rtol=1e-6, atol=1e-9
    )


def test_a_head_holding_nan_is_refused_not_scored(tmp_path) -> None:
    from dataclasses import replace

    import pytest

    from fouroptics.errors import ConfigError

    system = FourFSystem.from_yaml(ROOT / "examples" / "systems" / "matched.yaml")
    (tmp_path / "run").mkdir()
    _, run = saved_sclc(tmp_path / "run", "ideal", (4, 4))
    bundle = compile_model(run, system)
    state = {k: v.copy() for k, v in bundle.head_state.items()}
    name = sorted(state)[0]
    state[name].flat[0] = np.nan
    with pytest.raises(ConfigError, match=f"weights {name} hold NaN"):
        replace(bundle, head_state=state, _cache={}).head()
    assert bundle.head() is not None
