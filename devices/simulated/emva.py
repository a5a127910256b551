"""The EMVA 1288 linear camera model as pure functions: photons -> electrons -> DN.

Per pixel and frame (EMVA 1288 release 4, linear model):

1. photo-electrons: Poisson with mean ``QE * photons * (1 + prnu_map)``; dark electrons:
   Poisson with mean ``dark_current * exposure`` (both are shot noise, so one Poisson draw).
2. the collected charge saturates at ``full_well`` electrons.
3. fixed-pattern offset ``dsnu_map`` (electrons, spatial rms ``dsnu``) and Gaussian read noise
   (``read_noise`` electrons rms) are added in the readout chain.
3b. beyond DSNU/PRNU (:func:`extra_pattern`): dark-current non-uniformity (DCNU, each pixel's
   dark current ``dark_current + dcnu n`` e-/s, so its spatial rms grows as ``dcnu * exposure``
   electrons), fixed row and column offsets (``row_offset`` / ``column_offset`` e- rms per row /
   column, folded into the offset map) and temporal row noise (``row_noise`` e- rms, one draw
   per row and frame, after every other draw of the frame).
4. ADC: ``DN = round(gain * electrons + black_level)``, clipped to ``0 .. 2**bit_depth - 1``.

So the mean and temporal variance of a flat field are (without clipping)
``mu_y = K (QE mu_p + mu_d) + black`` and ``var_y = K^2 (read^2 + mu_d) + K (mu_y - mu_y.dark)
+ 1/12`` (quantization) -- the photon transfer curve the tests measure.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: Planck constant times the speed of light, J m.
HC = 6.62607015e-34 * 299792458.0


@dataclass(frozen=True)
class EmvaParameters:
    """Camera constants in EMVA 1288 units.

    Attributes:
        quantum_efficiency: electrons per photon, in (0, 1].
        gain: overall system gain K in DN per electron.
        read_noise: temporal dark noise in electrons rms.
        dark_current: electrons per second per pixel.
        full_well: saturation capacity in electrons.
        bit_depth: ADC resolution in bits.
        black_level: offset in DN added before the ADC clip.
        dsnu: dark signal non-uniformity, electrons rms across pixels (fixed pattern).
        prnu: photo response non-uniformity, fraction rms across pixels (fixed pattern).
    """

    quantum_efficiency: float = 0.6
    gain: float = 0.25
    read_noise: float = 5.0
    dark_current: float = 10.0
    full_well: float = 10_000.0
    bit_depth: int = 12
    black_level: float = 64.0
    dsnu: float = 2.0
    prnu: float = 0.01
    dcnu: float = 0.0
    row_offset: float = 0.0
    column_offset: float = 0.0
    row_noise: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "quantum_efficiency": 0 < self.quantum_efficiency <= 1,
            "gain": self.gain > 0,
            "read_noise": self.read_noise >= 0,
            "dark_current": self.dark_current >= 0,
            "full_well": self.full_well > 0,
            "bit_depth": int(self.bit_depth) == self.bit_depth and 1 <= self.bit_depth <= 16,
            "black_level": 0 <= self.black_level < 2**self.bit_depth,
            "dsnu": self.dsnu >= 0,
            "prnu": 0 <= self.prnu < 1,
            "dcnu": self.dcnu >= 0,
            "row_offset": self.row_offset >= 0,
            "column_offset": self.column_offset >= 0,
            "row_noise": self.row_noise >= 0,
        }
        allowed = {
            "quantum_efficiency": "in (0, 1]",
            "gain": "> 0 DN/e-",
            "read_noise": ">= 0 e- rms",
            "dark_current": ">= 0 e-/s",
            "full_well": "> 0 e-",
            "bit_depth": "an integer 1..16",
            "black_level": "0 <= black_level < 2**bit_depth DN",
            "dsnu": ">= 0 e- rms",
            "prnu": "a fraction in [0, 1)",
            "dcnu": ">= 0 e-/s rms",
            "row_offset": ">= 0 e- rms",
            "column_offset": ">= 0 e- rms",
            "row_noise": ">= 0 e- rms",
        }
        for key, ok in checks.items():
            value = getattr(self, key)
            if not (ok and math.isfinite(float(value))):
                raise ValueError(f"camera.{key}: got {value!r}; must be {allowed[key]}")

    @property
    def max_dn(self) -> int:
        """ADC ceiling, ``2**bit_depth - 1`` DN."""
        return (1 << int(self.bit_depth)) - 1

    def as_dict(self) -> dict[str, float]:
        """Plain dict (for reports and truth)."""
        return asdict(self)


def fixed_pattern(
    shape: tuple[int, int], params: EmvaParameters, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the DSNU offset map (electrons) and PRNU gain map (fraction), each ``shape``.

    Both are zero-mean Gaussian with the rms of ``params.dsnu`` / ``params.prnu``; the PRNU
    gain ``1 + prnu_map`` is kept >= 0.
    """
    dsnu_map = rng.standard_normal(shape) * params.dsnu
    prnu_map = np.maximum(rng.standard_normal(shape) * params.prnu, -1.0)
    return dsnu_map, prnu_map


