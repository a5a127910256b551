"""The run loop on a simulated bench: its batched capture gives the frame-by-frame numbers of
the device interface; the complex bundle on an ideal noise-free bench gives the bundle's twin
(hence the kernels' convolution, against scipy); mismatched bundles and saturated or dark
cameras fail with numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from calibration.lut import fourier_phase_lut
from calibration.registration import register
from calibration.session import Session
from devices.config import load_bench
from devices.interface import Bench
from devices.interface.errors import DeviceError
from devices.run import OpticalModel, RunStats, run_bundle
from fouroptics.compiler import SLMModel, compile_kernels
from fouroptics.errors import ConfigError


def bench_dict(misaligned: bool = False, seed: int = 5, camera_bits: int = 12) -> dict:
    d = {
        "name": "tiny",
        "seed": seed,
        "system": {
            "wavelength": "532 nm",
            "f1": "15 mm",
            "f2": "15 mm",
            "input_slm": {"shape": [96, 96], "pitch": "8 um"},
            "fourier_slm": {"shape": [128, 128], "pitch": "8 um", "fill_factor": 1.0},
            "camera": {"shape": [128, 128], "pitch": "8 um"},
        },
        "laser": {"power": "1 uW", "beam_waist": None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude", "gamma": 1.0},
        "fourier_slm": {"driver": "simulated", "modulation": "phase"},
        "camera": {
            "driver": "simulated",
            "profile": "sony_imx174_cmos",
            "exposure": "1 ms",
            "bit_depth": camera_bits,
        },
    }
    if misaligned:
        d["imperfections"] = {"shift": 1.0, "rotation_deg": 0.3, "fourier_decentre": 0.3}
        d["fourier_slm"]["fringing"] = 0.02
    else:  # an ideal camera but for shot noise: no fixed pattern, no dark signal
        d["camera"].update(read_noise=0.0, dark_current=0.0, dsnu=0.0, prnu=0.0)
    return d


KERNELS = np.array(
    [
        [[0.2, 0.5, 0.1], [0.4, 1.0, 0.3], [0.0, 0.6, 0.2]],
        [[1.0, 0.0, 0.0], [0, 0.5, 0], [0, 0, 0.8]],
    ]
)


def images(n: int, seed: int = 0) -> np.ndarray:
    """(n, 1, 8, 8) images on the 8-bit level grid (exact on an 8-bit input SLM)."""
    return np.random.default_rng(seed).integers(0, 256, (n, 1, 8, 8)) / 255.0


_MEASURED_LUT: dict = {}


def _digest(value) -> str:
    """A hash of nested dicts, sequences and arrays (a bench's truth)."""
    import hashlib

    h = hashlib.sha256()

    def feed(v) -> None:
        if isinstance(v, dict):
            for k in sorted(v, key=str):
                h.update(str(k).encode())
                feed(v[k])
        elif isinstance(v, (list, tuple)):
            for item in v:
                feed(item)
        elif isinstance(v, np.ndarray):
            h.update(v.tobytes())
        else:
            h.update(repr(v).encode())

    feed(value)
    return h.hexdigest()


def bundle_for(bench, encoding: str = "phase"):
    """KERNELS compiled for ``bench``. The phase encodings use the Fourier SLM's LUT measured
    through the bench's own devices, as ``fouroptics calibrate`` does (calibration.lut, step 4,
    about 0.3 s here), never its hidden truth; the camera's exposure is restored afterwards."""
    slm = None
    if encoding != "complex":
        # one measurement per bench (the truth only tells two benches apart, never compiles)
        key = _digest(bench.truth())
        if key not in _MEASURED_LUT:
            exposure = bench.camera.exposure
            _MEASURED_LUT[key] = fourier_phase_lut(Session(bench), step=4).curve  # rad, level 0
            bench.camera.set_exposure(exposure)
        resp = np.exp(1j * _MEASURED_LUT[key])
        slm = SLMModel(bit_depth=8, modulation="phase", response=resp, source="calibration")
    return compile_kernels(
        KERNELS, bench.system, image_size=8, detection="intensity", encoding=encoding, slm=slm
    )


#: reference images of the photometry: never the images measured
REFERENCE = np.random.default_rng(99).integers(0, 256, (4, 1, 8, 8)) / 255.0


class FrameByFrame:
    """A simulated bench driven as hardware is: frame by frame through the device interface
    (:meth:`devices.interface.Bench.capture_bundle`), every other attribute the bench's."""

    simulated = False
    simulates_complex_masks = False

    def __init__(self, bench) -> None:
        self.bench = bench

    def __getattr__(self, name):
        return getattr(self.bench, name)

    def capture_bundle(self, bundle, levels, n_average=1, **kw):
        return Bench.capture_bundle(self, bundle, levels, n_average, **kw)


def run(bench, bundle, x, calibration=None, **kw):
    return run_bundle(bench, bundle, x, calibration, reference=REFERENCE, **kw)


class MeanNoise:
    """A stand-in for a camera's temporal-noise generator that draws each pixel's mean: Poisson
    returns its mean, normals zero. Two capture paths that compute the same light in another
    order differ by float rounding (2e-7 here); a seeded Poisson stream turns such a difference
    into a different draw, and every later draw with it, so the paths' numbers are compared
    through this camera, which keeps every other step of the capture (patterns, ADC, flicker,
    stray light, exposure timing)."""

    def poisson(self, lam):
        return np.array(lam, dtype=np.float64)

    def standard_normal(self, shape):
        return np.zeros(shape)


def mean_camera(bench):
    """``bench`` with its camera's temporal noise drawn by :class:`MeanNoise`."""
    bench.camera._rng = MeanNoise()
    return bench


def test_complex_bundle_noise_off_equals_convolution():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench, "complex")
        x = images(6)
        stats = RunStats()
        got = run(bench, bundle, x, stats=stats, capture_options={"noise": False})
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])
        assert got.shape == ref.shape
        assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 1e-3
        assert 0.45 < stats.exposure.fraction < 0.55  # brightest tile at half the range
        assert stats.saturated_fraction == 0
        assert stats.photometry.r2 > 0.999999


