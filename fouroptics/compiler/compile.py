"""Compile kernels into Fourier-plane masks: :func:`compile_kernels`, :func:`compile_model`.

Longer than 500 lines because :func:`compile_program` is one recipe (layout, per-frame masks,
encoding, refinement, readout) whose steps share their intermediate arrays; the binary iris
(``_binary_iris``) is the part that could move to :mod:`fouroptics.compiler.binary`.

The recipe (see :mod:`fouroptics.compiler.geometry` for the derivation): each input channel is
an input-SLM block of ``T = q + 1`` periodic tiles of the image; each optical output channel
gets its own camera tile through a phase ramp; each frame's mask is the sum of its channels'
terms, compensated for the Fourier SLM's fill factor and gap light (the one home of that physics
is :mod:`fouroptics.optics.pixels`), scaled to a passive device (|m| <= 1, the scale recorded),
then encoded for the SLM. Detections become camera measurements:

* ``intensity``: one exposure, ``|E|^2``;
* ``signed``: the optical channels come in (+, -) pairs, each an intensity tile;
  ``sqrt(I+) - sqrt(I-)``;
* ``ideal``: a coherent reference R: a uniform block on the input SLM imaged onto every tile by
  a term of the mask (a DC-only kernel), at +R and -R in two exposures:
  ``Re(E) = (I+ - I-) / (4 R)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.compiler import binary, encodings, multiplex, multiplex_check
from fouroptics.compiler import geometry as geo
from fouroptics.compiler.encodings import ENCODINGS, encode, ghosts_for, refine_steps
from fouroptics.compiler.fourier_frame import FourierFrame
from fouroptics.compiler.layout import place
from fouroptics.compiler.refine import readout_region, refine_phase_levels
from fouroptics.compiler.slm import SLMModel
from fouroptics.compiler.synthesis import synthesise
from fouroptics.errors import ConfigError
from fouroptics.io.digest import file_sha256
from fouroptics.optics import FourFSystem, pixels

DETECTIONS = ("ideal", "intensity", "signed")


@dataclass(frozen=True)
class Program:
    """What to compute, in the model's units.

    Attributes:
        kernels: (C_opt, C_in, N, N) complex Fourier kernels, unshifted DFT layout on the
            image period N (zero outside the band).
        band: (J,) signed frequencies (sorted) where the kernels may be non-zero, per axis.
        period: N, image pixels.
        image_size: n_img: the image occupies pixels [0, n_img) of the period.
        t_out: (n_out,) image-pixel positions of the output samples, per axis.
        detection: "ideal", "intensity" or "signed".
        sqrt_eps: added to the intensity before the square root of ``signed``.
    """

    kernels: np.ndarray
    band: np.ndarray
    period: int
    image_size: int
    t_out: np.ndarray
    detection: str
    sqrt_eps: float = 0.0


def dc_free(kernels: np.ndarray, rtol: float = 1e-6) -> bool:
    """Whether Fourier kernels (..., N, N) (unshifted DFT layout) pass no uniform light: every
    DC bin below ``rtol`` times the largest entry (a model trained with ``dc_free``)."""
    k = np.abs(np.asarray(kernels))
    return bool(k.size) and float(k[..., 0, 0].max()) <= rtol * max(float(k.max()), 1e-300)


def compile_kernels(
    kernels: Any,
    system: FourFSystem,
    *,
    image_size: int,
    detection: str = "ideal",
    fourier: bool = False,
    encoding: str = "complex",
    slm: SLMModel | None = None,
    order: int = 2,
    **options: Any,
) -> Any:
    """Compile a user's own kernels.

    Args:
        kernels: spatial kernels (kh, kw), (C_out, kh, kw) or (C_out, C_in, kh, kw), real or
            complex, origin at ``((kh-1)//2, (kw-1)//2)``: the bundle computes
            ``scipy.signal.fftconvolve(image, kernel, mode="same")`` (summed over input
            channels). With ``fourier=True``: Fourier kernels (..., n, n) in the unshifted DFT
            layout of an ``n``-periodic image (``n == image_size``), circular convolution.
        system: the 4f system.
        image_size: side of the (square) images the bundle takes.
        detection: "ideal" (real part, via a reference), "intensity" (|y|^2), or "signed"
            (real kernels split into positive and negative parts: y = |x*k+| - |x*k-| for
            x >= 0).
        encoding, slm, order, options: see :func:`compile_program` (order 2 by default here:
            the smallest blocks; its tails stay below 1e-3 of the band at the zone edge).

    Returns:
        A :class:`~fouroptics.compiler.bundle.MaskBundle`.
    """
    k = np.asarray(kernels)
    if k.dtype.kind not in "iufc" or k.ndim not in (2, 3, 4) or min(k.shape) < 1:
        raise ConfigError(
            f"kernels: shape {k.shape}, dtype {k.dtype}; expected numbers (integer, float or "
            "complex, not bool) shaped (kh, kw), (C_out, kh, kw) or (C_out, C_in, kh, kw)"
        )
    if not np.all(np.isfinite(k)):
        raise ConfigError("kernels: NaN or inf values")
    top = float(np.abs(k).max())
    if not 1e-30 <= top <= 1e30:
        raise ConfigError(
            f"kernels: the largest |value| is {top:.3g}; expected 1e-30 .. 1e30 (the optics "
            "realise a kernel up to a gain: rescale it)"
        )
    k = k.reshape((1,) * (4 - k.ndim) + k.shape)
    if k.ndim == 4 and np.asarray(kernels).ndim == 3:
        k = k.reshape(k.shape[1], 1, *k.shape[2:])
    if detection not in DETECTIONS:
        raise ConfigError(f"detection: got {detection!r}; allowed: {', '.join(DETECTIONS)}")
    kh, kw = k.shape[-2:]
    h_in, w_in = system.input_shape
    if kh > h_in or kw > w_in:
        raise ConfigError(f"kernel: {kh}x{kw} pixels is larger than the input SLM {h_in}x{w_in}")
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)):
        raise ConfigError(f"image_size: got {image_size!r}; expected a whole number of pixels")
    if not 2 <= image_size <= min(h_in, w_in):
        raise ConfigError(
            f"image_size: got {image_size}; expected 2 to {min(h_in, w_in)} pixels (the input "
            "SLM's side)"
        )
    if detection == "signed":
        if np.iscomplexobj(k) and np.any(k.imag != 0):
            raise ConfigError("detection 'signed' needs real kernels (split into + and - parts)")
        k = np.real(k)
        pair = np.stack([np.maximum(k, 0), np.maximum(-k, 0)], axis=1)
        k = pair.reshape(-1, *k.shape[1:])
    if fourier:
        if kh != kw or kh != image_size:
            raise ConfigError(
                f"Fourier kernels: {kh}x{kw}; expected {image_size}x{image_size} (image_size)"
            )
        period = image_size
        spectra = np.asarray(k, dtype=np.complex128)
    else:
        period = image_size + max(kh, kw) - 1
        period += period % 2
        spectra = geo.spatial_to_dft(k.astype(np.complex128), period)
    program = Program(
        kernels=spectra,
        band=np.sort(geo.signed_frequencies(period)),
        period=period,
        image_size=image_size,
        t_out=np.arange(image_size, dtype=np.float64),
        detection=detection,
    )
    digest = hashlib.sha256(np.ascontiguousarray(k).tobytes()).hexdigest()
    return compile_program(
        program,
        system,
        encoding=encoding,
        slm=slm,
        order=order,
        source={"kernels_sha256": digest},
        **options,
    )


def compile_model(
    run_dir: str | Path,
    system: FourFSystem,
    *,
    encoding: str = "complex",
    slm: SLMModel | None = None,
    calibration: Any = None,
    **options: Any,
) -> Any:
    """Compile a trained SCLC (a folder written by train / distill / experiment).

    The collapsed kernel ``[C_opt, C_in, n, n]`` on the model's ``N x N`` input becomes masks;
    the detection is the model's; the bundle carries the electronic head.

    Args:
        run_dir: the run folder (or its model.pt).
        system: the 4f system.
        encoding, slm, options: see :func:`compile_program`.
        calibration: a calibration set; its measured SLM response, when it has one, replaces
            ``slm``'s table (recorded in the bundle).
    """
    import torch

    from fouroptics.errors import FileFormatError
    from fouroptics.nn.spectral import crop_indices
    from fouroptics.nn.train import load_model

    try:
        model, state = load_model(run_dir, device=torch.device("cpu"))
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as exc:
        raise FileFormatError(f"{run_dir}: cannot load a trained model ({exc})") from exc
    config = state.get("model_config") or {}
    if config.get("kind") not in ("sclc", "seg_sclc"):
        raise ConfigError(
            f"{run_dir}: a {config.get('kind')!r} model has no optical part to compile; "
            "compile an SCLC (train --model sclc, distill or experiment)"
        )
    with torch.no_grad():
        collapsed = model.collapse().detach().cpu().numpy().astype(np.complex128)
    big, small = int(config["sizes"][0]), int(config["sizes"][-1])
    idx = crop_indices(big, small).numpy()
    spectra = np.zeros((*collapsed.shape[:2], big, big), dtype=np.complex128)
    spectra[..., idx[:, None], idx[None, :]] = collapsed
    program = Program(
        kernels=spectra,
        band=np.sort(geo.signed_frequencies(small)),
        period=big,
        image_size=big,
        t_out=np.arange(small, dtype=np.float64) * big / small,
        detection=config["detection"],
        sqrt_eps=1e-8,
    )
    head_state = {
        k[len("head.") :]: v.detach().cpu().numpy()
        for k, v in model.state_dict().items()
        if k.startswith("head.")
    }
    model_file = Path(run_dir) / "model.pt" if Path(run_dir).is_dir() else Path(run_dir)
    source = {  # absolute: simulate and finetune find (and check) it from any folder
        "model": str(Path(run_dir).resolve()),
        "model_sha256": file_sha256(model_file),
        "model_config": config,
    }
    if calibration is not None and getattr(calibration, "slm_response", None) is not None:
        table = np.asarray(calibration.slm_response)
        base = slm or SLMModel()
        slm = dataclasses.replace(
            base, response=table, name=f"{base.name} (calibrated)", source="calibration"
        )
        source["calibration"] = str(getattr(calibration, "path", "given"))
    return compile_program(
        program, system, encoding=encoding, slm=slm, source=source, head=head_state, **options
    )


def default_upsample(program: Program, system: FourFSystem) -> int:
    """Input-SLM pixels per image pixel: 1 when the camera samples the input pixel grid (an
    integer number of camera pixels per imaged input pixel: the output is exact on the grid
    whatever the band); otherwise the smallest that keeps the band within half the input's
    zone, so that the field is smooth between camera samples."""
    ratio = system.input_pitch * system.magnification / system.camera_pitch
    if abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1:
        return 1
    kmax = int(np.max(np.abs(program.band)))
    return max(1, math.ceil((2 * kmax + 1) / program.period))


def _binary_iris(
    encoding: str,
    system: FourFSystem,
    program: Program,
    s: int,
    order: int,
    guard_m: float,
    u_max: float,
) -> tuple[tuple[np.ndarray, np.ndarray] | None, dict[str, Any] | None]:
    """The iris of a binary encoding and its description for compile.json, or (None, None).

    A window's sight (half-width ``sigma``: window, block image and guard, magnified) must fit
    the iris (:mod:`fouroptics.compiler.binary`); the light scales as ``f2 / f1`` times the image
    period and the iris as ``lambda f2 / p_F``, so what fits is said in those terms.

    Raises:
        ConfigError: when one window's sight does not fit the iris, with what would fit.
    """
    if encodings.iris_for(encoding, system) is None:
        return None, None
    mag = system.magnification
    p_in = system.input_pitch
    period_m = program.period * s * p_in
    sight = mag * ((order + 2) * period_m / 2 + guard_m)
    margin = sight - mag * order * period_m / 2
    big_l = system.wavelength * system.f2 / system.fourier_pitch
    iris = encodings.iris_for(encoding, system, margin)
    assert iris is not None
    need = binary.iris_shrink_needed(encoding, sight / big_l, margin / big_l)
    if need > 1:
        half_f = (min(system.fourier_shape) // 2) * system.fourier_pitch
        dmd_px = math.ceil(2 * u_max * need / system.fourier_pitch)
        what = (
            f"1/{binary.SUPERPIXEL_N}: the superpixels hold 1/{binary.SUPERPIXEL_N} of the "
            "DMD's pixel band"
            if encoding == "superpixel"
            else "orders -3..3 kept out"
        )
        s_fit = math.floor(s / need)
        raise ConfigError(
            f"encoding {encoding!r}: a readout window sees {2 * sight * 1e3:.3f} mm of the "
            f"camera plane (window + block image of the image period {program.period} px x "
            f"upsampling {s}, magnified {mag:.3g}) but the iris is {2 * iris[1][0] * 1e3:.3f} "
            f"mm wide ({what} of lambda f2 / p_F = {big_l * 1e3:.3f} mm); the light must shrink "
            f"{need:.2f}x: f1 >= {system.f1 * need * 1e3:.1f} mm (the band then spans "
            f"{dmd_px} Fourier pixels; this SLM holds {2 * half_f / system.fourier_pitch:.0f}), "
            f"or a Fourier SLM pitch <= {system.fourier_pitch / need * 1e6:.2f} um "
            f"({dmd_px} pixels for the band), or "
            + (f"upsampling <= {s_fit}" if s_fit >= 1 else "a smaller image (upsampling is 1)")
            + f", or an image period <= {math.floor(program.period / need)} px"
        )
    note: dict[str, Any] = {
        "carrier_cycles_per_pixel": [float(v) for v in iris[0] / big_l],
        "centre_mm": [float(v) * 1e3 for v in iris[0]],
        "half_width_mm": float(iris[1][0] * 1e3),
        "window_sight_half_width_mm": float(sight * 1e3),
    }
    if encoding == "superpixel":
        n = binary.SUPERPIXEL_N
        note["superpixel"] = (
            f"{n}x{n} DMD pixels per superpixel: the target is sampled at {n} p_F = "
            f"{n * system.fourier_pitch * 1e6:.2f} um, so the DMD holds 1/{n} of its pixel band: "
            f"a camera field of lambda f2 / ({n} p_F) = {big_l / n * 1e3:.3f} mm around the "
            "carrier (the iris); the rest of the camera plane holds the zero order and the "
            f"superpixel grid's repeats every {big_l / n * 1e3:.3f} mm"
        )
    else:
        note["lee"] = (
            "the tile ramps are the carrier; orders -3..3 of the hologram (zero order, "
            "conjugate, 2nd and 3rd) are kept out of the iris, higher orders are the measured "
            "fidelity loss"
        )
    return iris, note


def compile_program(
    program: Program,
    system: FourFSystem,
    *,
    encoding: str = "complex",
    slm: SLMModel | None = None,
    upsample: int | None = None,
    order: int | None = None,
    max_frames: int = 16,
    max_tiles: int | None = None,
    guard_px: float = 2.0,
    input_amplitude: float = 1.0,
    refine: int | None = None,
    source: dict[str, Any] | None = None,
    head: dict[str, np.ndarray] | None = None,
    frame: FourierFrame | None = None,
    input_leak: float = 0.0,
    leak_block: bool = False,
    robust: float | None = None,
    input_crosstalk: np.ndarray | None = None,
    lit_panel: bool = False,
) -> Any:
    """Lay out, synthesise, compensate, scale and encode; returns a MaskBundle.

    Args:
        program: what to compute (:class:`Program`).
        system: the 4f system.
        encoding: one of :data:`fouroptics.compiler.encodings.ENCODINGS`.
        slm: the Fourier SLM's levels and LUT (None: ideal for ``complex``, linear otherwise).
        upsample: input-SLM pixels per image pixel (default: :func:`default_upsample`).
        order: B-spline order q of the mask's smoothing (>= 2; 3 keeps the band's tails
            below 1e-4 at the zone edge; blocks are q + 1 periods wide). Default: 3, or 2
            when 3 does not fit the system (said in the warnings); 2 for binary encodings
            and ``phase-multi`` (the smallest readout region per tile).
        max_frames: the most exposures per image allowed.
        max_tiles: the most output channels per frame (default: as many as fit). For
            ``phase-multi``: the tiles per frame asked for (refused when they do not fit);
            default: the most for which the fidelity check passes
            (:func:`fouroptics.compiler.multiplex_check.choose`).
        guard_px: clearance between lights, input-SLM pixels.
        input_amplitude: input field in sqrt(W)/m for unit image value (transmission 1).
        refine: optimisation steps of the phase encodings through the SLM's fringing and LUT
            (:mod:`fouroptics.compiler.refine`); default 100 on an SLM with fringing, else 0
            (``phase-multi``: :data:`fouroptics.compiler.multiplex.MULTIPLEX_STEPS`).
        source: provenance stored in the bundle.
        head: the electronic head's weights (models only).
        frame: where calibration found the Fourier SLM (centre, scale, wavefront,
            :class:`~fouroptics.compiler.fourier_frame.FourierFrame`): the masks are designed
            for the real pixels and the bundle's twin sees them there. None: nominal.
        input_leak: the input SLM's darkest field relative to its brightest (its measured
            LUT's floor ``a``). Kernels with no DC response (:func:`dc_free`: a model trained
            with ``dc_free``) pass none of the floor's uniform light: the bundle's input
            becomes ``a + (1 - a) t`` (the run shows the images on the floor, not clipped at
            it) and nothing else changes.
        leak_block: for kernels with a DC response and ``input_leak`` > 0: lay out a leak block
            (fully on) routed to every tile with the coefficient that cancels the floor's light
            (:func:`~fouroptics.compiler.synthesis.leak_coefficient`); the bundle's input
            becomes ``a + (1 - a) t``. When the block does not fit, the bundle is compiled
            without it and says so. False: the floor is not compensated (the run clips the
            images at it).
        input_crosstalk: the input SLM's believed crosstalk kernel (kh, kw), acting on the
            field it shows (an amplitude SLM: ``K * |t|``): its transfer function
            (:func:`fouroptics.optics.pixels.crosstalk_transfer`) is divided out of the masks
            at the frequencies the Fourier pixels see, and the bundle's twin shows the images
            through it. None: no input crosstalk.
        robust: ``phase-multi``: relative spread of the crosstalk coupling the drive is made
            robust to (:func:`fouroptics.compiler.multiplex.crosstalk_variants`; default
            :data:`fouroptics.compiler.multiplex.ROBUST_SPREAD`, 0: the belief only).
        lit_panel: the input SLM lights its whole panel (a phase-only input, double-phase
            images): the readout windows are placed off the panel's unmodulated image
            (:func:`fouroptics.compiler.layout.place`), where the Fourier SLM's gap light and
            whatever its masks do not deflect cannot reach them.
    """
    from fouroptics.compiler.bundle import MaskBundle

    if order is None and (
        encodings.iris_for(encoding, system) is not None or encoding == "phase-multi"
    ):
        # binary encodings: order 2, the smallest window sight (their own error, ~1 %, dwarfs
        # order 2's tails, 1e-3 of the band at the zone edge); phase-multi: the smallest
        # readout region per tile ((2q + 2) periods wide), which a phase-only drive must fill
        # while its other light goes elsewhere (8 tiles: 48 % of the camera plane at order 2,
        # 79 % at 3 on misaligned_noisy.yaml)
        order = 2
    if order is None:
        args = dict(
            encoding=encoding, slm=slm, upsample=upsample, max_frames=max_frames,
            max_tiles=max_tiles, guard_px=guard_px, input_amplitude=input_amplitude,
            refine=refine, source=source, head=head, frame=frame, input_leak=input_leak,
            leak_block=leak_block, robust=robust, input_crosstalk=input_crosstalk,
            lit_panel=lit_panel,
        )  # fmt: skip
        try:
            return compile_program(program, system, order=3, **args)
        except ConfigError as exc:
            try:
                bundle = compile_program(program, system, order=2, **args)
            except ConfigError as exc2:  # the most permissive attempt's reason comes first
                if str(exc2) == str(exc):
                    raise exc from None
                raise type(exc2)(f"{exc2} (with order 3: {exc})") from None
            bundle.meta["warnings"].append(
                f"order 3 did not fit ({exc}); compiled with order 2 (blocks of 3 periods)"
            )
            return bundle
    if encoding not in ENCODINGS:
        raise ConfigError(f"encoding: got {encoding!r}; allowed: {', '.join(ENCODINGS)}")
    if program.detection not in DETECTIONS:
        raise ConfigError(f"detection: got {program.detection!r}; allowed: {DETECTIONS}")
    if not isinstance(order, int) or order < 2:
        raise ConfigError(f"order: got {order!r}; allowed integers >= 2")
    multi = encoding == "phase-multi"
    spread = multiplex.ROBUST_SPREAD if robust is None else robust
    if isinstance(spread, bool) or not isinstance(spread, int | float) or not 0 <= spread < 1:
        raise ConfigError(f"robust: got {robust!r}; allowed numbers in [0, 1)")
    s = upsample or default_upsample(program, system)
    if not isinstance(s, int) or s < 1:
        raise ConfigError(f"upsample: got {upsample!r}; allowed integers >= 1")
    n_per = program.period
    c_opt, c_in = program.kernels.shape[:2]
    p_in = system.input_pitch
    period_m = n_per * s * p_in
    tiles = order + 1
    block_px = tiles * n_per * s
    ideal = program.detection == "ideal"
    warnings: list[str] = []

    # the band must sit on the Fourier SLM (and inside the lens aperture)
    kmax = float(np.max(np.abs(program.band)))
    u_max = system.wavelength * system.f1 * kmax / period_m
    half_f = (min(system.fourier_shape) // 2) * system.fourier_pitch
    if u_max > half_f * (1 + 1e-9):
        raise ConfigError(
            f"band: the kernels reach {u_max * 1e3:.3f} mm from the axis in the Fourier plane "
            f"but the Fourier SLM holds {half_f * 1e3:.3f} mm; use a larger upsampling "
            f"(now {s}) or a system with a longer f1 or a larger Fourier SLM"
        )
    if system.lens_aperture is not None and u_max * math.sqrt(2) > system.lens_aperture / 2:
        raise ConfigError(
            f"band: the kernels reach {u_max * math.sqrt(2) * 1e3:.3f} mm (corner) but the "
            f"lens aperture radius is {system.lens_aperture / 2e3 * 1e3:.3f} mm"
        )

    leak = float(input_leak)
    if not 0.0 <= leak < 1.0:
        raise ConfigError(f"input_leak: got {input_leak!r}; expected 0 <= a < 1")
    floor = leak  # what the input SLM shows: floor + (1 - floor) t
    if leak and not ideal and dc_free(program.kernels):
        leak = 0.0  # nothing to cancel: the kernels pass no uniform light (no leak block)
        warnings.append(
            f"input floor {floor:.3g} (the input SLM's contrast floor): the kernels have no DC "
            "response, so its uniform light does not reach the camera; the run shows "
            "a + (1 - a) t"
        )
    elif leak and not leak_block:
        leak = floor = 0.0  # the run clips the images at the floor, as without a calibration
    n_blocks = c_in + (1 if ideal or leak else 0)
    iris, iris_note = _binary_iris(encoding, system, program, s, order, guard_px * p_in, u_max)
    if max_tiles is None and encoding == "superpixel":
        max_tiles = 1
        warnings.append(
            "superpixel: one output channel per frame, its window at the iris centre (a "
            "superpixel is a point source only near the carrier: its error grows with the "
            "distance from it; on examples/systems/dmd.yaml fidelity 0.975-0.9997, median "
            "0.995, at the centre, 0.84-0.97 with 4 windows in the iris)"
        )

    def layout(blocks: int) -> Any:
        return place(
            system,
            blocks,
            block_px,
            period_m,
            order,
            guard_px * p_in,
            ghosts=ghosts_for(encoding, system),
            zero_order=_has_zero_order(encoding, system),
            iris=iris,
            # one double-phase tile per frame (below): the layout nearest the axis for it
            max_tiles=1 if lit_panel and encoding.startswith("double-phase") else max_tiles,
            lit_panel=lit_panel,
        )

    try:
        placement = layout(n_blocks)
    except ConfigError as exc:
        if not leak or ideal:
            raise
        warnings.append(
            f"input leak {leak:.3g}: no room for the leak block on the input SLM ({exc}); "
            "compiled without it: the contrast floor's light reaches every tile"
        )
        leak, floor, n_blocks = 0.0, 0.0, c_in
        placement = layout(n_blocks)
    if multi and max_tiles is None:  # the most tiles per frame that pass the fidelity check
        args = dict(
            encoding=encoding, slm=slm, upsample=upsample, order=order, guard_px=guard_px,
            input_amplitude=input_amplitude, refine=refine, source=source, head=head,
            frame=frame, input_leak=input_leak, robust=robust, max_frames=max_frames,
            lit_panel=lit_panel,
        )  # fmt: skip
        if ideal:  # the reference dominates each tile's field: I+ - I- needs one tile a frame
            bundle = compile_program(program, system, max_tiles=1, **args)
            bundle.meta["warnings"].append(
                "phase-multi with detection 'ideal': one tile per frame (the reference R "
                "dominates each tile's field and Re(E R*) = (I+ - I-) / 4 magnifies the error "
                "of a shared frame: 22 % against scipy at 3 tiles per frame, 1.2 % at one, on "
                "a 192-px test system; ask --tiles-per-frame to override)"
            )
            return bundle
        return multiplex_check.choose(
            lambda n: compile_program(program, system, max_tiles=n, **args),
            len(placement.tiles),
            c_opt,
            max_frames // (2 if ideal else 1),
        )
    if max_tiles is None and encoding.startswith("double-phase"):
        max_tiles = 1
        warnings.append(
            "double-phase: one output channel per frame (channels sharing a mask interfere "
            "into speckle whose checkerboard error spreads over every tile: fidelity 0.57 "
            "at 2 channels, 0.9997 at 1, on the matched example)"
        )
    if max_tiles is not None:
        if isinstance(max_tiles, bool) or not isinstance(max_tiles, int) or max_tiles < 1:
            raise ConfigError(f"max_tiles: got {max_tiles!r}; allowed integers >= 1")
        if multi and len(placement.tiles) < min(max_tiles, c_opt):
            raise ConfigError(
                f"tiles per frame: {max_tiles} asked for, but {len(placement.tiles)} fit this "
                f"system's camera and Fourier SLM (blocks of {block_px} input pixels, order "
                f"{order}); ask for at most {len(placement.tiles)} or leave it to the compiler"
            )
        placement = placement.first(max_tiles)
    if lit_panel:
        r = np.hypot(*placement.tile_centre.T) * 1e3
        reach = f"{r.min():.3g}" + ("" if np.ptp(r) < 5e-3 else f"-{r.max():.3g}")
        warnings.append(
            f"phase-only input (its whole panel lit): readout windows off the panel's "
            f"unmodulated image ({reach} mm from the axis), where the "
            "Fourier SLM's gap light and the light its masks do not deflect cannot reach them"
        )
    per_frame = len(placement.tiles)
    groups = math.ceil(c_opt / per_frame)
    if multi:  # the same number of tiles in every frame: the fewest per frame for these frames
        per_frame = math.ceil(c_opt / groups)
        placement = placement.first(per_frame)
    n_frames = groups * (2 if ideal else 1)
    if n_frames > max_frames:
        raise ConfigError(
            f"frames: {c_opt} optical channels at {per_frame} per frame need {n_frames} "
            f"exposures per image (max_frames = {max_frames}); allow more frames, use fewer "
            "channels, or a larger camera / Fourier SLM"
        )
    if groups > 1:
        warnings.append(
            f"{c_opt} optical channels do not fit one frame ({per_frame} tiles): "
            f"{n_frames} exposures per image"
        )

    frame = frame if frame is not None and not frame.is_nominal else None
    frames = synthesise(program, system, placement, s, order, groups, per_frame, frame, leak)
    if leak:
        warnings.append(
            f"input leak {leak:.3g} (the input SLM's contrast floor): cancelled on every tile by "
            "a leak block shown fully on; the run shows a + (1 - a) t"
        )
    targets = frames.targets
    grid = system.fourier_slm

    # --- device compensation: the measured wavefront, the input pixel envelope, the Fourier
    # pixel fill factor and gap light
    if frame is not None and frame.wavefront is not None:
        targets *= frame.conjugate()
    envelope = system.input_envelope()
    if envelope is not None and frame is not None:  # at the frequencies the pixels see
        uy, ux = frame.coords(system)
        lam_f = system.wavelength * system.f1
        grid_in = system.input_slm
        envelope = pixels.input_envelope(
            grid_in.aperture, grid_in.fill_factor, uy / lam_f, ux / lam_f
        )
    if envelope is not None:
        targets /= envelope
    if input_crosstalk is not None:  # what the input SLM's crosstalk does to the image
        uy, ux = frame.coords(system) if frame is not None else system.fourier_coords()
        lam_f = system.wavelength * system.f1
        h = pixels.crosstalk_transfer(input_crosstalk, uy / lam_f, ux / lam_f, system.input_pitch)
        targets /= np.where(np.abs(h) < 0.2, 0.2, h)  # a deep null is not worth the light
        k = np.asarray(input_crosstalk)
        warnings.append(
            f"input SLM crosstalk (centre tap {k[k.shape[0] // 2, k.shape[1] // 2]:.3f}) divided "
            f"out of the masks (its transfer function down to {np.abs(h).min():.3f} in the band "
            "of the Fourier SLM)"
        )
    if system.pixel_quadrature > 1:
        warnings.append(
            "pixel_quadrature > 1: the Fourier pixel's camera-plane envelope sinc(a y / "
            "(lambda f2)) is divided out at each tile's shift (exact at the kernel's centre; "
            "the kernel's own extent sees its slope)"
        )
    # binary encodings: the gap light is unmodulated, its zero order lies outside the iris;
    # there is nothing to cancel (and a binary pattern could not)
    gap = 0.0 if iris is not None else grid.gap_transmission
    try:
        sigma = min(pixels.max_passive_scale(t, grid.fill_factor, gap) for t in targets)
    except ValueError as exc:
        raise ConfigError(f"fourier_slm: {exc}") from exc
    if not np.isfinite(sigma):
        raise ConfigError("kernels: all zero; nothing to compile")
    displayed = pixels.compensate(sigma * targets, grid.fill_factor, gap)
    realised, levels, slm_used = encode(encoding, displayed, slm)
    steps = refine_steps(encoding, slm_used, refine, floor=bool(floor))
    if multi and refine is None:
        steps = multiplex.MULTIPLEX_STEPS
    if steps == 0 and slm_used is not None and slm_used.has_crosstalk:
        warnings.append(
            f"{encoding}: the SLM's {_crosstalk_words(slm_used)} is not compensated "
            f"({'refine = 0' if refine == 0 else 'refinement applies to phase encodings'})"
        )
    build = dict(
        system=system,
        program=program,
        encoding=encoding,
        slm=slm_used,
        placement=placement,
        upsample=s,
        order=order,
        sigma=float(sigma),
        input_amplitude=float(input_amplitude),
        reference=frames.reference,
        t_anchor=frames.t_anchor,
        channel_frame=frames.channel_frame,
        channel_tile=frames.channel_tile,
        minus_frame=frames.minus_frame,
        ideal_masks=displayed,
        fourier_masks=realised,
        fourier_levels=levels,
        warnings=warnings,
        source=source or {},
        head=head,
        iris=iris_note,
        frame=frame,
        input_crosstalk=input_crosstalk,
        input_leak=floor,
        leak_block=bool(leak),
    )
    bundle = MaskBundle.build(**build)
    if multi:
        # the run resamples each window from the camera pixels around it (registration,
        # Lanczos-4): the light a phase-only drive sheds must stay clear of those too
        guard = multiplex.READOUT_GUARD_PX * system.camera.pitch
        region, weight = _readout_weight(bundle, displayed, block_px, guard)
        bins = multiplex.cluster_bins(
            [
                system.shift_ramp_factors(
                    *shift, coords=None if frame is None else frame.coords(system)
                )
                for shift in frames.tile_shifts.reshape(-1, 2)
            ]
        )
        owner = np.repeat(np.arange(per_frame), frames.tile_shifts.shape[1])
        labels = multiplex.tile_labels(region, bins, owner)
        levels, info = multiplex.optimise(
            displayed, slm_used, region, labels, per_frame, weight, spread=spread, iters=steps,
            floor=_multiplex_floor(bundle, frames.tile_shifts, placement, frame),
        )  # fmt: skip
        build.update(
            fourier_masks=slm_used.realise(levels), fourier_levels=levels, gain=info["gain"]
        )
        bundle = MaskBundle.build(**build)
        report = multiplex_check.report(bundle, slm_used, levels, info, spread)
        # each channel read at its own gain (the check's fit through the twin): the tiles of a
        # frame share one gain in the optimiser's weighted loss, within a few per cent here
        bundle.arrays["channel_gain"] = np.asarray(report["gain_relative"], dtype=np.float64)
        if "minus_gain_relative" in report:  # ideal: the -R frame's tiles have their own gains
            bundle.arrays["minus_gain"] = np.asarray(report["minus_gain_relative"], np.float64)
        bundle.meta["multiplex"] = report
        return bundle
    if steps:
        levels, info = _refine(bundle, displayed, levels, slm_used, block_px, steps)
        warnings.append(
            f"{encoding}: drive optimised through the SLM's {_crosstalk_words(slm_used)} "
            f"and LUT, {steps} steps: weighted fidelity in the readout region "
            f"{min(info['fidelity_start']):.4f} -> {min(info['fidelity_end']):.4f} (worst "
            f"frame), frame gains {min(info['gain_end']):.4g}..{max(info['gain_end']):.4g}"
        )
        build.update(
            fourier_masks=slm_used.realise(levels),
            fourier_levels=levels,
            gain=float(np.mean(info["gain_end"])),
        )
        bundle = MaskBundle.build(**build)
    return bundle


def _crosstalk_words(slm: SLMModel) -> str:
    """``fringing (c = 0.05)`` (the profile's belief) or ``measured crosstalk (voltage
    domain, centre tap 0.81)`` (a calibration's kernel, and the other domain's with a
    hedge)."""
    if slm.crosstalk_source == "calibration":
        k = slm.kernel
        hedge = (
            ""
            if slm.hedge_domain is None
            else f"; hedged: also through the {slm.hedge_domain} domain's kernel, which the "
            "gratings fit as well"
        )
        return (
            f"measured crosstalk ({slm.crosstalk_domain} domain, centre tap "
            f"{k[k.shape[0] // 2, k.shape[1] // 2]:.3f}{hedge})"
        )
    return f"fringing (c = {slm.fringing:g})"


def _refine(
    bundle: Any,
    displayed: np.ndarray,
    levels: np.ndarray,
    slm: SLMModel,
    block_px: int,
    steps: int,
) -> tuple[np.ndarray, dict[str, list[float]]]:
    """The phase drive optimised through the SLM's fringing (:mod:`fouroptics.compiler.refine`),
    for the readout region of this layout and the Fourier-plane power of positive images."""
    region, weight = _readout_weight(bundle, displayed, block_px)
    floor = _floor_term(bundle, displayed)
    return refine_phase_levels(displayed, levels, slm, region, weight, iters=steps, floor=floor)


def _readout_weight(
    bundle: Any, displayed: np.ndarray, block_px: int, guard_m: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The readout region (F, H_F, W_F) bool of this layout's masks and the Fourier-plane power
    (H_F, W_F) of positive images on the real pixels: where and how much a mask's error is
    seen (:mod:`fouroptics.compiler.refine`); ``guard_m``: camera-plane metres added around
    each window."""
    # the readout sees a mask's light within a block's plus a window's half-extent of where the
    # design puts it (camera-plane DFT bins of lambda f2 / (N p_F)); an input SLM's floor, which
    # lights the whole panel, has a term of its own (:func:`_floor_term`)
    region = _region(bundle, displayed, block_px, guard_m)
    images = np.random.default_rng(0).random((4, *bundle.image_shape))
    a = np.float32(bundle.meta.get("input_leak", 0.0))
    return region, _power(bundle, bundle.input_transmission(images) - a)


