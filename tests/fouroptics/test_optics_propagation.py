"""fourier_plane() against a direct numerical propagation written here: angular spectrum over
f1, thin-lens phase, angular spectrum over f1 (non-paraxial transfer function, no FFT shortcut
of the lens)."""

from __future__ import annotations

import numpy as np

from fouroptics.optics import FourFSystem, PixelGrid

LAMBDA, F = 532e-9, 20e-3
DX, N_AS = 2e-6, 2048  # propagation grid: 4.1 mm, samples the lens chirp (N dx^2 < lambda f)


def smooth_field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A complex, band-limited test object: Gaussian blobs of 15-40 um inside +-150 um."""
    rng = np.random.default_rng(11)
    out = np.zeros(np.broadcast(x, y).shape, dtype=np.complex128)
    for _ in range(12):
        cx, cy = rng.uniform(-150e-6, 150e-6, 2)
        w = rng.uniform(15e-6, 40e-6)
        amp = rng.standard_normal() + 1j * rng.standard_normal()
        out += amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / w**2)
    return out


def angular_spectrum(field: np.ndarray, dx: float, z: float) -> np.ndarray:
    n = field.shape[0]
    nu = np.fft.fftfreq(n, dx)
    nu2 = nu[:, None] ** 2 + nu[None, :] ** 2
    kz = 2 * np.pi * np.sqrt(np.maximum(1 / LAMBDA**2 - nu2, 0.0))
    return np.fft.ifft2(np.fft.fft2(field) * np.exp(1j * kz * z))


def test_fourier_plane_matches_angular_spectrum_through_a_thin_lens() -> None:
    c = (np.arange(N_AS) - N_AS // 2) * DX
    yy, xx = np.meshgrid(c, c, indexing="ij")
    field = smooth_field(xx, yy)
    field = angular_spectrum(field, DX, F)
    field *= np.exp(-1j * np.pi * (xx**2 + yy**2) / (LAMBDA * F))
    field = angular_spectrum(field, DX, F)
    field *= np.exp(-2j * np.pi * 2 * F / LAMBDA)  # the constant path phase fourier_plane omits

    # Input SLM 4 um (2 dx), Fourier SLM 6 um (3 dx): not the DFT pitch, so the MFT path runs.
    system = FourFSystem(
        wavelength=LAMBDA,
        f1=F,
        f2=F,
        input_slm=PixelGrid((128, 128), 4e-6),
        fourier_slm=PixelGrid((256, 256), 6e-6),
        camera=PixelGrid((128, 128), 4e-6),
        dtype="complex128",
    )
    assert system.sampling_report()["fourier_transform"] == "mft"
    cin = system.input_slm.coords(0)
    iy, ix = np.meshgrid(cin, cin, indexing="ij")
    ours = system.fourier_plane(smooth_field(ix, iy))

    idx = N_AS // 2 + 3 * (np.arange(256) - 128)
    reference = field[np.ix_(idx, idx)]
    err = np.linalg.norm(ours - reference) / np.linalg.norm(reference)
    assert err < 1e-2, err
    # Parseval across the lens: the Fourier SLM catches the whole spectrum of this object.
    p_in = np.sum(np.abs(smooth_field(ix, iy)) ** 2) * 4e-6**2
    p_f = np.sum(np.abs(ours) ** 2) * 6e-6**2
    assert abs(p_f / p_in - 1) < 1e-6
