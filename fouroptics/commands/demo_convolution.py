"""``fouroptics demo --system SYSTEM.yaml``: check a system YAML with one convolution.

Instead of the whole job (:mod:`fouroptics.commands.demo`): renders a test image on the input
SLM of the system, displays the Fourier mask of an edge-detecting kernel, and compares the
camera field, brought back to the input grid, with scipy.signal.fftconvolve. Writes
DIR/demo.png and DIR/summary.json; prints the sampling report's warnings on stderr.
Configuration problems (the system YAML, ``--size``) are :class:`ConfigError`: one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.signal

from fouroptics.errors import ConfigError
from fouroptics.optics import FourFSystem, crop_centre, embed_centre
from fouroptics.report import prepare_out, save_figure, write_json

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "systems"

KERNELS: dict[str, np.ndarray] = {
    "sobel_x": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float),
    "gaussian": np.exp(-(np.arange(-4, 5)[:, None] ** 2 + np.arange(-4, 5)[None, :] ** 2) / 8.0),
}


#: The bench of examples/systems/realistic.yaml, for installs without the examples folder.
DEFAULT_SYSTEM = {
    "name": "realistic-lcos-4f",
    "wavelength": "532 nm",
    "f1": "100 mm",
    "f2": "150 mm",
    "input_slm": {"shape": [640, 640], "pitch": "8 um"},
    "fourier_slm": {
        "shape": [1080, 1080],
        "pitch": "6.4 um",
        "fill_factor": 0.93,
        "gap_transmission": 1.0,
    },
    "camera": {"shape": [1536, 1536], "pitch": "5.5 um"},
    "lens_aperture": "25.4 mm",
}


def load_system(path: str | None) -> FourFSystem:
    """The system YAML at ``path``; by default the realistic example bench."""
    if path is not None:
        return FourFSystem.from_yaml(path)
    example = EXAMPLES / "realistic.yaml"
    return (
        FourFSystem.from_yaml(example)
        if example.exists()
        else FourFSystem.from_dict(DEFAULT_SYSTEM)
    )


def check_size(size: int, system: FourFSystem) -> int:
    """``--size`` if the test image fits on the input SLM, else ConfigError (never clamped)."""
    limit = min(system.input_shape)
    if not 1 <= size <= limit:
        h, w = system.input_shape
        raise ConfigError(
            f"--size {size}: the test image must fit on the input SLM ({h} x {w} pixels); "
            f"allowed 1..{limit}"
        )
    return size


def render_text_image(size: int, text: str = "4f") -> np.ndarray:
    """A (size, size) float image in [0, 1] of ``text`` drawn with matplotlib's bundled font."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=size)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("black")
    fig.text(
        0.5,
        0.45,
        text,
        color="white",
        fontsize=0.55 * 72,
        ha="center",
        va="center",
        fontweight="bold",
    )
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba(), dtype=np.float64)
    img = rgba[..., 0] / 255.0
    yy, xx = np.mgrid[0:size, 0:size] / size
    return img * (0.6 + 0.4 * np.cos(2 * np.pi * 3 * xx) * np.cos(2 * np.pi * 2 * yy) ** 2)