def _region(
    bundle: Any, displayed: np.ndarray, lit_px: int, guard_m: float = 0.0, zero_order: bool = False
) -> np.ndarray:
    """:func:`readout_region` for light from ``lit_px`` input-SLM pixels around a block."""
    system, m = bundle.system, bundle.meta
    reach = (lit_px + m["period"] * m["upsample"]) * system.input_pitch
    reach = reach * system.magnification / 2 + guard_m
    half = tuple(
        int(math.ceil(reach * n * system.fourier_pitch / (system.wavelength * system.f2))) + 2
        for n in system.fourier_shape
    )
    return readout_region(displayed, half, zero_order=zero_order)


def _power(bundle: Any, t: np.ndarray) -> np.ndarray:
    """The Fourier-plane power (H_F, W_F) of input transmissions ``t`` (B, H_in, W_in) on the
    real pixels (the bundle's frame), averaged over B."""
    field = bundle.twin_system.fourier_plane(bundle.twin_fields(t.astype(np.complex64)))
    return np.mean(np.abs(field) ** 2, axis=0)


def _floor_term(bundle: Any, displayed: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The refinement's term for an input SLM's floor that no leak block cancels (region,
    weight: :func:`fouroptics.compiler.refine.refine_phase_levels`), or None: the floor lights
    the whole panel, whose image reaches windows through the zero order."""
    a = bundle.meta.get("input_leak", 0.0)
    if not a or bundle.has_leak_block:
        return None
    shape = bundle.system.input_shape
    panel = np.full((1, *shape), a, dtype=np.float32)
    return _region(bundle, displayed, max(shape), zero_order=True), _power(bundle, panel)


def _multiplex_floor(
    bundle: Any, shifts: np.ndarray, placement: Any, frame: Any
) -> tuple[np.ndarray, np.ndarray, complex] | None:
    """phase-multi's floor term (:class:`fouroptics.compiler.multiplex.FloorTerm`): the floor's
    Fourier-plane field (H_F, W_F) (an input SLM's contrast floor that no leak block cancels)
    and the DFT bins of the readout windows for light from the panel's centre (each window's
    ramp, give or take the half-window, the block's offset from the axis and 2 bins) and the
    gap light's offset (the device shows ``ff f + (1 - ff) g``: the floor's light through the
    gaps is the panel's image on every window unless the drive cancels it), or None without a
    floor. The field is in the units of the images' weight (:func:`_readout_weight`: uniform
    random images) times ``sqrt(e)``, ``e`` their peak Fourier-plane power over that of sparse
    ones (a tenth of the pixels on, as a digit's strokes; about 25): the floor is held against
    the faint images too (weighed against the bright ones only, it cost a quick MNIST SCLC's
    check 0.91 mean / 0.72 worst fidelity on misaligned_noisy.yaml)."""
    a = bundle.meta.get("input_leak", 0.0)
    if not a or bundle.has_leak_block:
        return None
    system, m = bundle.system, bundle.meta
    panel = np.full((1, *system.input_shape), a, dtype=np.complex64)
    field = bundle.twin_system.fourier_plane(bundle.twin_fields(panel))[0]
    rng = np.random.default_rng(0)
    dense = rng.random((4, *bundle.image_shape))
    sparse = (rng.random((4, *bundle.image_shape)) < 0.1).astype(np.float64)
    bright, faint = (
        float(_power(bundle, bundle.input_transmission(x) - np.float32(a)).max())
        for x in (dense, sparse)
    )
    field = field * np.sqrt(bright / max(faint, 1e-300))
    coords = None if frame is None else frame.coords(system)
    bins = multiplex.cluster_bins(
        [system.shift_ramp_factors(*sh, coords=coords) for sh in shifts[:, 0]]
    )
    off = float(np.abs(placement.block_centre[0]).max())
    reach = system.magnification * (m["period"] * m["upsample"] * system.input_pitch / 2 + off)
    half = tuple(
        int(math.ceil(reach * n * system.fourier_pitch / (system.wavelength * system.f2))) + 2
        for n in system.fourier_shape
    )
    grid = system.fourier_slm
    gap = (1.0 - grid.fill_factor) * grid.gap_transmission / grid.fill_factor
    return field.astype(np.complex64), multiplex.window_bins(field.shape, bins, half), gap


def _has_zero_order(encoding: str, system: FourFSystem) -> bool:
    """Whether unmodulated light reaches the camera: the complex encoding cancels the gap light
    exactly with one node per pixel; other encodings and pixel quadrature leave some."""
    g = system.fourier_slm
    if encoding != "complex":
        return True
    return system.pixel_quadrature > 1 and g.fill_factor < 1 and g.gap_transmission != 0
