"""DIR/report.md of ``fouroptics demo``, built only from the JSON files its stages wrote.

Every number in the report names the command that produced it (a number in brackets, listed in
the report's "Commands" section). Also writes DIR/report.json (the results table and the checks,
for tests and scripts), DIR/layout.png (the 4f drawing) and DIR/results_table.png.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fouroptics.io.atomic import atomic_write_bytes
from fouroptics.report import save_figure, write_json

#: Issue 10's acceptance limits, as the report grades them against a simulated bench's truth:
#: (label, JSON path in calibration.json, :data:`calibration.limits.LIMITS` key, how the error
#: compares); the numbers live in calibration/limits.py
CALIBRATION_LIMITS: tuple[tuple[str, str, str, str], ...] = (
    ("camera gain K", "camera.gain", "camera_gain", "relative"),
    ("camera read noise", "camera.read_noise", "camera_read_noise", "relative"),
    ("camera full well", "camera.full_well", "camera_full_well", "relative"),
    (
        "Fourier-SLM phase LUT, rms after linearisation",
        "lut.fourier_slm.phase_rms_error_rad",
        "lut_rms",
        "measured rad",
    ),
    (
        "registration, rms distance to the true map",
        "registration.residual_px",
        "registration",
        "error camera px",
    ),
    ("Fourier-SLM centre", "fourier.centre_error_px", "fourier_centre", "error Fourier px"),
    ("Fourier scale", "fourier.scale_error", "fourier_scale", "relative"),
    (
        "Fourier-SLM crosstalk, rms field error of a double-phase pattern",
        "crosstalk.kernel",
        "crosstalk",
        "field",
    ),
    (
        "Fourier-path wavefront, rms after the measured one",
        "aberration.residual_rms_rad",
        "aberration",
        "rad",
    ),
)


#: words beside the hardware estimate's MAC counts, so none reads as another's
ESTIMATE_LABELS = {
    "optical_macs_per_inference": " (done by light: a direct convolution's MACs)",
    "electronic_macs_per_inference": " (the optical rows' MACs: readout + head)",
    "digital_sclc_macs": " (the whole SCLC on a computer, by FFT: not the table's SCLC MACs)",
    "digital_teacher_macs": " (the teacher CNN, as in the table)",
    "electronic_readout_macs": " (the camera readout: the filter's taps, or the resampling)",
    "photons_per_optical_mac": " (photons detected in the windows per optical MAC)",
}


def _load(out: Path, folder: str, name: str) -> dict[str, Any] | None:
    path = out / folder / name
    return json.loads(path.read_text()) if path.exists() else None


def _get(d: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        d = d[key]
    return d


def calibration_checks(cal: dict[str, Any]) -> list[dict[str, Any]]:
    """Each quantity of issue 10's acceptance: measured, true, error, limit, within."""
    from calibration.limits import LIMITS

    rows = []
    for label, key, name, kind in CALIBRATION_LIMITS:
        limit = LIMITS[name].value
        try:
            entry = _get(cal, key)
        except (KeyError, TypeError):  # a routine this bench did not run
            continue
        if kind == "measured rad":
            value = float(entry["measured"])  # a residual: the measured value itself is the error
        else:
            value = float(entry["error"])
        rows.append(
            {
                "quantity": label,
                "key": key,
                "measured": entry.get("measured"),
                "true": entry.get("true"),
                "error": value,
                "limit": limit,
                "kind": kind,
                "within": abs(value) <= limit,
            }
        )
    return rows


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _int(x: Any) -> str:
    return "n/a" if x is None else f"{int(x):,}"


