"""The ``phase-multi`` encoding's check and choice: how faithful each channel is, how much light
reaches the windows, how that holds when the SLM's crosstalk is not the believed one, and the
most tiles per frame that pass.

The check is independent of the optimiser's surrogate (:mod:`fouroptics.compiler.multiplex`):
the realised drive levels through the SLM model (LUT, crosstalk, quantisation) and the 4f
system's forward model (both lenses, pixel apertures, gap light, the bundle's Fourier frame),
against the ideal complex masks' camera field on random images, per channel after a complex
gain fit (:meth:`fouroptics.compiler.bundle.MaskBundle.channel_fields`), as ``compile`` reports
every encoding's fidelity.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from fouroptics.compiler.multiplex import ROBUST_SPREAD, crosstalk_variants
from fouroptics.compiler.slm import SLMModel

#: The check a frame's tiles must pass: mean fidelity over channels and the worst channel.
MEAN_FLOOR = 0.99
WORST_FLOOR = 0.97
#: Random images the check sends through the twin: half uniform in [0, 1], half sparse (a
#: tenth of the pixels at 1, as a digit's strokes), seeded.
CHECK_IMAGES = 8


def check_images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """(:data:`CHECK_IMAGES`, *shape) random images in [0, 1]: uniform, then sparse."""
    rng = np.random.default_rng(seed)
    half = CHECK_IMAGES // 2
    dense = rng.random((half, *shape))
    sparse = (rng.random((CHECK_IMAGES - half, *shape)) < 0.1).astype(np.float64)
    return np.concatenate([dense, sparse])


def channel_quality(
    bundle: Any, masks: np.ndarray, images: np.ndarray, minus: bool = False
) -> dict[str, Any]:
    """Per channel: fidelity ``|<e_i, e_r>|^2 / (|e_i|^2 |e_r|^2)``, the fitted gain's magnitude
    relative to the bundle's (``|<e_i, e_r>| / |e_i|^2 / |g|``: 1 when the channel's features come
    out at the scale the readout assumes) and efficiency (window power / input power); with
    ``minus``, in the channels' -R frames."""
    er, ei, p_in = bundle.channel_fields(images, masks, minus)
    cross = np.abs(np.sum(np.conj(ei) * er, axis=(0, 2, 3)))
    pi = np.sum(np.abs(ei) ** 2, axis=(0, 2, 3))
    pr = np.sum(np.abs(er) ** 2, axis=(0, 2, 3))
    ok = (pi > 0) & (pr > 0)
    fid = np.where(ok, cross**2 / np.where(ok, pi * pr, 1.0), 0.0)
    gain = float(np.hypot(*bundle.meta["gain"])) or 1.0
    rel = np.where(pi > 0, cross / np.where(pi > 0, pi, 1.0), 0.0) / gain
    eff = bundle.system.intensity(er).sum(axis=(0, 2, 3)) / max(p_in, 1e-300)
    return {
        "fidelity": [round(float(v), 5) for v in fid],
        "gain_relative": [round(float(v), 4) for v in rel],
        "efficiency": [float(v) for v in eff],
        "mean_fidelity": float(np.mean(fid)),
        "worst_fidelity": float(np.min(fid)),
        "total_efficiency": float(np.sum(eff)),
    }


def passes(quality: dict[str, Any]) -> bool:
    """Whether a channel quality passes the check (:data:`MEAN_FLOOR`, :data:`WORST_FLOOR`)."""
    return quality["mean_fidelity"] >= MEAN_FLOOR and quality["worst_fidelity"] >= WORST_FLOOR


