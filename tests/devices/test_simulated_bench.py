"""SimulatedBench: the optical chain against analytic expectations, and its hidden truth."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from devices.config import BenchConfigError, load_bench
from devices.simulated.bench import Imperfections, SimulatedBench
from devices.simulated.camera import SimulatedCamera
from devices.simulated.emva import HC
from devices.simulated.slm import SimulatedSLM
from fouroptics.optics import FourFSystem

BENCHES = Path(__file__).resolve().parents[2] / "examples" / "benches"
N = 64


def small_bench(imperfections=None, fourier_modulation="phase", fourier_camera=False, stop=None):
    system = FourFSystem.matched((N, N), 8e-6, wavelength=532e-9, f1=0.1)
    if stop is not None:
        system = system.with_options(lens_aperture=stop)
    inp = SimulatedSLM((N, N), 8e-6, modulation="amplitude")
    fsl = SimulatedSLM(
        (N, N), system.fourier_pitch, modulation=fourier_modulation, phase_range=2 * np.pi
    )
    cam = SimulatedCamera(
        (N, N),
        system.camera_pitch,
        read_noise=0,
        dark_current=0,
        dsnu=0,
        prnu=0,
        gain=1.0,
        full_well=1e9,
        bit_depth=16,
        black_level=0,
        quantum_efficiency=0.5,
        exposure=1e-3,
        seed=0,
    )
    fcam = None
    if fourier_camera:
        fcam = SimulatedCamera(
            (N, N), system.fourier_pitch, seed=1, bit_depth=16, full_well=1e9, gain=1.0
        )
    bench = SimulatedBench(
        system,
        inp,
        fsl,
        cam,
        fcam,
        laser_power=1e-9,
        imperfections=imperfections,
        splitter_ratio=0.2,
    )
    return bench


def test_ideal_bench_images_a_pixel_inverted_with_the_transmitted_power():
    bench = small_bench()
    g = np.zeros((N, N), int)
    g[20, 40] = 255
    bench.display(g, np.zeros((N, N), int))
    power = bench.ideal_power()
    c = N // 2
    assert np.unravel_index(power.argmax(), power.shape) == (2 * c - 20, 2 * c - 40)
    assert power.sum() == pytest.approx(1e-9 / N**2, rel=1e-4)


def test_frames_follow_power_to_photons_to_dn():
    bench = small_bench()
    bench.display(np.full((N, N), 255), np.zeros((N, N), int))
    photons = bench.ideal_power() * 1e-3 * 532e-9 / HC
    frame = bench.capture(8, average=True)
    assert frame.mean() == pytest.approx(0.5 * photons.mean(), rel=0.01)


def test_misaligned_spot_lands_where_the_truth_says():
    imp = Imperfections(camera_shift=(1.7, -2.3), camera_rotation=0.02, camera_scale=0.03)
    ideal, moved = small_bench(), small_bench(imp)
    g = np.zeros((N, N), int)
    g[24:27, 38:41] = 255
    for b in (ideal, moved):
        b.display(g, np.zeros((N, N), int))
    yy, xx = np.mgrid[:N, :N]

    def centroid(p):
        return np.array([(p * yy).sum(), (p * xx).sum()]) / p.sum()

    q = centroid(ideal.ideal_power())
    truth = moved.truth()["camera_affine"]
    expected = truth["matrix"] @ q + truth["offset"]
    np.testing.assert_allclose(centroid(moved.ideal_power()), expected, atol=0.05)
    assert moved.ideal_power().sum() == pytest.approx(ideal.ideal_power().sum(), rel=0.02)


def _dirichlet2(d: float, n: int) -> float:
    """|sum_j exp(-2 pi i j d / n)|^2 / n^2 over n input pixels: the power a flat input
    puts on a Fourier pixel d pixels from the axis (matched grid)."""
    return 1.0 if d == 0 else (np.sin(np.pi * d) / (n * np.sin(np.pi * d / n))) ** 2


@pytest.mark.parametrize("dy, dx", [(0.25, -0.4), (0.5, 0.0), (-0.9, 0.3)])
def test_decentred_pinhole_samples_the_flat_input_spectrum_at_its_displaced_centre(dy, dx):
    # Flat input: U(u) is the Dirichlet kernel of the input aperture; a one-pixel pinhole
    # displaced by d pixels transmits |U(d p_F)|^2, not the bilinear (1 - |d|)^2.
    bench = small_bench(Imperfections(fourier_decentre=(dy, dx)), fourier_modulation="amplitude")
    bench.display(np.full((N, N), 255), None)
    pinhole = np.zeros((N, N), int)
    pinhole[N // 2, N // 2] = 255
    bench.display(None, pinhole)
    ratio = bench.ideal_power().sum() / 1e-9
    assert ratio == pytest.approx(_dirichlet2(dy, N) * _dirichlet2(dx, N), rel=1e-4)


def test_decentred_pinhole_samples_a_two_point_fringe_analytically():
    # Input: two bright pixels s apart along x -> |U(u)|^2 ~ 1 + cos(2 pi s p_in u / (lambda f1)),
    # a fringe across the Fourier plane. A pinhole k pixels off centre on an SLM displaced by
    # dx pixels reads the fringe at (k + dx) p_F: sub-pixel sampling, exact.
    s, k = 5, 3
    powers = []
    ds = np.linspace(-0.8, 0.8, 9)
    for dx in ds:
        bench = small_bench(Imperfections(fourier_decentre=(0.0, dx)), "amplitude")
        g = np.zeros((N, N), int)
        g[N // 2, N // 2] = g[N // 2, N // 2 + s] = 255
        pinhole = np.zeros((N, N), int)
        pinhole[N // 2, N // 2 + k] = 255
        bench.display(g, pinhole)
        powers.append(bench.ideal_power().sum())
    expected = 1 + np.cos(2 * np.pi * s * (k + ds) / N)  # matched grid: p_in p_F / (lam f1) = 1/N
    np.testing.assert_allclose(np.array(powers) / powers[4], expected / expected[4], rtol=1e-4)


def test_lens_stop_blocks_the_fourier_camera_light_too():
    system = FourFSystem.matched((N, N), 8e-6, wavelength=532e-9, f1=0.1)
    stop = 0.4 * N * system.fourier_pitch  # diameter: 40% of the Fourier plane
    bench = small_bench(fourier_camera=True)
    stopped = small_bench(fourier_camera=True, stop=stop)
    g = np.zeros((N, N), int)
    g[N // 2, N // 2] = 255  # a point: flat spectrum over the whole Fourier plane
    for b in (bench, stopped):
        b.display(g, np.zeros((N, N), int))
    uy, ux = system.fourier_coords()
    inside = (uy[:, None] ** 2 + ux[None, :] ** 2) <= (stop / 2) ** 2
    full = bench.ideal_fourier_power()
    cut = stopped.ideal_fourier_power()
    assert cut[~inside].max() == 0 and cut.sum() == pytest.approx(full[inside].sum(), rel=1e-6)
    assert inside.mean() < 0.2


def test_lens_stop_stays_on_the_axis_of_a_decentred_slm():
    system = FourFSystem.matched((N, N), 8e-6, wavelength=532e-9, f1=0.1)
    stop = 0.3 * N * system.fourier_pitch
    powers = {}
    for d in (0.0, 3.0):
        bench = small_bench(Imperfections(fourier_decentre=(0.0, d)), "amplitude", stop=stop)
        g = np.zeros((N, N), int)
        g[N // 2, N // 2] = 255  # flat spectrum: the stop alone sets the transmitted power
        bench.display(g, np.full((N, N), 255))
        powers[d] = bench.ideal_power().sum()
        # the stop is counted at the displaced pixel centres: pixels within the circle
        uy, ux = system.fourier_coords()
        n_in = (uy[:, None] ** 2 + (ux[None, :] + d * system.fourier_pitch) ** 2) <= stop**2 / 4
        assert powers[d] == pytest.approx(1e-9 * n_in.sum() / N**4, rel=1e-4)


def test_aberration_and_focal_error_are_hidden_and_act():
    base = small_bench()
    focal = small_bench(Imperfections(focal_error=(0.01, -0.02)))
    assert focal.truth()["fourier_scale"] == pytest.approx(1.01)
    assert focal.system.f1 == base.system.f1  # the believed system is unchanged
    assert focal.truth()["system"]["f2"] == pytest.approx(0.98 * base.system.f2)
    bench = small_bench(Imperfections(aberration=(1.0, 0.5, -0.5)))
    g = np.zeros((N, N), int)
    g[N // 2, N // 2] = 255
    for b in (base, bench):
        b.display(g, np.zeros((N, N), int))
    # a pure phase aberration conserves power but spreads the image of a point (Strehl < 1)
    assert bench.ideal_power().sum() == pytest.approx(base.ideal_power().sum(), rel=2e-2)
    assert bench.ideal_power().max() < 0.9 * base.ideal_power().max()


def test_registration_truth_maps_input_pixels_to_where_their_image_lands():
    imp = Imperfections(
        camera_shift=(1.2, -0.7), camera_rotation=0.01, camera_scale=0.02, focal_error=(0.01, 0)
    )
    bench = small_bench(imp)
    m = bench.truth()["registration"]
    yy, xx = np.mgrid[:N, :N]
    for r, c in ((20, 40), (40, 22)):
        g = np.zeros((N, N), int)
        g[r - 1 : r + 2, c - 1 : c + 2] = 255
        bench.display(g, np.zeros((N, N), int))
        p = bench.ideal_power()
        win = (abs(yy - (m[0] @ (r, c, 1))) < 8) & (abs(xx - (m[1] @ (r, c, 1))) < 8)
        cen = np.array([(p * yy * win).sum(), (p * xx * win).sum()]) / (p * win).sum()
        np.testing.assert_allclose(cen, m @ (r, c, 1), atol=0.1)


def test_laser_shutter_gives_dark_frames():
    bench = small_bench()
    bench.display(np.full((N, N), 255), np.zeros((N, N), int))
    bench.laser_on = False
    assert bench.ideal_power().max() == 0 and bench.capture().max() == 0
    bench.laser_on = True
    assert bench.ideal_power().max() > 0


def test_fourier_camera_gets_its_share_of_the_power():
    bench = small_bench(fourier_camera=True)
    bench.display(np.full((N, N), 255), np.zeros((N, N), int))
    assert bench.ideal_fourier_power().sum() == pytest.approx(0.2e-9, rel=1e-3)
    assert bench.ideal_power().sum() == pytest.approx(0.8e-9, rel=1e-3)
    assert bench.capture_fourier().shape == (N, N)


def test_power_cache_follows_the_displays():
    bench = small_bench()
    bench.display(np.full((N, N), 255), np.zeros((N, N), int))
    first = bench.ideal_power()
    assert bench.ideal_power() is first
    bench.display(np.full((N, N), 128), None)
    assert bench.ideal_power().sum() < first.sum()


def test_memoised_batch_powers_scale_with_power_and_follow_the_levels():
    """The batched forward model remembers its last noiseless powers (a sweep's points): they
    must scale linearly with the laser power and never be served for other levels or masks."""
    imp = Imperfections(camera_shift=(0.6, -0.4), camera_rotation=0.01)
    bench = small_bench(imp)
    fresh = small_bench(imp)  # the same bench, nothing remembered
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (2, N, N))
    b = a.copy()
    b[1, 5, 7] = (b[1, 5, 7] + 100) % 256  # one pixel of one image differs
    masks = np.exp(1j * rng.uniform(0, 6, (2, N, N))).astype(np.complex64)
    other = masks.copy()
    kw = dict(exact=False, pixels=np.arange(0, N * N, 7), first=False)
    pa, _ = bench.camera_powers(a, masks, power_scale=1.0, **kw)
    pa3, _ = bench.camera_powers(a, masks, power_scale=3.0, **kw)
    np.testing.assert_allclose(pa3, 3 * pa, rtol=1e-6)
    ref3, _ = fresh.camera_powers(a, masks, power_scale=3.0, **kw)
    np.testing.assert_allclose(pa3, ref3, rtol=1e-4, atol=1e-6 * ref3.max())
    pb, _ = bench.camera_powers(b, masks, **kw)
    np.testing.assert_array_equal(pb, fresh.camera_powers(b, masks, **kw)[0])
    assert not np.array_equal(pb[1], pa[1])
    po, _ = bench.camera_powers(a, other, **kw)  # equal values, another array: recomputed
    np.testing.assert_array_equal(po, fresh.camera_powers(a, other, **kw)[0])


def test_example_benches_load_and_hide_their_imperfections():
    ideal = load_bench(BENCHES / "ideal.yaml")
    noisy = load_bench(BENCHES / "misaligned_noisy.yaml")
    assert isinstance(ideal, SimulatedBench) and isinstance(noisy, SimulatedBench)
    assert Imperfections(**_tuples(ideal.truth()["imperfections"])).is_ideal
    imp = noisy.truth()["imperfections"]
    assert imp["camera_shift"] != (0.0, 0.0) and imp["camera_rotation"] != 0
    assert noisy.fourier_camera is not None
    curve = noisy.truth()["fourier_slm"]["response"]
    assert curve[-1] != pytest.approx(2 * np.pi, abs=1e-3)
    # calibration sees only the believed description
    assert noisy.fourier_slm.lut is None
    assert noisy.system.fourier_slm.fill_factor == 0.93


def _tuples(d):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def test_seed_fixes_every_hidden_value():
    a = load_bench(BENCHES / "misaligned_noisy.yaml")
    b = load_bench(BENCHES / "misaligned_noisy.yaml")
    c = load_bench(BENCHES / "misaligned_noisy.yaml", seed=99)
    ta, tb, tc = a.truth(), b.truth(), c.truth()
    assert ta["imperfections"] == tb["imperfections"] != tc["imperfections"]
    np.testing.assert_array_equal(ta["camera"]["dsnu_map"], tb["camera"]["dsnu_map"])
    assert ta["camera"]["gain"] == tb["camera"]["gain"] != tc["camera"]["gain"]
    np.testing.assert_array_equal(ta["input_slm"]["response"], tb["input_slm"]["response"])
    assert not np.array_equal(ta["input_slm"]["response"], tc["input_slm"]["response"])


def test_bad_bench_fields_are_named():
    import yaml

    cfg = yaml.safe_load((BENCHES / "ideal.yaml").read_text())
    bad = copy.deepcopy(cfg)
    bad["camera"]["driver"] = "nonesuch"
    with pytest.raises(BenchConfigError, match=r"bench.camera.driver.*'nonesuch'.*simulated"):
        load_bench(bad)
    bad = copy.deepcopy(cfg)
    bad["camera"]["gian"] = 1.0
    with pytest.raises(BenchConfigError, match=r"bench.camera.gian: unknown field"):
        load_bench(bad)
    bad = copy.deepcopy(cfg)
    bad["camera"]["exposure"] = "1 mm"
    with pytest.raises(BenchConfigError, match="exposure"):
        load_bench(bad)
    bad = copy.deepcopy(cfg)
    bad["imperfections"] = {"shfit": 1}
    with pytest.raises(BenchConfigError, match="shfit"):
        load_bench(bad)
    bad = copy.deepcopy(cfg)
    del bad["system"]
    with pytest.raises(BenchConfigError, match="missing field 'system'"):
        load_bench(bad)


def test_swapping_one_driver_line_swaps_the_device():
    pytest.importorskip("slmsuite")
    import warnings

    import yaml

    from devices.hardware.slmsuite_adapter import SlmsuiteCamera, SlmsuiteSLM

    cfg = yaml.safe_load((BENCHES / "slmsuite_simulated.yaml").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = load_bench(cfg)
        assert isinstance(bench.fourier_slm, SlmsuiteSLM)
        assert isinstance(bench.camera, SlmsuiteCamera)
        bench.display(np.zeros((64, 96), int), np.tile([0, 128], (64, 48)))
        frame = bench.capture()
        assert frame.shape == (64, 96) and frame.max() > 0 and frame.max() <= 4095
        bench.close()
        cfg["input_slm"] = {"driver": "simulated", "modulation": "amplitude"}
        # a simulated SLM on a real bench would modulate no light: refused, not half-built
        with pytest.raises(BenchConfigError, match=r"input_slm use driver 'simulated'.*fourier"):
            load_bench(cfg)


def direct_sum(system, field, mask, points):
    """The camera field at arbitrary points (P, 2) metres, summed directly over the Fourier
    SLM pixels: ``K sum_kl Z_kl exp(-2 pi i (u_k y + v_l x) / (lambda f2))`` with ``Z`` lens 1's
    field (``system.fourier_plane``) times the mask, and ``K`` the one constant the system's
    own camera grid fixes (returned with the fit's residual there: point pixels, fill 1)."""
    z = system.fourier_plane(field).astype(np.complex128) * mask
    u, v = system.fourier_coords()
    lf = system.wavelength * system.f2

    def at(yr, yc):
        ar = np.exp(-2j * np.pi * np.outer(yr, u) / lf)
        ac = np.exp(-2j * np.pi * np.outer(yc, v) / lf)
        return ((ar @ z) * ac).sum(axis=1)

    gy, gx = np.meshgrid(system.camera.coords(0), system.camera.coords(1), indexing="ij")
    grid = at(gy.ravel(), gx.ravel())
    ref = system.forward(field, mask).ravel()
    k = np.vdot(grid, ref) / np.vdot(grid, grid)
    resid = np.linalg.norm(k * grid - ref) / np.linalg.norm(ref)
    return k * at(points[:, 0], points[:, 1]), resid


@pytest.mark.parametrize(
    "imp",
    [
        Imperfections(camera_shift=(0.37, -1.21)),
        Imperfections(camera_shift=(1.3, 0.6), camera_rotation=0.009, camera_scale=0.012),
    ],
)
def test_misaligned_camera_equals_a_direct_sum_at_the_displaced_centres_for_full_band_light(imp):
    """Random dots through a random-phase Fourier SLM on a matched system: the camera field
    reaches 0.5 cycles per pixel. Pixel powers within 1 % (L2) of the 4f chain summed directly
    at the displaced pixel centres (the Lanczos-2 map of the aligned field was 17 % off)."""
    rng = np.random.default_rng(3)
    bench = small_bench(imp)
    dots = np.where(rng.random((N, N)) < 0.05, 255, 0)
    phase = rng.integers(0, 256, (N, N))
    bench.display(dots, phase)
    got = bench.ideal_power().astype(np.float64)
    system = bench.system  # no focal error, stop or decentring: the true system
    field = np.sqrt(1e-9 / (N * 8e-6) ** 2) * bench.input_slm.field()  # flat beam, 1 nW
    mask = bench.fourier_slm.field(fill_factor=False)
    a, b = imp.camera_affine((N, N))
    p = np.indices((N, N)).reshape(2, -1).astype(float)
    q = np.linalg.solve(a, p - b[:, None])  # the ideal image point each pixel sees
    points = (q - N // 2).T * system.camera_pitch
    e, resid = direct_sum(system, field, mask, points)
    assert resid < 1e-5  # the direct sum reproduces the system on its own grid
    ref = (np.abs(e) ** 2 * system.camera_pitch**2 / (1 + imp.camera_scale) ** 2).reshape(N, N)
    inner = (slice(6, -6), slice(6, -6))  # away from the edge, where light leaves the sensor
    err = np.linalg.norm(got[inner] - ref[inner]) / np.linalg.norm(ref[inner])
    assert err < 0.01, err