def results_rows(out: Path, cmd: dict[str, int]) -> list[dict[str, Any]]:
    """The results table: one dict per row (model, accuracy, digital on the same images,
    electronic MACs per inference, images, feature NRMSE, command number)."""
    rows: list[dict[str, Any]] = []
    train = _load(out, "train", "results.json")
    if train is not None:
        n = train.get("evaluated_on", "")
        for key, label in (("teacher", "teacher CNN"), ("sclc", "SCLC"), ("sclc_kd", "SCLC+KD")):
            m = train["models"][key]
            rows.append(
                {
                    "row": label,
                    "accuracy": float(m["test_accuracy"][0]),
                    "digital_same_images": None,
                    "electronic_macs": m["electronic_macs"],
                    "images": n,
                    "feature_nrmse": None,
                    "command": cmd["train"],
                }
            )
    for folder, label in (
        ("simulate_ideal", "optical, ideal bench"),
        ("simulate_noisy", "optical, realistic bench, before calibration"),
        ("simulate_calibrated", "optical, realistic bench, after calibration"),
    ):
        sim = _load(out, folder, "results.json")
        if sim is None:
            continue
        rows.append(
            {
                "row": label,
                "accuracy": sim["optical"]["accuracy"],
                "digital_same_images": sim["digital"]["accuracy"],
                "electronic_macs": sim["hardware_estimate"]["electronic_macs_per_inference"],
                "images": f"test ({sim['images']} images)",
                "feature_nrmse": sim["optical"]["feature_nrmse"],
                "command": cmd[folder],
            }
        )
    ft = _load(out, "finetune", "results.json")
    cal_sim = _load(out, "simulate_calibrated", "results.json")
    if ft is not None:
        images = ft.get("images", {}).get("test")
        rows.append(
            {
                "row": "optical, realistic bench, calibrated, after fine-tuning",
                "accuracy": ft["after"]["test_accuracy"],
                "digital_same_images": ft["digital"]["accuracy"],
                "electronic_macs": None
                if cal_sim is None
                else cal_sim["hardware_estimate"]["electronic_macs_per_inference"],
                "images": f"test ({images} images)" if images else "test",
                "feature_nrmse": None,
                "command": cmd["finetune"],
            }
        )
    return rows


def advantage_table(sim: dict[str, Any]) -> list[str]:
    """Markdown lines: the optical run's frames per image, inferences per second and electronic
    MACs per inference beside the SCLC and the teacher run on a computer (from a simulate
    run's ``hardware_estimate``)."""
    he = sim["hardware_estimate"]
    ppm = he.get("photons_per_optical_mac")
    bench = Path(str(sim.get("bench", "bench"))).stem
    rows = [
        ("teacher CNN, digital", "", "", _int(he.get("digital_teacher_macs")), ""),
        ("SCLC, digital (spectral layer by FFT)", "", "", _int(he.get("digital_sclc_macs")), ""),
        (
            f"SCLC, optical ({sim.get('encoding')} on {bench})",
            str(he["frames_per_inference"]),
            f"{he['inferences_per_s']:.3g}",
            f"{_int(he['electronic_macs_per_inference'])} (readout "
            f"{_int(he['electronic_readout_macs'])}, {he.get('electronic_readout', 'resample')}"
            f"; head {_int(he.get('electronic_head_macs'))})",
            "n/a" if ppm is None else f"{ppm:.3g}",
        ),
    ]
    out = [
        "| model | frames per image | inferences / s | electronic MACs / inference "
        "| photons per optical MAC |",
        "|---|---|---|---|---|",
    ]
    return out + [f"| {' | '.join(r)} |" for r in rows]


def macs_note(rows: list[dict[str, Any]], sim: dict[str, Any] | None) -> str:
    """What the MAC counts count, one definition per row kind: the electronic work per
    inference as the model is deployed (the teacher: all of it; the SCLC rows: its detection and
    head, its spectral layer being light; the optical rows: the camera windows' resampling and
    the head); and the hardware estimate's ``digital_sclc_macs``, a different quantity."""
    by = {r["row"]: r["electronic_macs"] for r in rows}
    text = (
        "MACs (multiply-accumulates per inference) count the electronic work as each model is "
        f"deployed: the teacher CNN all of it ({_int(by.get('teacher CNN'))}); the SCLC rows "
        f"their detection and head only ({_int(by.get('SCLC+KD'))}), the spectral layer being "
        "light; the optical rows the camera readout plus the same head"
    )
    he = (sim or {}).get("hardware_estimate") or {}
    if he.get("digital_sclc_macs") is not None:
        text += (
            f" ({_int(he.get('electronic_readout_macs'))} + "
            f"{_int(he.get('electronic_head_macs'))}). The hardware estimate's "
            f"digital_sclc_macs ({_int(he['digital_sclc_macs'])}) is another quantity: the "
            "SCLC run wholly on a computer, its spectral layer by FFT, for comparison with the "
            "optical run"
        )
    return text + "."


