"""``fouroptics compile``: a trained SCLC (``--model RUN_DIR``) or your own kernels
(``--kernels kernels.npy``) -> Fourier-plane masks for a system's SLMs.

Writes DIR/bundle.h5 (the MaskBundle), DIR/compile.json (per channel: fidelity, efficiency,
band held; frames, scales, warnings in words) and DIR/masks.png (mask phase and amplitude, tile
layout on the camera). The SLM's levels and LUT come from a device profile (``--slm``, a
bundled name such as holoeye_pluto2 or a YAML path); this shell builds the compiler's
:class:`SLMModel` from it (the compiler itself never imports devices/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.commands.compile_beliefs import (
    fourier_frame,
    input_coupling,
    input_crosstalk,
    input_leak,
    slm_from_bench,
    slm_from_calibration,
    slm_from_profile,
)
from fouroptics.errors import ConfigError, FileFormatError

#: what compile writes into --out (a folder holding one of them holds a compiled bundle)
OUTPUTS = ("bundle.h5", "compile.json", "masks.png")


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", type=Path, help="run folder of a trained SCLC (or its model.pt)")
    src.add_argument(
        "--kernels", type=Path, help=".npy kernels (kh, kw), (C, kh, kw) or (C, C_in, kh, kw)"
    )
    p.add_argument("--system", type=Path, required=True, help="system YAML")
    from fouroptics.compiler.encodings import ENCODINGS

    p.add_argument("--encoding", default="complex", choices=ENCODINGS)
    p.add_argument(
        "--slm",
        default=None,
        help="Fourier SLM device profile (name or YAML path); default: the Fourier SLM a bench "
        "--system declares (profile and overrides), when the encoding fits it",
    )
    p.add_argument(
        "--calibration",
        type=Path,
        default=None,
        help="calibration.h5 from `fouroptics calibrate`: the Fourier SLM's measured response "
        "replaces the profile's LUT (levels are chosen on the measured curve)",
    )
    p.add_argument(
        "--allow-other-bench",
        action="store_true",
        help="use a --calibration measured on another bench (or the same bench changed) with a "
        "warning instead of refusing it",
    )
    p.add_argument(
        "--leak-block",
        action="store_true",
        help="with --calibration, for kernels with a DC response: cancel the input SLM's "
        "measured contrast floor (its darkest level's light, which reaches every tile) with an "
        "extra input block shown fully on; needs room for a second block on the input SLM "
        "(DC-free kernels, `--dc-free` at training, need no block: the floor's uniform light "
        "does not reach the camera)",
    )
    p.add_argument(
        "--detection",
        default="ideal",
        choices=("ideal", "intensity", "signed"),
        help="for --kernels: real part via a reference, |y|^2, or +/- pairs (a model's own "
        "detection is used for --model)",
    )
    p.add_argument("--image-size", type=int, default=None, help="for --kernels: image side")
    p.add_argument("--fourier", action="store_true", help="--kernels are DFT-layout spectra")
    p.add_argument("--max-frames", type=int, default=16, help="most exposures per image")
    p.add_argument("--upsample", type=int, default=None, help="input-SLM pixels per image pixel")
    p.add_argument(
        "--refine",
        type=int,
        default=None,
        help="optimisation steps of the phase encodings through the SLM's fringing and LUT "
        "(default 100 when the --slm profile has fringing, else 0; at most 100,000)",
    )
    p.add_argument(
        "--tiles-per-frame",
        type=int,
        default=None,
        help="phase-multi: output channels per frame (refused when they do not fit; default: "
        "the most for which the fidelity check passes, mean >= 0.99 and worst >= 0.97)",
    )
    p.add_argument(
        "--robust",
        type=float,
        default=None,
        help="phase-multi: relative spread of the SLM crosstalk's coupling the drive is "
        "optimised over (default 0.2: c = 0.05 +- 0.01 for a 5 %% fringing; 0: the belief only)",
    )
    p.add_argument(
        "--input-encoding",
        default="auto",
        choices=("auto", "amplitude", "double-phase"),
        help="how images show on the input SLM: amplitude, or double-phase for a phase-only "
        "input SLM (auto: double-phase when the bench YAML's input SLM is phase-only)",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--no-progress", action="store_true", help="no stage lines (shown on a terminal only)"
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite a bundle an earlier compile left in --out"
    )


def run(args: argparse.Namespace) -> int:
    from fouroptics.commands.compile_input import (
        apply_input_encoding,
        choose_input_encoding,
        compile_with_upsample,
        declared_input_fringing,
    )
    from fouroptics.compiler import compile_kernels, compile_model
    from fouroptics.compiler.encodings import MAX_REFINE_STEPS, modulation_of
    from fouroptics.compiler.multiplex_check import summary_line
    from fouroptics.optics import FourFSystem
    from fouroptics.progress import Stages
    from fouroptics.report import prepare_out, write_json

    t0 = time.time()
    stage = Stages("compile", not args.no_progress)
    for flag, value, low in (("--upsample", args.upsample, 1), ("--max-frames", args.max_frames, 1),
                             ("--refine", args.refine, 0),
                             ("--tiles-per-frame", args.tiles_per_frame, 1)):  # fmt: skip
        if value is not None and value < low:
            raise ConfigError(f"{flag}: got {value}; expected an integer >= {low}")
    if args.refine is not None and args.refine > MAX_REFINE_STEPS:
        raise ConfigError(
            f"--refine: got {args.refine}; expected an integer from 0 to {MAX_REFINE_STEPS:,} "
            "(a bound on the work)"
        )
    for flag, value in (("--tiles-per-frame", args.tiles_per_frame), ("--robust", args.robust)):
        if value is not None and args.encoding != "phase-multi":
            raise ConfigError(f"{flag}: applies to --encoding phase-multi, not {args.encoding}")
    if str(args.out).strip() == "":
        raise ConfigError("--out: empty; expected a folder to write bundle.h5 and compile.json")
    out_files = [p for p in (Path(args.out) / n for n in OUTPUTS) if p.exists()]
    if out_files and not args.force:
        raise ConfigError(
            f"--out {args.out}: holds a compiled bundle ({out_files[0].name}); pass --force to "
            "overwrite it, or another --out"
        )
    system = FourFSystem.from_yaml(args.system)
    input_encoding = choose_input_encoding(args.system, args.input_encoding)
    notes: list[str] = []
    if args.slm:
        slm = slm_from_profile(args.slm)
    else:  # a bench YAML declares its Fourier SLM: used when the encoding fits it
        slm = slm_from_bench(args.system)
        needs = modulation_of(args.encoding)
        if slm is not None and slm.modulation != needs:
            if needs != "complex":
                raise ConfigError(
                    f"--encoding {args.encoding}: needs a Fourier SLM that modulates {needs}; "
                    f"bench {args.system}'s modulates {slm.modulation}; use an encoding for it "
                    f"({', '.join(_encodings_for(slm.modulation))}) or --slm for another SLM"
                )
            notes.append(
                f"--encoding complex: bench {args.system}'s Fourier SLM modulates "
                f"{slm.modulation} only and cannot display complex masks; only a simulated "
                "bench runs this bundle, as if on an ideal complex modulator (hardware "
                f"refuses it; for this SLM use {', '.join(_encodings_for(slm.modulation))})"
            )
            slm = None
    frame = None
    if args.calibration is not None:
        slm, cal = slm_from_calibration(args.calibration, slm, args.system, args.allow_other_bench)
        frame = fourier_frame(cal, args.calibration, system.fourier_shape)
    opts = {"max_frames": args.max_frames, "upsample": args.upsample, "refine": args.refine}
    # a phase-only input lights its whole panel: windows off its unmodulated image
    opts["lit_panel"] = input_encoding == "double-phase"
    if args.encoding == "phase-multi":
        opts.update(max_tiles=args.tiles_per_frame, robust=args.robust)
    if frame is not None and not frame.is_nominal:
        opts["frame"] = frame
    opts["input_crosstalk"] = input_crosstalk(args.system)  # the input SLM's declared
    if args.leak_block and args.calibration is None:
        raise ConfigError("--leak-block: needs --calibration (the measured input LUT's floor)")
    if args.calibration is not None:  # used by DC-free kernels, or with --leak-block
        opts.update(input_leak=input_leak(cal), leak_block=args.leak_block)
    kernels = None
    if args.kernels is not None:
        kernels = _load_kernels(args.kernels)
        if args.image_size is None:
            raise ConfigError("--image-size: required with --kernels (side of the images)")
        side = max(kernels.shape[-2:]) if kernels.ndim >= 2 else 0
        fits = side <= min(system.input_shape)  # else the compiler names the kernel's size
        if not args.fourier and fits and 2 <= args.image_size < side:
            raise ConfigError(
                f"--image-size {args.image_size}: smaller than the {kernels.shape[-2]}x"
                f"{kernels.shape[-1]} kernels; expected an image side >= {side}"
            )
    target = f"{args.encoding} masks for {args.system}"
    if args.model is not None:
        stage(f"compiling {args.model} into {target}")
        bundle = compile_with_upsample(
            lambda s: compile_model(
                args.model, system, encoding=args.encoding, slm=slm, **{**opts, "upsample": s}
            ),
            input_encoding,
            args.upsample,
        )
        samples = _digits(bundle.image_shape)
    else:

        def compile_as(detection: str, upsample: int | None = args.upsample) -> Any:
            return compile_kernels(
                kernels,
                system,
                image_size=args.image_size,
                detection=detection,
                fourier=args.fourier,
                encoding=args.encoding,
                slm=slm,
                **{**opts, "upsample": upsample},
            )

        stage(f"compiling {args.kernels} {tuple(kernels.shape)} into {target}")
        try:
            bundle = compile_with_upsample(
                lambda s: compile_as(args.detection, s), input_encoding, args.upsample
            )
        except ConfigError as exc:
            if args.detection != "ideal":
                raise
            raise ConfigError(f"{exc}{_other_detections(compile_as)}") from None
        samples = np.random.default_rng(0).random((2, *bundle.image_shape))
    phi = None if args.calibration is None else input_coupling(cal)
    if phi is not None:  # the twin shows the input SLM's measured phase coupling
        bundle.arrays["input_coupling"] = phi
        notes.append(
            f"the input SLM's measured phase coupling ({np.ptp(phi):.3g} rad over its range) is "
            "in the bundle's twin"
        )
    input_section = apply_input_encoding(
        bundle, input_encoding, samples, declared_input_fringing(args.system)
    )
    bundle.meta["warnings"] = [*notes, *bundle.meta["warnings"]]  # saved with the bundle
    out = prepare_out(args.out)
    stage(f"{bundle.n_frames} frame(s) compiled; measuring fidelity and efficiency")
    quality = bundle.quality(samples)
    stage(f"writing {out}")
    path = bundle.save(out / "bundle.h5")
    summary = _summary(bundle, quality, args, time.time() - t0)
    summary["input_encoding"] = input_section
    write_json(out / "compile.json", summary)
    _figure(bundle, out / "masks.png")
    print(
        f"compile: {summary['optical_channels']} optical channels, {bundle.n_frames} frame(s) "
        f"({summary['tiles_per_frame']} tiles per frame), encoding {bundle.encoding}, mean "
        f"fidelity {quality['mean_fidelity']:.4f} (worst {min(quality['fidelity']):.4f}), "
        f"efficiency {quality['total_efficiency']:.3g}, {summary['seconds']:.0f} s"
    )
    if bundle.meta.get("multiplex") is not None:
        print(f"compile: {summary_line(bundle.meta['multiplex'])}")
    for w in bundle.warnings:
        print(f"compile: warning: {w}")
    print(f"compile: wrote {path}, {out / 'compile.json'}, {out / 'masks.png'}")
    return 0


def _other_detections(compile_as: Any) -> str:
    """For kernels that do not fit with ``--detection ideal`` (two exposures, +R and -R, per
    frame of tiles): which other detections would fit, and in how many frames ("" if none)."""
    fits = []
    for detection in ("intensity", "signed"):
        try:
            fits.append(f"--detection {detection} fits ({compile_as(detection).n_frames} frames)")
        except ConfigError:
            continue
    if not fits:
        return ""
    return f"; detection 'ideal' takes two exposures (+R, -R) per frame: {', '.join(fits)}"


def _encodings_for(modulation: str) -> list[str]:
    """The encodings an SLM of ``modulation`` displays."""
    from fouroptics.compiler.encodings import ENCODINGS, modulation_of

    return [e for e in ENCODINGS if modulation_of(e) == modulation]


def _load_kernels(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"--kernels {path}: not a readable .npy array ({exc})") from exc


def _digits(shape: tuple[int, int, int]) -> np.ndarray:
    from fouroptics.data.glyphs import render_glyphs

    c, n, _ = shape
    x = render_glyphs(2, seed=0, size=n)[0].numpy()
    return np.repeat(x, c, axis=1)


def _summary(bundle: Any, quality: dict, args: argparse.Namespace, seconds: float) -> dict:
    m = bundle.meta
    system = bundle.system
    band = np.abs(bundle.arrays["band"]).max()
    period_m = m["period"] * m["upsample"] * system.input_pitch
    u_band = system.wavelength * system.f1 * band / period_m
    half = min(system.fourier_shape) // 2 * system.fourier_pitch
    channels = []
    for entry, fid, eff in zip(
        bundle.tile_map, quality["fidelity"], quality["efficiency"], strict=True
    ):
        channels.append(
            {
                **entry,
                "fidelity": fid,
                "efficiency": eff,
                "band_held": bool(u_band <= half * (1 + 1e-9)),
            }
        )
    return {
        "source": str(args.model or args.kernels),
        "system": str(args.system),
        "encoding": bundle.encoding,
        "detection": bundle.detection,
        "slm": bundle.slm,
        "frames": bundle.n_frames,
        "optical_channels": m["optical_channels"],
        "features": m["features"],
        "image_shape": m["image_shape"],
        "upsample": m["upsample"],
        "tiles_per_frame": len(bundle.arrays["tiles"]),
        "mask_scale_sigma": m["sigma"],
        "encoding_gain": m["gain"],
        "band_edge_mm": u_band * 1e3,
        "fourier_slm_half_extent_mm": half * 1e3,
        "mean_fidelity": quality["mean_fidelity"],
        "total_efficiency": quality["total_efficiency"],
        "efficiency_definition": "power in the channel's readout window / input-SLM power "
        "(two sample images)",
        "channels": channels,
        "warnings": bundle.warnings,
        "iris": m.get("iris"),  # binary encodings: where the wanted light is read
        "fourier_frame": m.get("fourier_frame", {"source": "nominal"}),
        "input_leak": m.get("input_leak", 0.0),
        "multiplex": m.get("multiplex"),  # phase-multi: the check, sensitivity and choice
        "seconds": round(seconds, 2),
    }


def _figure(bundle: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fouroptics.report import save_figure

    mask = bundle.fourier_masks[0]
    fig, ax = plt.subplots(1, 3, figsize=(13, 4.2))
    im = ax[0].imshow(np.angle(mask), cmap="twilight", vmin=-np.pi, vmax=np.pi)
    ax[0].set_title(f"frame 0 mask phase ({bundle.encoding})")
    fig.colorbar(im, ax=ax[0], fraction=0.046)
    im = ax[1].imshow(np.abs(mask), cmap="magma", vmin=0, vmax=1)
    ax[1].set_title("frame 0 mask amplitude")
    fig.colorbar(im, ax=ax[1], fraction=0.046)
    h, w = bundle.system.camera_shape
    ax[2].imshow(np.zeros((h, w)), cmap="gray", vmin=0, vmax=1)
    colors = plt.cm.tab10(np.linspace(0, 1, max(bundle.n_frames, 1)))
    for e in bundle.tile_map:
        r, c, hh, ww = e["crop"]
        ax[2].add_patch(
            plt.Rectangle((c, r), ww, hh, fill=False, color=colors[e["frame"] % len(colors)])
        )
        ax[2].text(
            c + ww / 2,
            r + hh / 2,
            str(e["channel"]),
            color="w",
            fontsize=6,
            ha="center",
            va="center",
        )
    ax[2].set_title(f"camera tiles ({bundle.n_frames} frame(s), colour = frame)")
    for a in ax:
        a.set_xticks([])
        a.set_yticks([])
    save_figure(fig, path)
