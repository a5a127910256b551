"""The README's Python example (a compiled bundle on a simulated bench with a measured
calibration, through ``devices.OpticalModel``) runs as written, on a small bench and data set:
its paths and data set are the only things swapped."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from fouroptics.cli import main

ROOT = Path(__file__).resolve().parents[2]
sys_path = ROOT / "tests" / "fouroptics"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    hits = [b for b in blocks if "OpticalModel(" in b]
    assert len(hits) == 1, "the README has one OpticalModel example"
    return hits[0]


def test_readme_optical_model_example_runs(small_bench_yaml, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(sys_path))
    from glyph_idx import write_glyph_idx

    from fouroptics.compiler import compile_model
    from fouroptics.io.yaml_load import load_yaml
    from fouroptics.nn.models import build_model, sclc_config
    from fouroptics.nn.train import TrainConfig, save_model
    from fouroptics.optics import FourFSystem

    data = write_glyph_idx(tmp_path / "idx", 64, 24)
    cfg = sclc_config(channels=(4, 4), detection="intensity")
    run = tmp_path / "model"
    run.mkdir()
    save_model(run, build_model(cfg, seed=0), cfg, {}, TrainConfig())
    system = FourFSystem.from_dict(load_yaml(small_bench_yaml, "bench")["system"])
    bundle = compile_model(run, system, encoding="complex").save(tmp_path / "bundle.h5")
    assert main(["calibrate", "--bench", str(small_bench_yaml), "--out", str(tmp_path / "cal"),
                 "--no-progress", "--only", "registration"]) == 0  # fmt: skip
    code = readme_example()
    swaps = {
        '"examples/benches/misaligned_noisy.yaml"': repr(str(small_bench_yaml)),
        '"out/compile/bundle.h5"': repr(str(bundle)),
        '"out/cal/calibration.h5"': repr(str(tmp_path / "cal" / "calibration.h5")),
        'load_classification("glyphs", resolution=16)': (
            f"load_classification({'idx:' + str(data)!r}, resolution=28)"
        ),
    }
    for old, new in swaps.items():
        assert old in code, f"the README example no longer says {old}"
        code = code.replace(old, new)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own code
    result, labels = scope["result"], scope["labels"]
    assert set(result.metrics) == {"accuracy"} and 0 <= result.metrics["accuracy"] <= 1
    assert result.features.shape[0] == len(result.predictions) == 24
    assert result.stats.calibration != "none" and result.stats.frames > 0
    assert labels.shape == (0,) or labels.ndim == 1
    assert np.isfinite(result.features).all()
    assert "accuracy" in capsys.readouterr().out
