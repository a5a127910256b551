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
* electronic MACs: the readout (the trigonometric resampling of each camera window, one MAC per
  term) plus the head (``bundle.head_macs()``);
* digital SCLC: the head plus the collapsed spectral layer run by FFT (two 2D FFTs of the
  period per input channel, 5 N^2 log2 N flops each, and one complex MAC = 4 real per kernel
  frequency and channel pair); teacher: its MACs when the caller knows them
  (``fouroptics simulate`` counts the teacher found next to the student's run folder).
"""

from __future__ import annotations

import math
from typing import Any

from devices.config.rates import frame_rates


def hardware_estimate(
    bundle: Any,
    bench: Any = None,
    rates: dict[str, dict[str, Any]] | None = None,
    exposure: float | None = None,
    teacher_macs: int | None = None,
) -> dict[str, Any]:
    """The estimate as plain data (see the module docstring for the conventions).

    Args:
        bundle: the MaskBundle.
        bench: the Bench (for its camera exposure) or None.
        rates: :func:`frame_rates` of the bench YAML (default: assumed rates).
        exposure: seconds (default: the bench camera's).
        teacher_macs: MACs of the teacher CNN the student was distilled from, when known
            (the shell counts them: devices load no training code).
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
    win = len(bundle.arrays["window_offsets"])
    readout = c_opt * (n_out * win * win + n_out * n_out * win)
    head = None
    digital_sclc = None
    teacher = None
    if bundle.head_state is not None:
        head = bundle.head_macs()
        fft = 5 * n_per**2 * math.log2(max(n_per, 2))
        digital_sclc = head + int(c_in * fft + c_opt * fft + 4 * c_opt * c_in * n_out**2)
        teacher = teacher_macs
    electronic = readout + (head or 0)
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
        "electronic_readout_macs": readout,
        "electronic_head_macs": head,
        "digital_sclc_macs": digital_sclc,
        "digital_teacher_macs": teacher,
    }