def extra_pattern(
    shape: tuple[int, int], params: EmvaParameters, rng: np.random.Generator
) -> tuple[np.ndarray | None, np.ndarray]:
    """Draw the fixed patterns beyond DSNU/PRNU (after :func:`fixed_pattern`'s draws, from the
    same stream, so a seed's DSNU and PRNU maps stay): the dark-current map ``(H, W)`` e-/s
    (``max(dark_current + dcnu n, 0)``; None when ``dcnu`` is 0) and the row + column offset
    map ``(H, W)`` e- (``row_offset n_r[:, None] + column_offset n_c[None, :]``)."""
    h, w = shape
    dark = rng.standard_normal(shape)
    rows, cols = rng.standard_normal(h), rng.standard_normal(w)
    dark_map = None
    if params.dcnu > 0:
        dark_map = np.maximum(params.dark_current + params.dcnu * dark, 0.0)
    offsets = params.row_offset * rows[:, None] + params.column_offset * cols[None, :]
    return dark_map, offsets


def expose_frames(
    mean_photons: np.ndarray | float,
    params: EmvaParameters,
    exposure: float,
    dsnu_map: np.ndarray,
    prnu_map: np.ndarray,
    rng: np.random.Generator,
    n_frames: int = 1,
    dark_map: np.ndarray | None = None,
    row_index: np.ndarray | None = None,
) -> np.ndarray:
    """Simulate ``n_frames`` frames for a map of mean photons per pixel.

    Args:
        mean_photons: mean photons arriving per pixel during the exposure; scalar or an
            array broadcastable to ``dsnu_map.shape`` (H, W). Must be finite and >= 0.
        params: camera constants.
        exposure: seconds (only the dark current depends on it here).
        dsnu_map, prnu_map: fixed-pattern maps from :func:`fixed_pattern`, shape (H, W)
            (the offset map may include :func:`extra_pattern`'s row and column offsets), or
            (P,) at some pixels.
        rng: temporal-noise generator.
        n_frames: number of independent frames.
        dark_map: per-pixel dark current e-/s (DCNU), broadcastable; None: ``dark_current``.
        row_index: with (P,) maps, each pixel's sensor row (for the temporal row noise);
            None: the maps are whole frames (H, W).

    Returns:
        ``(n_frames, H, W)`` DN, dtype uint8 (<= 8 bits) or uint16.
    """
    photons = np.asarray(mean_photons, dtype=np.float64)
    shape = (int(n_frames), *dsnu_map.shape)
    mean_e = params.quantum_efficiency * photons * (1.0 + prnu_map)
    mean_e = mean_e + (params.dark_current if dark_map is None else dark_map) * exposure
    electrons = rng.poisson(np.broadcast_to(mean_e, shape)).astype(np.float64)
    np.minimum(electrons, params.full_well, out=electrons)
    electrons += dsnu_map
    if params.read_noise > 0:
        electrons += rng.standard_normal(shape) * params.read_noise
    if params.row_noise > 0:  # one draw per row and frame, after the others
        if row_index is None:
            electrons += rng.standard_normal((shape[0], shape[1], 1)) * params.row_noise
        else:
            n_rows = int(row_index.max()) + 1 if row_index.size else 0
            noise = rng.standard_normal((shape[0], n_rows)) * params.row_noise
            electrons += noise[:, row_index]
    dn = electrons
    dn *= params.gain
    dn += params.black_level
    np.rint(dn, out=dn)
    np.clip(dn, 0, params.max_dn, out=dn)
    return dn.astype(np.uint8 if params.bit_depth <= 8 else np.uint16)


def photons_from_power(power: np.ndarray | float, exposure: float, wavelength: float):
    """Mean photons per pixel: ``power`` (W per pixel) x ``exposure`` (s) / (h c / wavelength)."""
    return np.asarray(power, dtype=np.float64) * (exposure * wavelength / HC)


def mean_dn(
    mean_photons: np.ndarray,
    params: EmvaParameters,
    exposure: float,
    gain_map: np.ndarray,
    dsnu_map: np.ndarray,
    dark_map: np.ndarray | None = None,
) -> np.ndarray:
    """The mean of :func:`expose_frames` without its temporal noise, float32 and unrounded:
    ``clip(gain * (min(QE (1 + PRNU) photons + dark, full well) + DSNU) + black, 0, max)``.

    Args:
        mean_photons: (..., N) float32 photons per pixel, overwritten (the result).
        gain_map: ``QE * (1 + prnu_map)`` (N,) or broadcastable, float32.
        dsnu_map: DSNU electrons, broadcastable, float32.
        dark_map: per-pixel dark current e-/s (DCNU), broadcastable; None: ``dark_current``.
    """
    e = mean_photons
    e *= gain_map
    if dark_map is None:
        e += np.float32(params.dark_current * exposure)
    else:
        e += (dark_map * exposure).astype(np.float32)
    np.minimum(e, np.float32(params.full_well), out=e)
    e += dsnu_map
    e *= np.float32(params.gain)
    e += np.float32(params.black_level)
    return np.clip(e, 0, params.max_dn, out=e)
