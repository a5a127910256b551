"""What a compiled bundle would do on the real bench: frames/s, latency, optical MACs/s, the
electronic MACs left per inference, beside the same network run digitally.

Frame rates come from the device profiles (``frame_rate`` in devices/config/profiles/*.yaml); a
bench YAML's devices name their profile. Counting conventions:

* one inference = ``n_frames`` exposures; the Fourier SLM changes once per bundle frame for a
  whole batch of images (amortised), the input SLM and the camera once per image and frame, so
  frames/s = min(input SLM rate, camera rate) and inferences/s = frames/s / n_frames;
* latency of one image = n_frames x (input SLM refresh + max(exposure, camera frame time));
* optical MACs per inference: what a direct convolution would cost digitally, per optical
  channel and input channel, an N x N kernel (the image period) at each of the n_out^2 outputs;
* electronic MACs: the camera readout the run used (:func:`devices.run.geometry.readout_macs`:
  the ``filter`` readout's taps and one MAC per feature for the photometry, or the registration's
  resampling, the photometry per read pixel and each window's trigonometric readout), plus the
  head (``bundle.head_macs()``); without a run's statistics, the window readout on the nominal
  grid; the input side (levels through a lookup table) costs no MACs;
* digital SCLC: the head plus the collapsed spectral layer run by FFT
  (:meth:`fouroptics.compiler.MaskBundle.digital_macs`); teacher: its MACs when the caller
  knows them (``fouroptics simulate`` counts the teacher found next to the student's run
  folder);
* photons per MAC: the photons the camera detected per image in all readout windows (the run's
  statistics: the measured gain, else the spec sheet's, and the spec sheet's QE) over the
  optical MACs per inference: the light an operation costs at the run's exposure.
"""

from __future__ import annotations

import math
from typing import Any

from devices.config.rates import frame_rates
from devices.run.geometry import readout_macs


def hardware_estimate(
    bundle: Any,
    bench: Any = None,
    rates: dict[str, dict[str, Any]] | None = None,
    exposure: float | None = None,
    teacher_macs: int | None = None,
    stats: Any = None,
) -> dict[str, Any]:
    """The estimate as plain data (see the module docstring for the conventions).

    Args:
        bundle: the MaskBundle.
        bench: the Bench (for its camera exposure) or None.
        rates: :func:`frame_rates` of the bench YAML (default: assumed rates).
        exposure: seconds (default: the bench camera's).
        teacher_macs: MACs of the teacher CNN the student was distilled from, when known
            (the shell counts them: devices load no training code).
        stats: the run's :class:`devices.run.loop.RunStats` (its readout's MACs and the
            photons per image), or None.
    """
    rates = rates or frame_rates(None)
    if exposure is None and bench is not None:
        exposure = float(bench.camera.exposure)
    exposure = exposure or 0.0
    f = bundle.n_frames
    slm_hz, cam_hz = rates["input_slm"]["hz"], rates["camera"]["hz"]
    fps = min(slm_hz, cam_hz, 1.0 / exposure if exposure > 0 else math.inf)
    inf_per_s = fps / f
    latency = f * (1.0 / slm_hz + max(exposure, 1.0 / cam_hz))
    m = bundle.meta
    c_opt, c_in = m["optical_channels"], bundle.image_shape[0]
    n_per, n_out = m["period"], m["output_size"]
    optical = c_opt * c_in * n_out**2 * n_per**2
    readout = readout_macs(bundle, None, None)
    kind = "resample (nominal grid)"
    if stats is not None and getattr(stats, "readout_macs", 0):
        readout, kind = int(stats.readout_macs), stats.readout
    head = None
    digital_sclc = None
    teacher = None
    if bundle.head_state is not None:
        head = bundle.head_macs()
        digital_sclc = bundle.digital_macs()
        teacher = teacher_macs
    electronic = readout + (head or 0)
    photons = None if stats is None else getattr(stats, "photons_per_image", None)
    return {
        "frame_rates_hz": {k: v["hz"] for k, v in rates.items()},
        "frame_rate_sources": {k: v["source"] for k, v in rates.items()},
        "exposure_s": exposure,
        "frames_per_inference": f,
        "frames_per_s": fps,
        "inferences_per_s": inf_per_s,
        "latency_s": latency,
        "optical_macs_per_inference": optical,
        "optical_macs_per_s": optical * inf_per_s,
        "electronic_macs_per_inference": electronic,
        "electronic_readout": kind,
        "electronic_readout_macs": readout,
        "electronic_head_macs": head,
        "digital_sclc_macs": digital_sclc,
        "digital_teacher_macs": teacher,
        "electronic_over_digital_sclc": None if not digital_sclc else electronic / digital_sclc,
        "photons_per_inference": photons,
        "photons_per_optical_mac": None if photons is None else photons / optical,
    }