def test_batched_path_gives_the_generic_numbers_with_a_seeded_camera():
    """The batched capture gives the frame-by-frame path's frames and features (each pixel's
    mean drawn: :class:`MeanNoise`), and the same numbers again from the same seed."""
    x = images(3, seed=1)
    out = {}
    with load_bench(bench_dict(misaligned=True)) as bench:
        bundle_for(bench)  # measured here once: both cameras below start from their seed
    for name in ("generic", "batched", "seeded", "seeded again"):
        with load_bench(bench_dict(misaligned=True)) as bench:
            if not name.startswith("seeded"):
                mean_camera(bench)
            bundle = bundle_for(bench)
            # a registration as data (any will do: both paths must give the same numbers)
            m0 = bench.system.imaging_affine()
            cal = {"registration": m0 + np.array([[0, 0.004, 0.6], [-0.004, 0, -0.4]])}
            stats = RunStats()
            on = FrameByFrame(bench) if name == "generic" else bench
            feats = run(on, bundle, x, cal, exposure=2e-3, stats=stats)
            out[name] = (feats, stats.example_frame)
    (fg, frame_g), (fb, frame_b) = out["generic"], out["batched"]
    diff = np.abs(frame_g - frame_b)
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3  # the same DN (float32 FFT ties aside)
    assert np.linalg.norm(fg - fb) / np.linalg.norm(fg) < 1e-4
    np.testing.assert_array_equal(out["seeded"][0], out["seeded again"][0])
    noisy = np.linalg.norm(out["seeded"][0] - fb) / np.linalg.norm(fb)
    assert 1e-4 < noisy < 0.2  # the seeded camera's noise: there, and not the signal