def report(
    bundle: Any, slm: SLMModel, levels: np.ndarray, info: dict[str, Any], spread: float
) -> dict[str, Any]:
    """The ``multiplex`` section of compile.json (stored in the bundle's meta): tiles per frame,
    the check (per channel fidelity, gain and efficiency through the believed SLM), the
    sensitivity (the same through the crosstalk variants: the coupling times ``1 -+ s``, ``s``
    the optimisation's spread or, when it optimised for the belief only,
    :data:`fouroptics.compiler.multiplex.ROBUST_SPREAD`), with an input floor that no leak
    block cancels the fidelity without it (``input_floor``: what its light costs), and the
    optimiser's own numbers."""
    images = check_images(bundle.image_shape)
    quality = channel_quality(bundle, bundle.fourier_masks, images)
    if bundle.detection == "ideal":  # the -R frames: the readout takes I+ - I-
        minus = channel_quality(bundle, bundle.fourier_masks, images, minus=True)
        quality["minus_gain_relative"] = minus["gain_relative"]
        quality["fidelity"] = list(np.minimum(quality["fidelity"], minus["fidelity"]))
        quality["mean_fidelity"] = float(np.mean(quality["fidelity"]))
        quality["worst_fidelity"] = float(np.min(quality["fidelity"]))
    floor = None
    if bundle.meta.get("input_leak") and not bundle.has_leak_block:  # what the floor costs
        quiet = copy.copy(bundle)
        quiet.meta = {**bundle.meta, "input_leak": 0.0}
        q0 = channel_quality(quiet, bundle.fourier_masks, images)
        floor = {
            "input_leak": float(bundle.meta["input_leak"]),
            "mean_fidelity_without": q0["mean_fidelity"],
            "worst_fidelity_without": q0["worst_fidelity"],
        }
    sensitivity = []
    for alpha, variant in crosstalk_variants(slm, spread or ROBUST_SPREAD)[1:]:
        q = channel_quality(bundle, variant.realise(levels), images)
        sensitivity.append(
            {
                "coupling_scale": alpha,
                "mean_fidelity": q["mean_fidelity"],
                "worst_fidelity": q["worst_fidelity"],
                "fidelity": q["fidelity"],
            }
        )
    return {
        "tiles_per_frame": int(len(bundle.arrays["tiles"])),
        "frames": bundle.n_frames,
        "chosen": "as asked",
        "check": {
            "mean_floor": MEAN_FLOOR,
            "worst_floor": WORST_FLOOR,
            "passed": passes(quality),
            "images": f"{CHECK_IMAGES} random images (half uniform, half 10 % sparse; seed 0) "
            "through the twin",
        },
        **quality,
        "input_floor": floor,
        "robust_spread": spread,
        "sensitivity": sensitivity,
        "optimiser": {
            "weighted_fidelity_start": [round(v, 5) for v in info["fidelity_start"]],
            "weighted_fidelity_end": [round(v, 5) for v in info["fidelity_end"]],
            "gain": info["gain"],
            "coupling_scales": info["alphas"],
            "crosstalk_hedge": info.get("hedge_domain"),
        },
    }


def summary_line(m: dict[str, Any]) -> str:
    """One line of the ``multiplex`` section for compile's summary."""
    check = m["check"]
    sens = ", ".join(
        f"x{s['coupling_scale']:g} worst {s['worst_fidelity']:.3f}" for s in m["sensitivity"]
    )
    fl = m.get("input_floor")
    floor = (
        ""
        if not fl
        else f"; without the input floor's light mean {fl['mean_fidelity_without']:.4f}, worst "
        f"{fl['worst_fidelity_without']:.4f}"
    )
    return (
        f"phase-multi: {m['tiles_per_frame']} tiles per frame, check on random images: mean "
        f"fidelity {m['mean_fidelity']:.4f}, worst {m['worst_fidelity']:.4f} ("
        f"{'passed' if check['passed'] else 'failed'}: mean >= {check['mean_floor']}, worst >= "
        f"{check['worst_floor']}), efficiency {m['total_efficiency']:.3g}; crosstalk coupling "
        f"{sens or 'not varied (no crosstalk)'}{floor}"
    )


def choose(compile_at: Callable[[int], Any], capacity: int, channels: int, groups: int) -> Any:
    """The bundle with the most tiles per frame whose check passes.

    Tiles per frame ``ceil(C / g)`` for ``g`` frames (groups), from the fewest frames the layout
    allows (``capacity`` tiles) up to ``groups``, tried in that order until one passes (fidelity
    falls as tiles are added, smoothly: the first count that passes is usually one or two steps
    down). Every try is recorded in the bundle's ``meta["multiplex"]["tries"]``; when none
    passes, the last tried (the fewest tiles) is returned with a warning.

    Args:
        compile_at: compiles with a given number of tiles per frame.
        capacity: tiles per frame the layout holds.
        channels: optical channels ``C``.
        groups: the most frame groups allowed.

    Raises:
        ConfigError: (from ``compile_at``) when ``C`` channels need more than ``groups`` frame
            groups.
    """
    g0 = -(-channels // max(min(capacity, channels), 1))
    counts = sorted({-(-channels // g) for g in range(g0, groups + 1)}, reverse=True)
    if not counts:
        return compile_at(min(capacity, channels))  # refused there, with the frames it needs
    tries: list[dict[str, Any]] = []
    for n in counts:  # a few tries: the first passing count ends the search
        bundle = compile_at(n)
        m = bundle.meta["multiplex"]
        tries.append(
            {
                "tiles_per_frame": m["tiles_per_frame"],
                "frames": bundle.n_frames,
                "mean_fidelity": m["mean_fidelity"],
                "worst_fidelity": m["worst_fidelity"],
                "passed": m["check"]["passed"],
            }
        )
        if m["check"]["passed"]:
            break
    m["chosen"] = "automatic: the most tiles per frame that pass the check"
    m["tries"] = tries
    if not m["check"]["passed"]:
        bundle.meta["warnings"].append(
            f"phase-multi: no tiles-per-frame count passed the fidelity check (mean >= "
            f"{MEAN_FLOOR}, worst >= {WORST_FLOOR}); compiled with {m['tiles_per_frame']}: mean "
            f"{m['mean_fidelity']:.4f}, worst {m['worst_fidelity']:.4f}"
        )
    return bundle


__all__ = [
    "MEAN_FLOOR",
    "WORST_FLOOR",
    "channel_quality",
    "check_images",
    "choose",
    "report",
    "summary_line",
]
