"""``fouroptics compile``: writes bundle.h5, compile.json and masks.png; known errors print one
line and exit 2, leaving nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fouroptics.cli import main
from fouroptics.compiler import MaskBundle

ROOT = Path(__file__).resolve().parents[2]
MATCHED = str(ROOT / "examples" / "systems" / "matched.yaml")


def test_compile_kernels_writes_bundle_report_and_figure(tmp_path, capsys) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(0).standard_normal((2, 5, 5)))
    out = tmp_path / "out"
    rc = main(
        ["compile", "--kernels", str(kernels), "--image-size", "16", "--system", MATCHED,
         "--detection", "signed", "--encoding", "double-phase", "--slm", "hamamatsu_x13138",
         "--out", str(out)]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    report = json.loads((out / "compile.json").read_text())
    assert report["optical_channels"] == 4 and report["detection"] == "signed"
    assert len(report["channels"]) == 4
    assert all(c["band_held"] and 0.9 < c["fidelity"] <= 1 + 1e-5 for c in report["channels"])
    assert (out / "masks.png").stat().st_size > 1000
    bundle = MaskBundle.load(out / "bundle.h5")
    assert bundle.encoding == "double-phase" and bundle.fourier_levels is not None
    assert "wrote" in capsys.readouterr().out


def test_compile_errors_are_one_line_and_exit_2(tmp_path, capsys) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.ones((600, 600)))
    out = tmp_path / "out"
    rc = main(["compile", "--kernels", str(kernels), "--image-size", "16", "--system", MATCHED,
               "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0
    assert err.startswith("fouroptics compile: error: kernel: 600x600 pixels is larger")
    assert not out.exists()
    (tmp_path / "bad.npy").write_bytes(b"junk")
    rc = main(["compile", "--kernels", str(tmp_path / "bad.npy"), "--image-size", "8",
               "--system", MATCHED, "--out", str(out)])  # fmt: skip
    assert rc == 2 and "not a readable .npy" in capsys.readouterr().err
    rc = main(["compile", "--model", str(tmp_path), "--system", MATCHED, "--out", str(out)])
    assert rc == 2 and "cannot load a trained model" in capsys.readouterr().err