def test_measured_registration_recovers_the_misaligned_bench():
    """The registration measured through the bench's devices (``calibrate``'s dot grids) takes
    a shifted camera back onto the nominal grid: the features approach the noise-free twin."""
    x = images(4, seed=2)
    d = bench_dict()
    d["imperfections"] = {"shift": 3.0}
    with load_bench(d) as bench:
        bundle = bundle_for(bench)
        exposure = bench.camera.exposure
        measured = {"registration": register(Session(bench)).affine, "source": "measured"}
        bench.camera.set_exposure(exposure)
        true = bench.truth()["registration"]  # graded against the truth, not built from it
        assert np.abs(measured["registration"] - true).max() < 0.05
        twin = bundle.simulate(x)
        opts = {"capture_options": {"noise": False}}
        plain = run(bench, bundle, x, **opts)
        registered = run(bench, bundle, x, measured, **opts)
    err = [np.linalg.norm(f - twin) / np.linalg.norm(twin) for f in (plain, registered)]
    # measured: 0.506 unregistered, 0.345 registered (the truth's affine gives 0.358): the
    # power of critically sampled tiles resampled by Lanczos-4 keeps the rest of the error
    assert err[0] > 0.4 and err[1] < 0.75 * err[0]


def test_bundle_for_another_system_is_refused():
    with load_bench(bench_dict()) as bench:
        d = bench_dict()
        d["system"]["wavelength"] = "540 nm"
        with load_bench(d) as other:
            bundle = bundle_for(other)
        with pytest.raises(ConfigError, match=r"wavelength: bench 5\.32e-07, bundle 5\.4e-07"):
            run(bench, bundle, images(1))


def test_bench_whose_fourier_slm_disagrees_is_refused():
    with load_bench(bench_dict()) as bench:
        slm = SLMModel(bit_depth=10, modulation="phase")
        bundle = compile_kernels(
            KERNELS, bench.system, image_size=8, detection="intensity", encoding="phase", slm=slm
        )
        with pytest.raises(ConfigError, match="10-bit Fourier SLM"):
            run(bench, bundle, images(1))


def test_complex_bundle_on_the_generic_path_is_refused():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench, "complex")
        with pytest.raises(ConfigError, match="no drive levels"):
            run(FrameByFrame(bench), bundle, images(1))


def test_saturated_and_dark_cameras_are_reported_with_numbers():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench)
        stats = RunStats()
        run(bench, bundle, images(2), exposure=0.05, stats=stats)
        assert stats.saturated_fraction > 0.01
        assert any("saturated camera" in w and "%" in w for w in stats.warnings)
        d = bench_dict()
        d["laser"]["power"] = 1e-16
        d["camera"]["exposure_limits"] = ["15 us", "1 ms"]
    with load_bench(d) as dark:
        stats = RunStats()
        run(dark, bundle, images(2), stats=stats, capture_options={"noise": False})
        assert any("dark camera" in w for w in stats.warnings)
    d = bench_dict()
    d["laser"]["power"] = "10 W"
    with load_bench(d) as bright, pytest.raises(DeviceError, match="saturated at the shortest"):
        run(bright, bundle, images(2))


@pytest.mark.parametrize("misaligned", [False, True])
def test_fast_path_draws_the_emva_noise_around_the_mean_on_the_readout_pixels(misaligned):
    from devices.run.calibration import RunCalibration
    from devices.run.levels import input_levels

    x = images(5, seed=3)
    with load_bench(bench_dict(misaligned=misaligned)) as bench:
        bundle = bundle_for(bench)
        w = bundle.window_mask()
        levels = input_levels(bench, bundle.input_transmission(x), RunCalibration())
        bench.camera.exposure = 1e-4
        draws = [  # several seeds: the mean's bound below is statistical
            bench.capture_bundle(bundle, levels, rng=np.random.default_rng(s), windows=w)
            for s in range(8)
        ]
        mean = bench.capture_bundle(bundle, levels, noise=False)
        p = bench.camera.params
    fast = draws[0]
    sel = np.broadcast_to(w, fast.shape)
    d = np.concatenate([f[sel] - mean[sel] for f in draws])
    # temporal noise of the EMVA model: K^2 (read^2 + dark) + K (mean - dark level) + 1/12
    var = p.gain**2 * (p.read_noise**2 + p.dark_current * 1e-4)
    var = var + p.gain * np.mean(mean[sel] - p.black_level) + 1 / 12
    assert abs(d.mean()) < 4 * np.sqrt(var / d.size) + 0.05  # no bias: 4 sigma of the mean
    assert 0.9 < d.std() / np.sqrt(var) < 1.1
    # complete first frames (complex64 fields resampled: a rounding may differ by 1 DN)
    off = np.abs(fast[0][~w] - np.rint(mean[0][~w]))
    assert off.max() <= 1 and np.count_nonzero(off) <= 1e-3 * off.size