def run(args: argparse.Namespace) -> int:
    """The convolution check of ``args.system`` into ``args.out`` (demo.png, summary.json)."""
    system = load_system(args.system)
    size = check_size(args.size, system)
    sampling = system.sampling_report()
    for warning in sampling["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    out = prepare_out(args.out)
    image = render_text_image(size)
    kernel = KERNELS[args.kernel]

    t0 = time.perf_counter()
    mask = system.kernel_to_mask(kernel)
    field = embed_centre(image, system.input_shape)
    camera_field = system.forward(field, mask)
    t_forward = time.perf_counter() - t0
    recovered = crop_centre(system.output_to_input_grid(camera_field), image.shape)
    reference = scipy.signal.fftconvolve(image, kernel, mode="same")
    err = _rel(recovered, reference)
    # The same bench with ideal (100% fill factor) Fourier SLM pixels: what remains is the
    # sampling error; the difference to ``err`` is the gap light (zero order) and the lost
    # fill-factor efficiency, which the mask compiler must compensate.
    ideal = system.with_options(fourier_slm=replace(system.fourier_slm, fill_factor=1.0))
    recovered_ideal = crop_centre(
        ideal.output_to_input_grid(ideal.forward(field, mask)), image.shape
    )
    err_ideal = _rel(recovered_ideal, reference)
    intensity = system.intensity(camera_field)
    fourier = system.fourier_plane(field)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 8.5))
    mm = 1e3
    ext_in = _extent(system.input_slm, mm)
    ext_f = _extent(system.fourier_slm, mm)
    ext_c = _extent(system.camera, mm)
    panels = [
        (field.real, ext_in, "input SLM amplitude", "gray", "mm"),
        (
            np.log10(np.abs(fourier) ** 2 + 1e-30 * np.abs(fourier).max() ** 2),
            ext_f,
            "Fourier plane log10 |U|^2 (incident)",
            "magma",
            "mm",
        ),
        (np.abs(mask), ext_f, f"Fourier SLM: |mask| of the {args.kernel} kernel", "viridis", "mm"),
        (intensity, ext_c, "camera intensity (W / pixel): inverted, x f2/f1", "inferno", "mm"),
        (recovered.real, None, "camera field -> input grid (real part)", "RdBu_r", "px"),
        (
            recovered.real - reference,
            None,
            f"minus scipy fftconvolve: rel. L2 {err:.1e}\n({err_ideal:.1e} with 100% fill factor)",
            "RdBu_r",
            "px",
        ),
    ]
    half_in = 0.6 * size * system.input_pitch * mm
    half_cam = half_in * system.magnification
    zooms = [half_in, None, None, half_cam, None, None]
    for ax, (data, extent, title, cmap, unit), zoom in zip(
        axes.ravel(), panels, zooms, strict=True
    ):
        im = ax.imshow(data, extent=extent, cmap=cmap, origin="upper")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(unit)
        if zoom is not None:
            ax.set_xlim(-zoom, zoom)
            ax.set_ylim(zoom, -zoom)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(
        f"{system.name or 'system'}: {system.input_shape} @ {system.input_pitch * 1e6:.2f} um -> "
        f"f1 {system.f1 * 1e3:.0f} mm -> {system.fourier_shape} @ "
        f"{system.fourier_pitch * 1e6:.2f} um -> f2 {system.f2 * 1e3:.0f} mm -> camera "
        f"{system.camera_shape} @ {system.camera_pitch * 1e6:.2f} um",
        fontsize=10,
    )
    fig_path = save_figure(fig, out / "demo.png")
    summary = {
        "verb": "demo",
        "system": system.to_dict(),
        "kernel": args.kernel,
        "image_shape": list(image.shape),
        "relative_l2_error_vs_scipy_fftconvolve": err,
        "relative_l2_error_with_ideal_fourier_pixels": err_ideal,
        "forward_seconds": t_forward,
        "optical_power_in_W": float(np.sum(np.abs(field) ** 2) * system.input_pitch**2),
        "optical_power_camera_W": float(intensity.sum()),
        "sampling": sampling,
        "figure": str(fig_path),
    }
    json_path = write_json(out / "summary.json", summary)
    print(
        f"4f convolution with {args.kernel}: relative L2 error vs scipy {err:.2e} "
        f"({err_ideal:.2e} with ideal Fourier SLM pixels), forward {t_forward:.2f} s"
    )
    print(f"wrote {fig_path} and {json_path}")
    return 0


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _extent(grid, scale: float) -> list[float]:
    (h, w), p = grid.shape, grid.pitch
    y0, x0 = -(h // 2) * p, -(w // 2) * p
    return [
        (x0 - p / 2) * scale,
        (x0 + (w - 0.5) * p) * scale,
        (y0 + (h - 0.5) * p) * scale,
        (y0 - p / 2) * scale,
    ]
