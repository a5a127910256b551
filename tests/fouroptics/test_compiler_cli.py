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


def _calibration(path: Path, levels: int) -> Path:
    from calibration.calset import CalibrationSet

    curve = 2.1 * np.pi * (np.arange(levels) / (levels - 1)) ** 1.3  # a measured, nonlinear LUT
    lut = {"fourier_slm": {"curve": curve, "inverse": np.arange(levels)}}
    return CalibrationSet(bench_name="test", sections={"lut": lut}).save(path)


def test_compile_uses_a_calibrations_measured_lut(tmp_path, capsys) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(1).standard_normal((1, 5, 5)))
    cal = _calibration(tmp_path / "cal.h5", 256)
    out = tmp_path / "out"
    rc = main(
        ["compile", "--kernels", str(kernels), "--image-size", "16", "--system", MATCHED,
         "--detection", "intensity", "--encoding", "double-phase", "--slm", "holoeye_pluto2",
         "--calibration", str(cal), "--out", str(out)]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    bundle = MaskBundle.load(out / "bundle.h5")
    curve = 2.1 * np.pi * (np.arange(256) / 255) ** 1.3
    np.testing.assert_allclose(bundle.slm_table, np.exp(1j * curve), atol=1e-12)
    # the levels were chosen on the measured curve: the displayed phases are the curve's values
    shown = np.angle(np.asarray(bundle.slm_table)[bundle.fourier_levels])
    assert np.allclose(np.exp(1j * shown), np.exp(1j * curve[bundle.fourier_levels]))
    assert "calibrat" in json.dumps(bundle.slm)


def test_compile_refuses_a_calibration_for_another_slm(tmp_path, capsys) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.ones((1, 3, 3)))
    cal = _calibration(tmp_path / "cal.h5", 1024)
    rc = main(
        ["compile", "--kernels", str(kernels), "--image-size", "16", "--system", MATCHED,
         "--encoding", "double-phase", "--slm", "holoeye_pluto2", "--calibration", str(cal),
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "1024 levels" in err[0], err
    assert not (tmp_path / "out" / "bundle.h5").exists()


def test_a_bench_yaml_declares_the_fourier_slm_the_compiler_uses(tmp_path, capsys) -> None:
    """Without --slm, a bench's Fourier SLM (profile and overrides) is compiled for: fringing
    and LUT of the declared holoeye_pluto2 on the misaligned bench (refined through them), a
    linear 2 pi SLM without fringing on the ideal bench; `complex` stays ideal."""
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(2).standard_normal((1, 5, 5)))
    seen = {}
    for bench, enc in (("misaligned_noisy", "double-phase"), ("ideal", "double-phase"),
                       ("ideal", "complex")):  # fmt: skip
        out = tmp_path / f"{bench}-{enc}"
        rc = main(
            ["compile", "--kernels", str(kernels), "--image-size", "16", "--system",
             str(ROOT / "examples" / "benches" / f"{bench}.yaml"), "--detection", "intensity",
             "--encoding", enc, "--refine", "20" if enc != "complex" else "0",
             "--out", str(out)]
        )  # fmt: skip
        assert rc == 0, capsys.readouterr().err
        seen[bench, enc] = json.loads((out / "compile.json").read_text())
    noisy = seen["misaligned_noisy", "double-phase"]["slm"]
    assert noisy["source"] == "bench" and noisy["fringing"] == 0.05
    assert "PLUTO" in noisy["name"]
    assert any(
        "fringing (c = 0.05)" in w for w in seen["misaligned_noisy", "double-phase"]["warnings"]
    )
    ideal = seen["ideal", "double-phase"]["slm"]
    assert ideal["source"] == "bench" and ideal["fringing"] == 0.0
    assert seen["ideal", "complex"]["slm"] is None
    table = MaskBundle.load(tmp_path / "ideal-double-phase" / "bundle.h5").slm_table
    np.testing.assert_allclose(np.angle(table[1] / table[0]), 2 * np.pi / 255, rtol=1e-9)


def test_a_bench_slm_out_of_range_is_one_line_naming_the_file(tmp_path, capsys) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.ones((1, 3, 3)))
    text = (ROOT / "examples" / "benches" / "misaligned_noisy.yaml").read_text()
    bad = tmp_path / "bench.yaml"
    bad.write_text(
        text.replace(
            "  profile: holoeye_pluto2\ncamera:",
            "  profile: holoeye_pluto2\n  fringing: 0.4\ncamera:",
        )
    )
    out = tmp_path / "out"
    rc = main(["compile", "--kernels", str(kernels), "--image-size", "16", "--system", str(bad),
               "--encoding", "double-phase", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert str(bad) in err[0] and "fringing: got 0.4" in err[0]
    assert not out.exists()


def test_bad_kernels_and_sizes_are_one_line_and_nothing_written(tmp_path, capsys) -> None:
    good = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    cases = {
        "bool": (good != 0, ["--image-size", "16"], "not bool"),
        "tiny": (good * 1e-300, ["--image-size", "16"], "largest |value|"),
        "size0": (good, ["--image-size", "0"], "image_size: got 0"),
        "size-5": (good, ["--image-size", "-5"], "image_size: got -5"),
        "size1": (good, ["--image-size", "1"], "image_size: got 1"),
        "huge": (good, ["--image-size", "100000"], "image_size: got 100000"),
        "below-kernel": (good, ["--image-size", "2"], "--image-size 2: smaller than the 3x3"),
        "out-empty": (good, ["--image-size", "16", "--out", ""], "--out: empty"),
        "upsample": (good, ["--image-size", "16", "--upsample", "0"], "--upsample: got 0"),
        "frames": (good, ["--image-size", "16", "--max-frames", "0"], "--max-frames: got 0"),
    }
    for name, (kernel, extra, says) in cases.items():
        path = tmp_path / f"{name}.npy"
        np.save(path, kernel)
        out = tmp_path / f"out_{name}"
        rc = main(["compile", "--kernels", str(path), "--system", MATCHED, "--out", str(out),
                   *extra])  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.count("\n") == 0 and says in err, (name, err)
        assert not out.exists()


def test_an_encoding_the_benchs_fourier_slm_cannot_show_is_refused_or_warned(
    tmp_path, capsys
) -> None:
    """amplitude on the ideal bench's phase-only SLM: refused (simulate would refuse it);
    complex: compiled with a warning (a simulated bench shows it on an ideal modulator)."""
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.ones((1, 3, 3)))
    ideal = str(ROOT / "examples" / "benches" / "ideal.yaml")
    argv = ["compile", "--kernels", str(kernels), "--image-size", "8", "--system", ideal]
    assert main([*argv, "--encoding", "amplitude", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--encoding amplitude: needs a Fourier SLM that modulates " in err[0]
    assert "modulates phase; use an encoding for it (phase, phase-multi, double-phase" in err[0]
    assert not (tmp_path / "a").exists()
    assert main([*argv, "--encoding", "complex", "--out", str(tmp_path / "c")]) == 0
    said = [w for w in capsys.readouterr().out.splitlines() if "warning" in w]
    assert len(said) == 1 and "cannot display complex masks" in said[0]
    report = json.loads((tmp_path / "c" / "compile.json").read_text())
    assert any("cannot display complex masks" in w for w in report["warnings"])


def test_a_rerun_into_a_compiled_folder_is_refused_unless_forced(tmp_path, capsys) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.ones((1, 3, 3)))
    out = tmp_path / "out"
    argv = ["compile", "--kernels", str(kernels), "--image-size", "8", "--system", MATCHED]
    assert main([*argv, "--out", str(out)]) == 0
    before = (out / "bundle.h5").stat().st_mtime_ns
    capsys.readouterr()
    assert main([*argv, "--out", str(out), "--detection", "intensity"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds a compiled bundle (bundle.h5); pass --force" in err[0]
    assert (out / "bundle.h5").stat().st_mtime_ns == before
    assert main([*argv, "--out", str(out), "--detection", "intensity", "--force"]) == 0
    assert MaskBundle.load(out / "bundle.h5").detection == "intensity"


def test_ideal_detection_that_does_not_fit_hints_the_detections_that_would(
    tmp_path, capsys
) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(0).standard_normal((8, 4, 5, 5)))
    out = tmp_path / "out"
    argv = ["compile", "--kernels", str(kernels), "--image-size", "32", "--system", MATCHED]
    assert main([*argv, "--max-frames", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fouroptics compile: error: frames: ")
    assert err[0].endswith("(+R, -R) per frame: --detection intensity fits (2 frames)")
    assert not out.exists()