def test_optical_model_needs_reference_images_and_keeps_its_scale():
    x = images(4, seed=5)
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench, "complex")
        with pytest.raises(ConfigError, match="reference images"):
            OpticalModel(bundle, bench)
        model = OpticalModel(bundle, bench, reference=REFERENCE, noise=False)
        first = model.features(x)
        exposure, photometry = model.exposure, model.photometry
        again = model.features(x)  # the same exposure and photometry: the same numbers
        assert model.exposure == exposure and model.photometry is photometry
        np.testing.assert_array_equal(first, again)
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])
        assert np.linalg.norm(first - ref) / np.linalg.norm(ref) < 1e-3


def test_a_hardware_bench_refuses_simulation_only_options():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench)
        with pytest.raises(ConfigError, match="noise only act on a simulated bench"):
            run(FrameByFrame(bench), bundle, images(1), capture_options={"noise": False})


def test_realised_masks_follow_each_bundle_shown_in_turn():
    """Sweeps show bundles that differ only in their drive levels, one after another; a cache
    keyed by ``id`` alone handed a freed bundle's masks to the next one at the same address."""
    from dataclasses import replace

    with load_bench(bench_dict()) as bench:
        base = bundle_for(bench)
        for k in range(5):
            shown = replace(base, fourier_levels=(base.fourier_levels >> k) << k)
            got = bench.realised_masks(shown)
            want = bench.fourier_slm.fields(shown.fourier_levels, fill_factor=False)
            np.testing.assert_allclose(got, want.astype(np.complex64), atol=1e-6)
            del shown, got


def test_photons_and_saturation_come_from_the_measured_camera_never_the_hidden_one():
    """The bench's camera deviates from its spec sheet (gain and QE drawn with a 30 % spread):
    the run's photon count follows the spec sheet without a calibration (and is off by the
    hidden deviation), the EMVA-measured gain with one; it never reads the hidden values."""
    from calibration.camera import calibrate_camera
    from devices.run.exposure import saturation_dn

    d = bench_dict()
    d["imperfections"] = {"camera": {"gain": 0.3, "quantum_efficiency": 0.3}}
    x = images(3, seed=8)
    with load_bench(d) as bench:
        bundle = bundle_for(bench, "complex")
        cam = bench.camera
        true_gain = cam.params.gain  # the hidden truth: for grading only
        sheet_gain = cam.datasheet["gain"]
        assert abs(true_gain / sheet_gain - 1) > 0.05  # the seed draws a real deviation
        measured = calibrate_camera(Session(bench))
        gain = float(measured.gain)
        assert abs(gain / true_gain - 1) < 0.03
        counts = {}
        for name, cal in (("sheet", None), ("measured", {"camera": measured_camera(measured)})):
            stats = RunStats()
            run(bench, bundle, x, cal, exposure=1e-3, stats=stats, capture_options={"noise": False})
            counts[name] = stats.mean_photons_per_pixel
        # the same frames: photons scale as 1 / (gain x QE), the QE from the spec sheet in both
        assert counts["sheet"] * sheet_gain == pytest.approx(counts["measured"] * gain, rel=1e-9)
        truth = counts["measured"] * gain / true_gain  # what the true gain says (same QE)
        assert abs(counts["measured"] / truth - 1) < 0.03
        assert abs(counts["sheet"] / truth - 1) > 0.05
        top = saturation_dn(cam, measured_camera(measured))
        assert top == min(cam.max_value, np.floor(gain * measured.full_well + measured.black_level))


def measured_camera(m) -> dict:
    return {"gain": m.gain, "black_level": m.black_level, "full_well": m.full_well}