def run_note(
    rows: list[dict[str, Any]], sizes: Any, manifest: dict[str, Any], detection: str | None
) -> str:
    """What the accuracies can and cannot say: a quick run's are a smoke test; a full run's
    digital rows come from one training seed, and where SCLC+KD is below SCLC it says why."""
    acc = {r["row"]: r["accuracy"] for r in rows}
    if manifest.get("quick"):
        return (
            f"**A quick run (`--quick`) checks that every stage runs; its numbers are not "
            f"results.** The models train for {sizes.teacher_epochs} (teacher) and "
            f"{sizes.student_epochs} (students) epochs on {sizes.limit_train:,} images and are "
            f"tested on {sizes.limit_test:,}, the optical rows on {sizes.simulate} images (one "
            "image is 1 point); so undertrained, the models need not be ordered as a full run "
            "orders them, and an optical row can land above its digital reference by chance. "
            "For results run the full demo (`make demo`)."
        )
    text = (
        "The digital rows are one training seed each, on one test split; differences of a few "
        "tenths of a point are a handful of images."
    )
    sclc, kd = acc.get("SCLC"), acc.get("SCLC+KD")
    if sclc is not None and kd is not None and kd < sclc:
        why = (
            "with intensity detection the camera's square law gives the student a "
            "nonlinearity of its own, so the teacher's soft targets have less to add, and "
            if detection == "intensity"
            else ""
        )
        text += (
            f" SCLC+KD is below SCLC here ({_pct(kd)} against {_pct(sclc)}): {why}on this "
            "task both are near the ceiling; the README's MNIST table (3 seeds) measures KD's "
            "effect."
        )
    return text


