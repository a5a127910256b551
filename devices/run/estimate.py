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
  term) plus the head (:func:`fouroptics.nn.macs.count_macs`);
* digital SCLC: the head plus the collapsed spectral layer run by FFT (two 2D FFTs of the
  period per input channel, 5 N^2 log2 N flops each, and one complex MAC = 4 real per kernel
  frequency and channel pair); teacher: its :func:`count_macs`, when its run folder is found
  next to the student's (``experiment`` layout).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from devices.config.bench_config import load_profile
from fouroptics.io.yaml_load import load_yaml
from fouroptics.units import parse_quantity, require_unit

#: used when a device names no profile with a frame rate, and said so in the estimate
DEFAULT_RATES = {"input_slm": 60.0, "fourier_slm": 60.0, "camera": 100.0}


def frame_rates(bench_yaml: str | Path | None) -> dict[str, dict[str, Any]]:
    """``{role: {"hz": rate, "source": profile or "assumed"}}`` from a bench YAML's profiles."""
    sections: dict[str, Any] = {}
    base = None
    if bench_yaml is not None:
        path = Path(bench_yaml)
        sections = load_yaml(path, "bench file") or {}
        base = path.parent
    out = {}
    for role, default in DEFAULT_RATES.items():
        sec = sections.get(role) or {}
        rate, src = None, "assumed"
        if "frame_rate" in sec:
            rate, src = sec["frame_rate"], "bench YAML"
            require_unit(rate, "frequency", f"bench.{role}.frame_rate")
        elif "profile" in sec:
            prof = load_profile(sec["profile"], base)
            if "frame_rate" in prof:
                rate, src = prof["frame_rate"], f"profile {sec['profile']}"
        hz = default if rate is None else parse_quantity(rate, "frequency", f"{role}.frame_rate")
        out[role] = {"hz": float(hz), "source": src}
    return out


def hardware_estimate(
    bundle: Any,
    bench: Any = None,
    rates: dict[str, dict[str, Any]] | None = None,
    exposure: float | None = None,
) -> dict[str, Any]:
    """The estimate as plain data (see the module docstring for the conventions).

    Args:
        bundle: the MaskBundle.
        bench: the Bench (for its camera exposure) or None.
        rates: :func:`frame_rates` of the bench YAML (default: assumed rates).
        exposure: seconds (default: the bench camera's).
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
    feats = m["features"]
    head = None
    digital_sclc = None
    teacher = None
    if bundle.head_state is not None:
        from fouroptics.nn.macs import count_macs

        head = count_macs(bundle.head(), (feats, n_out, n_out))
        fft = 5 * n_per**2 * math.log2(max(n_per, 2))
        digital_sclc = head + int(c_in * fft + c_opt * fft + 4 * c_opt * c_in * n_out**2)
        teacher = _teacher_macs(m.get("source", {}), bundle.image_shape)
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


def _teacher_macs(source: dict[str, Any], image_shape: tuple[int, ...]) -> int | None:
    """MACs of the teacher next to the student's run folder (experiment layout), or None."""
    model = source.get("model")
    if not model:
        return None
    run = Path(model)
    for cand in (run.parent.parent / "teacher" / run.name, run.parent / "teacher"):
        if (cand / "model.pt").exists():
            try:
                import torch

                from fouroptics.nn.macs import count_macs
                from fouroptics.nn.train import load_model

                teacher, _ = load_model(cand, device=torch.device("cpu"))
                return count_macs(teacher, tuple(image_shape))
            except Exception:  # an unreadable teacher: no number rather than a failed run
                return None
    return None