def test_measured_fourier_frame_is_applied_by_the_compiler():
    """A Fourier SLM 0.4 / -0.3 px off the axis behind lenses 1 % longer than the YAML says: the
    nominal masks miss the convolution by > 10 %; masks compiled in the frame the ``fourier``
    routine measures on the bench (its centre and scale, never the truth) meet it within 1 %,
    and the bundle's twin agrees with the bench."""
    from calibration.fourier import fourier_mapping
    from devices.simulated.imperfections import Imperfections
    from fouroptics.compiler.fourier_frame import FourierFrame

    with load_bench(bench_dict()) as ideal:
        bench = ideal.with_imperfections(
            Imperfections(fourier_decentre=(0.4, -0.3), focal_error=(0.01, 0.01))
        )
        f = fourier_mapping(Session(bench))
        frame = FourierFrame.from_calibration(
            {"centre_px": f.centre_px, "scale": f.scale, "rotation_rad": f.rotation_rad},
            bench.system.fourier_shape,
        )
        x = images(6)
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])
        err = {}
        for name, fr in (("nominal", None), ("measured", frame)):
            bundle = compile_kernels(
                KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
                frame=fr,
            )  # fmt: skip
            got = run(bench, bundle, x, capture_options={"noise": False})
            err[name] = np.linalg.norm(got - ref) / np.linalg.norm(ref)
            twin = bundle.simulate(x)
            err[name + "_twin"] = np.linalg.norm(got - twin) / np.linalg.norm(twin)
        assert err["nominal"] > 0.1
        assert err["measured"] < 0.01
        assert err["measured_twin"] < 0.01
        assert bundle.meta["fourier_frame"]["scale"] == pytest.approx(1.01, abs=1e-3)


def measured_floor(bench) -> tuple[float, dict]:
    """The input SLM's floor as the input LUT routine measures it (never the truth), and a run
    calibration with that LUT's inverse and the nominal registration."""
    from calibration.lut import amplitude_lut

    exposure = bench.camera.exposure
    lut = amplitude_lut(Session(bench), "input_slm", step=8)
    bench.camera.set_exposure(exposure)
    cal = {"registration": bench.system.imaging_affine(), "input_inverse_lut": lut.inverse}
    return float(lut.curve.min() / lut.curve.max()), cal


def test_leak_block_cancels_the_input_slms_contrast_floor():
    """An amplitude input SLM whose darkest level still passes 6 % of the field: its light
    reaches every tile (4 % off the convolution); a leak block, with the floor measured by the
    input LUT routine (never the truth), cancels it (within 0.5 %)."""
    d = bench_dict()
    d["input_slm"]["amplitude_min"] = 0.06
    with load_bench(d) as bench:
        floor, cal = measured_floor(bench)
        assert floor == pytest.approx(0.06, abs=0.005)
        x = images(6)
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])
        err = {}
        for leak in (0.0, floor):
            bundle = compile_kernels(
                KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
                input_leak=leak, leak_block=True,
            )  # fmt: skip
            got = run(bench, bundle, x, cal, capture_options={"noise": False})
            err[leak] = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert err[0.0] > 0.02
        assert err[floor] < 0.005
        assert bundle.meta["input_leak"] == pytest.approx(floor)
        assert bundle.has_leak_block


def test_dc_free_kernels_need_no_leak_block():
    """Kernels with no DC response (each sums to 0) pass none of a uniform floor's light: with
    the floor measured by the input LUT routine, the run shows the images standing on it
    (a + (1 - a) t) and meets scipy's convolution of the images within 0.5 % with no leak block;
    clipped at the floor (max(t, a), what an uncompensated run shows) they miss it by > 2 %."""
    kernels = KERNELS - KERNELS.mean(axis=(1, 2), keepdims=True)
    d = bench_dict()
    d["input_slm"]["amplitude_min"] = 0.06
    with load_bench(d) as bench:
        floor, cal = measured_floor(bench)
        x = images(6)
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in kernels] for im in x])
        err = {}
        for leak in (0.0, floor):
            bundle = compile_kernels(
                kernels, bench.system, image_size=8, detection="intensity", encoding="complex",
                input_leak=leak,
            )  # fmt: skip
            got = run(bench, bundle, x, cal, capture_options={"noise": False})
            err[leak] = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert err[0.0] > 0.02
        assert err[floor] < 0.005
        assert bundle.meta["input_leak"] == pytest.approx(floor)
        assert not bundle.has_leak_block
        assert len(bundle.arrays["block_start"]) == 1  # the images' block only


