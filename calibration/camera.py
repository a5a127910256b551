"""Camera characterisation by the EMVA 1288 method (release 4, linear camera model).

Measured through the bench only: the input SLM fully on and the Fourier SLM flat light the
sensor; a shutter (``Session.dark``) gives dark frames. Every statistic is a pair of frames
A, B at one exposure, over a region of interest (ROI) of nearly uniform light:

* mean ``mu_y = mean(A + B) / 2`` and temporal variance
  ``sigma_y^2 = mean((A - B)^2) / 2 - (mean(A) - mean(B))^2 / 2`` (DN, DN^2);
* photon transfer: ``sigma_y^2 - sigma_y.dark^2 = K (mu_y - mu_y.dark)`` fitted through the
  origin over 0-70 % of saturation: the system gain K (DN/e-);
* read noise ``sigma_d = sqrt(sigma_y.dark^2 - 1/12) / K`` (e-, the quantisation removed);
* saturation capacity: the plateau of an overexposed ROI, ``(mu_y.sat - mu_y.dark) / K`` (e-;
  the full well, or the ADC ceiling if it clips first);
* dark current: slope of ``mu_y.dark`` over exposure, divided by K (e-/s);
* DSNU: spatial rms of the averaged dark frame, its temporal part removed (e-); PRNU: spatial
  rms of the light signal over its smooth profile (the beam is not flat: the profile is divided
  out with a Gaussian low-pass), its temporal part removed; hot pixels: dark outliers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from calibration.errors import CalibrationError
from calibration.session import Session

#: variance of uniform quantisation noise, DN^2
QUANTISATION_VAR = 1.0 / 12.0


def pair_stats(a: np.ndarray, b: np.ndarray, roi: np.ndarray | None = None) -> tuple[float, float]:
    """EMVA 1288 mean and temporal variance (DN, DN^2) of two frames over ``roi`` (bool)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if roi is not None:
        a, b = a[roi], b[roi]
    ma, mb = a.mean(), b.mean()
    var = 0.5 * np.mean((a - b) ** 2) - 0.5 * (ma - mb) ** 2
    return float(0.5 * (ma + mb)), float(var)


def _ptc_points(
    signal: np.ndarray, noise: np.ndarray, saturation: float
) -> tuple[np.ndarray, np.ndarray]:
    """The photon-transfer points the gain is fitted on: 0-70 % of ``saturation`` (DN)."""
    signal, noise = np.asarray(signal, float), np.asarray(noise, float)
    use = (signal > 0) & (signal <= 0.7 * saturation)
    if use.sum() < 3:
        raise CalibrationError(
            f"camera: only {int(use.sum())} photon-transfer points below 70 % of saturation "
            "(need >= 3): the light is too uneven or the exposure steps too coarse"
        )
    return signal[use], noise[use]


def fit_gain(signal: np.ndarray, noise: np.ndarray, saturation: float) -> float:
    """System gain K (DN/e-): slope through the origin of ``noise`` (sigma_y^2 - dark, DN^2)
    over ``signal`` (mu_y - dark, DN) for points within 0-70 % of ``saturation`` (DN)."""
    s, n = _ptc_points(signal, noise, saturation)
    return float((s @ n) / (s @ s))


def gain_relative_error(signal: np.ndarray, noise: np.ndarray, saturation: float) -> float:
    """Relative standard error of :func:`fit_gain`'s K (dimensionless), from the scatter of
    the photon-transfer points about the fitted line: ``sqrt(sum r^2 / (m - 1) / s.s) / K``
    (m points, residuals r in DN^2); inf when K <= 0. What a lab can judge of the camera fit
    without a reference camera."""
    s, n = _ptc_points(signal, noise, saturation)
    k = float((s @ n) / (s @ s))
    if not k > 0:
        return float("inf")
    r = n - k * s
    return float(np.sqrt((r @ r) / (len(s) - 1) / (s @ s)) / k)