def _table_md(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model | accuracy | digital SCLC+KD, same images | electronic MACs / inference "
        "| evaluated on | feature NRMSE | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        nrmse = "" if r["feature_nrmse"] is None else f"{r['feature_nrmse']:.3f}"
        same = "" if r["digital_same_images"] is None else _pct(r["digital_same_images"])
        lines.append(
            f"| {r['row']} | {_pct(r['accuracy'])} | {same} | {_int(r['electronic_macs'])} "
            f"| {r['images']} | {nrmse} | [{r['command']}] |"
        )
    return "\n".join(lines)


def _table_png(rows: list[dict[str, Any]], path: Path, subtitle: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [
        [
            r["row"],
            _pct(r["accuracy"]),
            "" if r["digital_same_images"] is None else _pct(r["digital_same_images"]),
            _int(r["electronic_macs"]),
            r["images"],
        ]
        for r in rows
    ]
    fig, ax = plt.subplots(figsize=(10.5, 0.42 * len(rows) + 0.9))
    ax.axis("off")
    table = ax.table(
        cellText=cells,
        colLabels=["model", "accuracy", "digital, same images", "electronic MACs", "evaluated on"],
        loc="center",
        cellLoc="left",
        colWidths=[0.47, 0.09, 0.16, 0.12, 0.16],
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    table.scale(1, 1.3)
    ax.set_title(f"fouroptics demo: {subtitle}", fontsize=10)
    return save_figure(fig, path, dpi=100)


def _figure(out: Path, rel: str, caption: str) -> str:
    return f"![{caption}]({rel})\n\n*{caption}*\n" if (out / rel).exists() else ""


def write_report(out: Path, stages: list[Any], manifest: dict[str, Any], sizes: Any) -> Path:
    """Write DIR/report.md (and report.json, layout.png, results_table.png); returns its path."""
    from fouroptics.io.yaml_load import load_yaml
    from fouroptics.optics import FourFSystem

    commands: list[str] = []
    cmd: dict[str, int] = {}
    for stage in stages:
        for step in stage.steps:
            commands.append("fouroptics " + " ".join(step.command(out)))
            cmd[step.folder] = len(commands)
    skipped = {s.name: s.note for s in stages if s.skipped}
    rows = results_rows(out, cmd)
    detection = (_load(out, "train", "results.json") or {}).get("detection")
    cal = _load(out, "calibrate", "calibration.json")
    checks = calibration_checks(cal) if cal is not None else []
    comp = _load(out, "compile", "compile.json")
    sim_cal = _load(out, "simulate_calibrated", "results.json")
    sweep = _load(out, "sweep_photons", "results.json")
    noisy_bench = next(s for s in stages if s.name == "calibrate").steps[0].argv[2]
    system = FourFSystem.from_dict(load_yaml(noisy_bench, "bench file")["system"])
    from fouroptics.commands.layout_figure import draw_layout

    draw_layout(system, out / "layout.png", title=f"the demo's bench: {Path(noisy_bench).name}")
    mode = "quick" if manifest.get("quick") else "full"
    subtitle = f"{manifest.get('dataset')} ({mode} run)"
    if rows:
        _table_png(rows, out / "results_table.png", subtitle)

    md: list[str] = [
        f"# fouroptics demo: {subtitle}",
        "",
        f"Written {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}. Every number below "
        "names the command that produced it ([n], listed under Commands); each command wrote "
        "its JSON into the sub-folder of the same name.",
        "",
        "## Results",
        "",
        _table_md(rows),
        "",
        "Digital rows: test accuracy of the trained models [1]. Optical rows: the SCLC+KD "
        "student compiled to double-phase masks on an 8-bit phase LCoS (holoeye_pluto2), run "
        "frame by frame on the simulated bench, its camera features read out and passed to "
        "the electronic head. "
        "'digital, same images' is the SCLC+KD student on the same test images. "
        "After calibration the student is compiled again "
        f"[{cmd.get('compile_calibrated', '?')}] on what was measured of the Fourier path (its "
        "LUT, crosstalk, centre, scale and wavefront) and run with the calibration's "
        "registration, beam and camera.",
        "",
        macs_note(rows, sim_cal),
        "",
        *([run_note(rows, sizes, manifest, detection), ""] if rows else []),
    ]
    for name, note in skipped.items():
        md += [f"Not run: stage `{name}`: {note}.", ""]
    md += ["![results table](results_table.png)", ""]
    if comp is not None:
        md += [
            "## Compile",
            "",
            f"[{cmd['compile']}] encoding {comp['encoding']} on {comp['slm']['name']} "
            f"({comp['slm']['bit_depth']}-bit {comp['slm']['modulation']}); "
            f"{comp['optical_channels']} optical channels in {comp['frames']} frame(s) per "
            f"image; mean fidelity {comp['mean_fidelity']:.4f}; total efficiency "
            f"{comp['total_efficiency']:.4f} ({comp.get('efficiency_definition', '')}).",
            "",
            _figure(out, "compile/masks.png", "Fourier masks (phase, amplitude) and tile layout"),
        ]
    if checks:
        md += [
            "## Calibration of the misaligned noisy bench",
            "",
            f"[{cmd['calibrate']}] {cal['frames']['total_displayed']} frames displayed, "
            f"{cal['frames']['total_captured']} captured. Limits: issue 10's acceptance, and "
            "#16's for the crosstalk and the wavefront.",
            "",
            "| quantity | measured | true | error | limit | within |",
            "|---|---|---|---|---|---|",
        ]
        for c in checks:
            md.append(
                f"| {c['quantity']} | {_fmt(c['measured'])} | {_fmt(c['true'])} "
                f"| {c['error']:.3g} ({c['kind']}) | {c['limit']:g} | "
                f"{'yes' if c['within'] else 'NO'} |"
            )
        md.append("")
        for png, caption in (
            ("ptc.png", "camera photon transfer (EMVA 1288)"),
            ("luts.png", "SLM lookup tables"),
            ("registration.png", "registration residuals"),
            ("fourier.png", "Fourier-plane centre fit"),
        ):
            md.append(_figure(out, f"calibrate/{png}", caption))
    if sim_cal is not None:
        he = sim_cal["hardware_estimate"]
        md += [
            "## Hardware estimate",
            "",
            f"[{cmd['simulate_calibrated']}] what the real bench would reach with these devices:",
            "",
            "| quantity | value |",
            "|---|---|",
        ]
        for key, value in he.items():
            md.append(f"| {key}{ESTIMATE_LABELS.get(key, '')} | {_fmt(value)} |")
        md += ["", *advantage_table(sim_cal)]
        md += [
            "",
            f"Exposure {sim_cal['exposure']['seconds'] * 1e3:.3f} ms (brightest tile at "
            f"{sim_cal['exposure']['brightest_tile_fraction']:.2f} of the range), mean "
            f"{_fmt(sim_cal['optical']['mean_photons_per_pixel'])} photons per pixel, "
            f"saturated fraction {sim_cal['optical']['saturated_fraction']:.2g}, "
            f"{sim_cal['optical']['frames_per_s']:.1f} simulated frames/s.",
            "",
            _figure(out, "simulate_calibrated/camera_frame.png", "a camera frame with its tiles"),
            _figure(out, "simulate_calibrated/features.png", "digital vs optical features"),
        ]
    if sweep is not None and "sweep" in sweep:
        fall = sweep["sweep"].get("falloff_photons")
        md += [
            "## Noise sweep",
            "",
            f"[{cmd['sweep_photons']}] accuracy against the mean photons per pixel in the "
            f"brightest tile ({sweep['images']} images per point); accuracy falls 1 point "
            f"below the brightest point at "
            f"{'n/a' if fall is None else f'{fall:.3g}'} photons per pixel"
            + (
                f"; {sweep['sweep']['photons_note']}."
                if sweep["sweep"].get("photons_note")
                else "."
            ),  # fmt: skip
            "",
            _figure(out, "sweep_photons/sweep_photons.png", "noise sweep"),
        ]
    ft = _load(out, "finetune", "results.json")
    if ft is not None:
        md += [
            "## Fine-tuning through the bench",
            "",
            f"[{cmd['finetune']}] head trained on features measured on the calibrated noisy "
            f"bench: test accuracy {_pct(ft['before']['test_accuracy'])} -> "
            f"{_pct(ft['after']['test_accuracy'])} (digital {_pct(ft['digital']['accuracy'])}).",
            "",
            _figure(out, "finetune/finetune.png", "fine-tuning"),
        ]
    md += [
        "## The 4f layout",
        "",
        _figure(out, "layout.png", "the demo's 4f system, with its numbers"),
        _figure(out, "train/curves.png", "training curves"),
        "## Commands",
        "",
    ]
    md += [f"{i}. `{c}`" for i, c in enumerate(commands, 1)]
    md += ["", "## Time per stage", "", "| stage | seconds |", "|---|---|"]
    for name, entry in manifest["stages"].items():
        seconds = entry.get("seconds")
        md.append(f"| {name} | {'skipped' if seconds is None else f'{seconds:.0f}'} |")
    md.append("")
    write_json(
        out / "report.json",
        {
            "dataset": manifest.get("dataset"),
            "quick": manifest.get("quick"),
            "results": rows,
            "calibration_checks": checks,
            "commands": commands,
            "skipped": skipped,
        },
    )
    return atomic_write_bytes(out / "report.md", "\n".join(md).encode())


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, list):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    if isinstance(x, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in x.items())
    return str(x)