def test_measured_beam_is_divided_out_of_the_input():
    """A Gaussian beam (0.4 mm waist, 0.1 mm off centre) on a 0.77 mm input SLM makes the
    convolution space-variant (4 % off scipy's); the registration routine's beam fit (never the
    truth), divided out of the displayed images, brings it back within 1 %. The registration
    itself is measured from dots whose images the beam weights: within 0.02 px of the true map
    (0.09 px before it corrected the dots' centres for the beam)."""
    d = bench_dict()
    d["laser"]["beam_waist"] = "0.4 mm"
    d["imperfections"] = {"beam_offset": "100 um"}
    with load_bench(d) as bench:
        exposure = bench.camera.exposure
        reg = register(Session(bench))
        bench.camera.set_exposure(exposure)
        bundle = bundle_for(bench, "complex")
        x = images(6)
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])
        err = {}
        beam = {"centre_px": reg.beam_centre_px, "waist_px": reg.beam_waist_px}
        for name, cal in (
            ("flat", {"registration": reg.affine}),
            ("divided", {"registration": reg.affine, "beam": beam}),
        ):
            got = run(bench, bundle, x, cal, capture_options={"noise": False})
            err[name] = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert err["flat"] > 0.03
        assert err["divided"] < 0.01
        h, w = bench.system.input_shape
        rr, cc = np.mgrid[:h, :w]
        pts = np.stack([rr.ravel(), cc.ravel(), np.ones(h * w)])
        true_map = np.asarray(bench.truth()["registration"])
        assert np.sqrt(np.mean(np.sum(((reg.affine - true_map) @ pts) ** 2, axis=0))) < 0.02


def test_input_slms_crosstalk_is_divided_out_of_the_masks():
    """An amplitude input SLM whose pixels share 6 % of their field with each neighbour (the
    simulated device's own real-space crosstalk) blurs every image: 6.9 % off scipy's
    convolution. Masks that divide out the spec sheet's belief (5 %, its transfer function at
    the Fourier pixels' frequencies: pixels.crosstalk_transfer) meet it within 2 %, and an
    independent check of the transfer function against an FFT of the blurred pattern holds."""
    from fouroptics.optics.pixels import crosstalk, crosstalk_transfer, fringing_kernel

    d = bench_dict()
    d["input_slm"]["fringing"] = 0.06
    with load_bench(d) as bench:
        x = images(6)
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])
        err = {}
        for name, belief in (("none", None), ("divided", fringing_kernel(0.05))):
            bundle = compile_kernels(
                KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
                input_crosstalk=belief,
            )  # fmt: skip
            got = run(bench, bundle, x, capture_options={"noise": False})
            err[name] = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert err["none"] > 0.05  # 0.069 when written
        assert err["divided"] < 0.02  # 0.014: the belief is 1 % of coupling off the truth
    rng = np.random.default_rng(1)
    pattern = rng.random((64, 64))
    kernel = fringing_kernel(0.05)
    kernel[0, 1] += 0.01  # asymmetric: the transfer function's sign convention shows
    kernel /= kernel.sum()
    # a pattern zero near its border: the replicated edges add nothing, the FFT is exact
    pattern[:4], pattern[-4:], pattern[:, :4], pattern[:, -4:] = 0, 0, 0, 0
    f = np.fft.fftfreq(64)
    h = crosstalk_transfer(kernel, f, f, 1.0)
    blurred = crosstalk(pattern, kernel)
    np.testing.assert_allclose(np.fft.fft2(blurred), h * np.fft.fft2(pattern), atol=1e-9)
