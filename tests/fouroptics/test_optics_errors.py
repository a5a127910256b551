"""Bad input raises an error naming the field and the value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fouroptics.errors import ConfigError
from fouroptics.optics import FieldError, FourFSystem, PixelGrid, UnitError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "systems"


def good(**changes):
    cfg = dict(
        wavelength="532 nm",
        f1="100 mm",
        f2="150 mm",
        input_slm={"shape": [16, 16], "pitch": "8 um"},
        fourier_slm={"shape": [20, 20], "pitch": "6.4 um"},
        camera={"shape": [24, 24], "pitch": "5.5 um"},
    )
    cfg.update(changes)
    return cfg


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"wavelength": 0}, ["system.wavelength", "0", "> 0"]),
        ({"wavelength": -532e-9}, ["system.wavelength", "-5.32e-07"]),
        ({"wavelength": "532 nmm"}, ["system.wavelength", "nmm", "nm"]),
        ({"wavelength": "5 ms"}, ["system.wavelength", "'ms' is a time"]),
        ({"wavelength": "green"}, ["system.wavelength", "green"]),
        ({"f1": "-100 mm"}, ["system.f1", "-100 mm"]),
        ({"f2": 0.0}, ["system.f2"]),
        ({"f1": float("nan")}, ["system.f1", "finite"]),
        ({"input_slm": {"shape": [16, 16], "pitch": 0}}, ["input_slm.pitch", "0"]),
        ({"camera": {"shape": [16, 16], "pitch": "-5 um"}}, ["camera.pitch", "-5 um"]),
        ({"camera": {"shape": [16, 0], "pitch": "5 um"}}, ["camera.shape", "[16, 0]"]),
        (
            {"fourier_slm": {"shape": [8, 8], "pitch": "8 um", "fill_factor": 1.5}},
            ["fourier_slm.fill_factor", "1.5"],
        ),
        ({"fourier_slm": {"shape": [8, 8]}}, ["fourier_slm", "pitch"]),
        ({"fourier_slm": {"shape": [8, 8], "pitch": "8 um", "pitchh": 1}}, ["pitchh"]),
        ({"focal": 1}, ["unknown", "focal"]),
        ({"pixel_quadrature": 0}, ["pixel_quadrature", "1..8"]),
        ({"input_pixel_model": "square"}, ["input_pixel_model", "square", "aperture"]),
        ({"dtype": "float16"}, ["system.dtype", "float16", "complex64"]),
    ],
)
def test_bad_configuration_names_the_field_and_value(changes, words) -> None:
    with pytest.raises(UnitError) as err:
        FourFSystem.from_dict(good(**changes))
    for word in words:
        assert word in str(err.value)


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "matched.yaml").read_text().replace("532 nm", "532 parsecs"))
    with pytest.raises(UnitError, match=r"bad\.yaml.*system\.wavelength.*parsecs"):
        FourFSystem.from_yaml(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("wavelength: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:2:1: not valid YAML"):
        FourFSystem.from_yaml(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        FourFSystem.from_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize("to_torch", [False, True])
def test_non_finite_or_misshapen_arrays_are_refused(to_torch: bool) -> None:
    system = FourFSystem.from_dict(good())
    conv = torch.from_numpy if to_torch else (lambda a: a)
    field = np.ones((16, 16), complex)
    mask = np.ones((20, 20), complex)
    nan_field = field.copy()
    nan_field[3, 4] = np.nan
    with pytest.raises(FieldError, match=r"input field.*nan.*\(3, 4\)"):
        system.forward(conv(nan_field), conv(mask))
    inf_mask = mask.copy()
    inf_mask[0, 7] = np.inf
    with pytest.raises(FieldError, match=r"Fourier mask.*inf.*\(0, 7\)"):
        system.forward(conv(field), conv(inf_mask))
    with pytest.raises(FieldError, match=r"input field: shape \(16, 15\).*\(\.\.\., 16, 16\)"):
        system.forward(conv(field[:, :15]), conv(mask))
    with pytest.raises(FieldError, match=r"Fourier mask: shape \(16, 16\)"):
        system.forward(conv(field), conv(field))
    with pytest.raises(FieldError, match="camera field"):
        system.output_to_input_grid(conv(field))
    with pytest.raises(FieldError, match="kernel"):
        system.kernel_to_mask(conv(np.ones((17, 3))))


def test_mixing_numpy_and_torch_is_refused() -> None:
    system = FourFSystem.from_dict(good())
    with pytest.raises(FieldError, match="mix"):
        system.forward(np.ones((16, 16)), torch.ones(20, 20))


def test_non_numeric_field_is_refused() -> None:
    system = FourFSystem.from_dict(good())
    with pytest.raises(FieldError, match="not numeric"):
        system.forward(np.full((16, 16), "a"))


def test_examples_load_and_expose_their_grids() -> None:
    matched = FourFSystem.from_yaml(EXAMPLES / "matched.yaml")
    assert matched.fourier_pitch == pytest.approx(532e-9 * 0.1 / (512 * 8e-6))
    assert matched.camera_pitch == pytest.approx(8e-6)
    assert matched.sampling_report()["fourier_transform"] == "fft"
    real = FourFSystem.from_yaml(EXAMPLES / "realistic.yaml")
    assert real.input_shape == (640, 640) and real.fourier_shape == (1080, 1080)
    assert real.camera_shape == (1536, 1536)
    assert (real.input_pitch, real.fourier_pitch, real.camera_pitch) == pytest.approx(
        (8e-6, 6.4e-6, 5.5e-6)
    )
    assert real.fourier_slm.fill_factor == 0.93
    report = real.sampling_report()
    assert report["fourier_transform"] == "mft" and report["band_coverage"][0] > 1
    assert report["warnings"] == []  # a consistent bench: nothing wraps, is cut or cropped
    again = FourFSystem.from_dict(real.to_dict())
    assert again == real


def test_sampling_report_warns_about_wrap_and_band_cut() -> None:
    system = FourFSystem.from_dict(
        good(
            input_slm={"shape": [2048, 64], "pitch": "8 um"},
            fourier_slm={"shape": [512, 64], "pitch": "6.4 um"},
        )
    )
    text = " ".join(system.sampling_report()["warnings"])
    assert "wrap" in text and "covers" in text


def test_pixel_grid_accepts_units() -> None:
    grid = PixelGrid((4, 5), "3.74 um", fill_factor="90 %")
    assert grid.pitch == pytest.approx(3.74e-6) and grid.fill_factor == pytest.approx(0.9)


def test_system_pickles_without_its_caches() -> None:
    import pickle

    system = FourFSystem.matched((16, 16), "8 um")
    system.forward(np.zeros(system.input_shape))  # fills the operator cache
    clone = pickle.loads(pickle.dumps(system))
    assert clone == system and clone._cache == {}