@dataclass
class CameraCalibration:
    """EMVA 1288 results (units in the names) and the raw photon-transfer data."""

    gain: float  # K, DN / e-
    read_noise: float  # e- rms
    full_well: float  # e-, saturation capacity
    dark_current: float  # e- / s
    dsnu: float  # e- rms
    prnu: float  # fraction rms
    black_level: float  # DN, mean dark signal at the shortest exposure
    hot_pixels: np.ndarray  # (n, 2) int rows, columns
    dsnu_map: np.ndarray  # (H, W) float32, e-
    prnu_map: np.ndarray  # (H, W) float32, fraction (NaN where unlit)
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Scalars for the JSON report."""
        return {
            "gain": self.gain,
            "read_noise": self.read_noise,
            "full_well": self.full_well,
            "dark_current": self.dark_current,
            "dsnu": self.dsnu,
            "prnu": self.prnu,
            "black_level": self.black_level,
            "hot_pixels": int(len(self.hot_pixels)),
        }

    def to_payload(self) -> dict[str, Any]:
        return {
            **{k: float(v) for k, v in self.summary().items() if k != "hot_pixels"},
            "hot_pixels": np.asarray(self.hot_pixels, np.int32).reshape(-1, 2),
            "dsnu_map": self.dsnu_map.astype(np.float32),
            "prnu_map": self.prnu_map.astype(np.float32),
            "raw": dict(self.raw),
        }


def calibrate_camera(
    session: Session, n_steps: int = 20, prnu_frames: int = 8
) -> CameraCalibration:
    """Run the EMVA 1288 measurement on the bench's output camera.

    Frames: about ``4 n_steps + prnu_frames + 20`` (pairs of light and dark frames per step,
    dark-current and saturation pairs, auto-exposure).

    Raises:
        CalibrationError: no light, saturated at the shortest exposure, too uneven light.
    """
    session.start("camera")
    ny, nx = session.input_shape
    top = session.bench.input_slm.levels - 1
    session.display(np.full((ny, nx), top), np.zeros(session.fourier_shape, int))
    lo, hi = session.exposure_limits
    t_half = session.auto_expose(target=0.5, percentile=99.9)
    dark_half = session.dark_frame(2)
    signal = session.capture(2) - dark_half
    peak = float(np.percentile(signal, 99.9))
    roi = signal >= 0.9 * peak
    if roi.sum() < 50:
        raise CalibrationError(
            f"camera: only {int(roi.sum())} pixels within 10 % of the brightest: the light on "
            "the camera is too small or uneven (check the beam and the input SLM)"
        )

    exposures = np.clip(t_half * 2.4 * np.arange(1, n_steps + 1) / n_steps, lo, hi)
    light, dark = [], []
    dark_sum = np.zeros(session.camera_shape)
    full_dark = []
    for t in exposures:
        session.set_exposure(float(t))
        a, b = session.capture_stack(2)
        light.append(pair_stats(a, b, roi))
    # saturation plateau: overexpose the ROI
    t_sat = float(min(hi, 6 * t_half))
    session.set_exposure(t_sat)
    sat_frames = session.capture_stack(2)
    # every dark frame in one block of the light (a manual shutter: one step for the user)
    t_dark = np.unique(np.clip([lo, 0.1, 0.3, 1.0], lo, hi))
    dark_mu = []
    with session.dark():
        for t in exposures:
            session.set_exposure(float(t))
            da, db = session.capture_stack(2)
            dark.append(pair_stats(da, db, roi))
            full_dark.append(pair_stats(da, db))
            dark_sum += da + db
        session.set_exposure(t_sat)
        sat_dark = session.capture_stack(2).mean(axis=0)
        # dark current over longer exposures (whole frame)
        for t in t_dark:
            session.set_exposure(float(t))
            dark_mu.append(pair_stats(*session.capture_stack(2))[0])
        long_dark = session.capture(2)
    light_a, dark_a = np.array(light), np.array(dark)
    mu, var = light_a[:, 0] - dark_a[:, 0], light_a[:, 1] - dark_a[:, 1]
    mu_sat = float((sat_frames.mean(axis=0) - sat_dark)[roi].mean())
    if mu_sat <= 0:
        raise CalibrationError("camera: no signal above the dark level: check the light path")
    if mu_sat < 0.98 * float(mu.max()):
        raise CalibrationError(
            f"camera: the longest allowed exposure ({hi:g} s) does not saturate the brightest "
            "pixels, so the full well cannot be measured: raise the laser power"
        )
    gain = fit_gain(mu, var, mu_sat)
    if not gain > 0:
        raise CalibrationError(
            f"camera: photon transfer gives a gain of {gain:.3g} DN/e-: the signal is not "
            "shot-noise limited (check for flicker, vibration or a nonlinear camera setting)"
        )
    full_well = mu_sat / gain
    read_var = full_dark[0][1] - QUANTISATION_VAR
    read_noise = float(np.sqrt(max(read_var, 0.0)) / gain)

    slope = np.polyfit(t_dark, dark_mu, 1)[0] if len(t_dark) > 1 else 0.0
    dark_current = float(max(slope, 0.0) / gain)

    # DSNU from the averaged dark frames of the photon-transfer steps
    n_dark = 2 * len(exposures)
    dark_mean = dark_sum / n_dark
    temporal = full_dark[0][1] / n_dark
    dsnu_dn = np.sqrt(max(dark_mean.var() - temporal, 0.0))
    dsnu_map = (dark_mean - dark_mean.mean()) / gain
    spread = 1.4826 * np.median(np.abs(long_dark - np.median(long_dark)))
    hot = np.argwhere(long_dark > np.median(long_dark) + max(8 * spread, 8.0))

    # PRNU at about half saturation
    i50 = int(np.argmin(np.abs(mu - 0.5 * mu_sat)))
    session.set_exposure(float(exposures[i50]))
    flat = session.capture(prnu_frames) - session.dark_frame(2)
    smooth = ndimage.gaussian_filter(flat, 2.0)
    lit = smooth >= 0.8 * smooth.max()
    ratio = np.where(lit, flat / np.where(lit, smooth, 1.0), np.nan)
    noise_rel = (var[i50] / prnu_frames + 2 * dark_a[i50, 1] / 2) / mu[i50] ** 2
    prnu = float(np.sqrt(max(np.nanvar(ratio) - noise_rel, 0.0)))

    return CameraCalibration(
        gain=gain,
        read_noise=read_noise,
        full_well=float(full_well),
        dark_current=dark_current,
        dsnu=float(dsnu_dn / gain),
        prnu=prnu,
        black_level=float(full_dark[0][0]),
        hot_pixels=hot,
        dsnu_map=dsnu_map.astype(np.float32),
        prnu_map=(ratio - 1.0).astype(np.float32),
        raw={
            "exposure_s": exposures,
            "mean_dn": light_a[:, 0],
            "variance_dn2": light_a[:, 1],
            "dark_mean_dn": dark_a[:, 0],
            "dark_variance_dn2": dark_a[:, 1],
            "saturation_mean_dn": np.array([mu_sat]),
            "dark_current_exposure_s": t_dark,
            "dark_current_mean_dn": np.array(dark_mu),
            "roi_pixels": np.array([int(roi.sum())]),
            # the dark noise is below the ADC's quantisation (sqrt(1/12) DN): the read noise
            # is then unresolved, at most this many e- (EMVA 1288 quotes such a bound)
            "read_noise_bound_e": np.array(
                [np.sqrt(QUANTISATION_VAR) / gain if read_var <= 0 else np.nan]
            ),
        },
    )
