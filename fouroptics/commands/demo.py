"""``fouroptics demo``: the whole job in one command, on the command lines of the other verbs.

Stages, each into its own sub-folder of ``--out`` and each one ``fouroptics <verb> ...`` call
(through :func:`fouroptics.cli.main`) whose JSON the report reads:

1. ``train``: ``experiment classify --preset demo``: teacher, SCLC, SCLC+KD.
2. ``compile``: the KD student, phase-only (``double-phase`` on the Fourier SLM each bench
   declares: the 8-bit LCoS profile ``holoeye_pluto2`` with its 5 % fringing, the drive refined
   through it, on the misaligned noisy bench (``compile/``); a linear 2 pi 8-bit phase SLM
   without gaps or fringing on the ideal bench (``compile_ideal/``)).
3. ``calibrate``: the misaligned noisy bench (camera, LUTs, registration, Fourier plane).
4. ``simulate``: the ideal bench, the misaligned noisy bench without and with the calibration.
5. ``sweep``: accuracy against photons per pixel on the calibrated noisy bench.
6. ``finetune``: the head through the calibrated noisy bench (physics-aware training).
7. ``report``: DIR/report.md (results table, hardware estimate, figures, the commands).

Benches: examples/benches/misaligned_noisy.yaml and ideal.yaml, or the same benches packaged in
:mod:`fouroptics.commands.demo_benches` when examples/ is not installed.

A stage is finished when its JSON files exist and its settings (the command lines) match
DIR/demo.json; ``--resume`` reuses finished stages and reruns the rest (and every stage after
a rerun one); ``--force`` starts over. Without either, a folder that holds a demo is refused.
Each verb's own output goes to ``DIR/<stage>/log.txt``; the terminal shows one progress bar
per stage and a last line that says where the report is.

``--system SYSTEM.yaml [--kernel K] [--size N]`` runs only the convolution check of a system
YAML (:mod:`fouroptics.commands.demo_convolution`) instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fouroptics.errors import ConfigError, FouropticsError
from fouroptics.progress import show_bars
from fouroptics.report import prepare_out, write_json

MANIFEST = "demo.json"
MANIFEST_VERSION = 1
ENCODING = "double-phase"


class StageError(FouropticsError):
    """A demo stage's verb failed; the message carries the verb's one-line error and its log."""


@dataclass(frozen=True)
class Sizes:
    """How much work each stage does (images measured on the bench, epochs)."""

    limit_train: int | None  # experiment: first N training images (None: the split's 8,000)
    limit_test: int | None  # experiment: first N test images (None: the split's 2,000)
    teacher_epochs: int | None  # None: the demo preset's
    student_epochs: int | None
    simulate: int  # test images through each simulate run
    sweep: int  # test images per point of the photon sweep (0: no sweep)
    sweep_seeds: tuple[int, ...]
    finetune_train: int  # training images measured for fine-tuning
    finetune_val: int
    finetune_epochs: int


FULL = Sizes(None, None, None, None, 1000, 100, (0, 1), 1000, 250, 8)
QUICK = Sizes(1500, 500, 2, 3, 100, 8, (0,), 200, 50, 4)


@dataclass
class Step:
    """One verb call: its sub-folder, its argument list (without ``--out``), its JSON."""

    folder: str
    argv: list[str]
    json_name: str

    def command(self, out: Path) -> list[str]:
        return [*self.argv, "--out", str(out / self.folder)]


@dataclass
class Stage:
    name: str
    steps: list[Step]
    note: str = ""  # why the stage is skipped, when it is
    skipped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo_out", help="output folder (default demo_out)")
    parser.add_argument(
        "--dataset", default="glyphs", help="glyphs (default, no download) | mnist | idx:<folder>"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a ~2-minute version (small runs, for the tests)"
    )
    parser.add_argument("--resume", action="store_true", help="reuse the finished stages")
    parser.add_argument("--force", action="store_true", help="start over (remove the stages)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars (the stage lines remain)"
    )
    check = parser.add_argument_group(
        "system check",
        "--system runs only a convolution through a system YAML against scipy (demo.png, "
        "summary.json), instead of the whole job",
    )
    check.add_argument("--system", default=None, help="system YAML to check")
    check.add_argument("--kernel", default="sobel_x", choices=("gaussian", "laplacian", "sobel_x"))
    check.add_argument("--size", type=int, default=256, help="test image side, input pixels")


def plan(out: Path, dataset: str, sizes: Sizes, benches: dict[str, Path]) -> list[Stage]:
    """The stages and their command lines (the settings ``--resume`` compares)."""
    noisy, ideal = str(benches["misaligned_noisy"]), str(benches["ideal"])
    model = str(out / "train" / "sclc_kd" / "seed0")
    bundle = str(out / "compile" / "bundle.h5")
    cal = str(out / "calibrate" / "calibration.h5")
    # after calibration the student is compiled again on the Fourier SLM's measured LUT
    cal_bundle = str(out / "compile_calibrated" / "bundle.h5")
    common = ["--threads", "1", "--no-progress", "--batch", "16"]
    train = ["experiment", "classify", "--dataset", dataset, "--preset", "demo", "--dc-free"]
    train += ["--threads", "1", "--device", "cpu"]
    for flag, value in (
        ("--limit-train", sizes.limit_train),
        ("--limit-test", sizes.limit_test),
        ("--teacher-epochs", sizes.teacher_epochs),
        ("--student-epochs", sizes.student_epochs),
    ):
        if value is not None:
            train += [flag, str(value)]
    compile_ = ["compile", "--model", model, "--encoding", ENCODING]
    sim = ["simulate", "--dataset", dataset, *common]

    def on_bench(
        bundle_h5: str, bench: str, limit: int, calibration: str | None = None, *extra: str
    ) -> list[str]:
        """`simulate` of one bundle on one bench, optionally calibrated, with extra flags."""
        argv = [*sim, "--bundle", bundle_h5, "--bench", bench]
        if calibration is not None:
            argv += ["--calibration", calibration]
        return [*argv, "--limit", str(limit), *extra]

    stages = [
        Stage("train", [Step("train", train, "results.json")]),
        Stage(
            "compile",
            [
                Step("compile", [*compile_, "--system", noisy], "compile.json"),
                Step("compile_ideal", [*compile_, "--system", ideal], "compile.json"),
            ],
        ),
        Stage(
            "calibrate",
            [
                Step(
                    "calibrate",
                    ["calibrate", "--bench", noisy, "--threads", "1", "--no-progress"],
                    "calibration.json",
                ),
                Step(
                    "compile_calibrated",
                    [*compile_, "--system", noisy, "--calibration", cal],
                    "compile.json",
                ),
            ],
        ),
        Stage(
            "simulate",
            [
                Step(
                    "simulate_ideal",
                    on_bench(str(out / "compile_ideal" / "bundle.h5"), ideal, sizes.simulate),
                    "results.json",
                ),
                Step("simulate_noisy", on_bench(bundle, noisy, sizes.simulate), "results.json"),
                Step(
                    "simulate_calibrated",
                    on_bench(cal_bundle, noisy, sizes.simulate, cal),
                    "results.json",
                ),
            ],
        ),
        Stage(
            "sweep",
            [
                Step(
                    "sweep_photons",
                    on_bench(
                        cal_bundle,
                        noisy,
                        sizes.sweep,
                        cal,
                        "--sweep",
                        "photons",
                        "--seeds",
                        *map(str, sizes.sweep_seeds),
                    ),
                    "results.json",
                )
            ],
        ),
    ]
    if sizes.sweep == 0:
        stages[-1].skipped = True
        stages[-1].note = "no sweep at these sizes"
    finetune = Stage(
        "finetune",
        [
            Step(
                "finetune",
                [
                    "finetune",
                    "--bundle",
                    cal_bundle,
                    "--bench",
                    noisy,
                    "--calibration",
                    cal,
                    "--dataset",
                    dataset,
                    "--train",
                    str(sizes.finetune_train),
                    "--val",
                    str(sizes.finetune_val),
                    "--limit",
                    str(sizes.simulate),
                    "--epochs",
                    str(sizes.finetune_epochs),
                    *common,
                ],
                "results.json",
            )
        ],
    )
    if importlib.util.find_spec("fouroptics.commands.finetune") is None:
        finetune.skipped = True
        finetune.note = "the `fouroptics finetune` verb is not in this install"
    stages.append(finetune)
    return stages


def run(args: argparse.Namespace) -> int:
    if args.resume and args.force:
        raise ConfigError(
            "--resume and --force: mutually exclusive (--resume reuses the finished stages, "
            "--force removes them); pass one"
        )
    if args.system is not None:
        given = [f for f, on in (("--quick", args.quick), ("--resume", args.resume),
                                 ("--force", args.force)) if on]  # fmt: skip
        if given:
            raise ConfigError(
                f"{given[0]} with --system: the system check is one convolution "
                f"(--kernel, --size), {given[0]} applies to the whole demo; drop one"
            )
        from fouroptics.commands import demo_convolution

        return demo_convolution.run(args)
    from fouroptics.commands.demo_benches import bench_paths
    from fouroptics.commands.demo_report import write_report

    out = Path(args.out)
    sizes = QUICK if args.quick else FULL
    manifest_path = out / MANIFEST
    previous = _read_manifest(manifest_path)
    if previous is not None and not (args.resume or args.force):
        raise ConfigError(
            f"--out {out}: holds a demo run ({MANIFEST}); pass --resume to reuse its finished "
            "stages or --force to start over"
        )
    _check_dataset(args.dataset)
    out = prepare_out(out)
    stages = plan(out, args.dataset, sizes, bench_paths(out))
    if args.force:
        _remove_stages(out, stages)
        previous = None
    done: dict[str, Any] = {} if previous is None else previous.get("stages", {})
    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "dataset": args.dataset,
        "quick": bool(args.quick),
        "stages": {},
    }
    t_start = time.perf_counter()
    rerun = False
    term = sys.stderr
    quiet = not show_bars(not args.no_progress, term)  # a log gets "<stage>: done" lines
    for i, stage in enumerate(stages, 1):
        settings = [step.command(out) for step in stage.steps]
        label = f"[{i}/{len(stages) + 1}] {stage.name}"
        if stage.skipped:
            print(f"{label}: skipped ({stage.note})", file=term)
            manifest["stages"][stage.name] = {"settings": settings, "skipped": stage.note}
            continue
        old = done.get(stage.name, {})
        finished = (
            not rerun
            and old.get("settings") == settings
            and "seconds" in old
            and all((out / s.folder / s.json_name).exists() for s in stage.steps)
        )
        if finished:
            print(f"{label}: reused ({old['seconds']:.0f} s when it ran)", file=term)
            manifest["stages"][stage.name] = old
            continue
        rerun = True
        t0 = time.perf_counter()
        with _stage_bar(label, len(stage.steps), term, quiet) as advance:
            for step in stage.steps:
                _run_step(out, step)
                advance()
        manifest["stages"][stage.name] = {
            "settings": settings,
            "seconds": time.perf_counter() - t0,
        }
        write_json(manifest_path, manifest)
    manifest["total_seconds_this_run"] = time.perf_counter() - t_start
    write_json(manifest_path, manifest)
    label = f"[{len(stages) + 1}/{len(stages) + 1}] report"
    with _stage_bar(label, 1, term, quiet) as advance:
        report = write_report(out, stages, manifest, sizes)
        advance()
    print(f"fouroptics demo: done in {time.perf_counter() - t_start:.0f} s")
    print(f"fouroptics demo: the report is {report}")
    return 0


def _check_dataset(name: str) -> None:
    """Refuse a dataset the first stage could not load before any folder is written (glyphs are
    rendered, so only their name is checked)."""
    from fouroptics.data.registry import load_classification

    if name != "glyphs":
        load_classification(name)


def _run_step(out: Path, step: Step) -> None:
    """``fouroptics <verb> ...`` into ``out/step.folder``; its output goes to log.txt there."""
    from fouroptics.cli import main

    folder = out / step.folder
    if folder.exists():  # a stage that reruns starts from scratch
        shutil.rmtree(folder)
    log_path = out / f"{step.folder}.log"
    argv = step.command(out)
    with open(log_path, "w") as log:
        log.write("fouroptics " + " ".join(argv) + "\n")
        log.flush()
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse refused a flag: the verb's usage is in the log
                rc = exc.code if isinstance(exc.code, int) else 2
    folder.mkdir(parents=True, exist_ok=True)
    shutil.move(log_path, folder / "log.txt")
    if rc != 0:
        text = (folder / "log.txt").read_text().splitlines()
        errors = [line for line in text if ": error: " in line] or text[-1:]
        raise StageError(
            f"stage {step.folder}: `fouroptics {argv[0]}` exited {rc}: "
            f"{errors[-1] if errors else '(no output)'} (log: {folder / 'log.txt'})"
        )
    if not (folder / step.json_name).exists():
        raise StageError(
            f"stage {step.folder}: `fouroptics {argv[0]}` wrote no {step.json_name} "
            f"(log: {folder / 'log.txt'})"
        )


@contextlib.contextmanager
def _stage_bar(label: str, total: int, term: TextIO, disable: bool) -> Iterator[Any]:
    """One tqdm bar on the real terminal, redrawn every second so its clock runs."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="step", file=term, disable=disable, leave=True)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(1.0):
            bar.refresh()

    thread = threading.Thread(target=tick, daemon=True)
    if not disable:
        thread.start()
    try:
        yield lambda: bar.update(1)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        bar.close()
        if disable:
            print(f"{label}: done", file=term)


def _read_manifest(path: Path) -> dict[str, Any] | None:
    import json

    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return {"stages": {}}  # unreadable: nothing is reused
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {"stages": {}}
    return data


def _remove_stages(out: Path, stages: list[Stage]) -> None:
    """What the demo wrote (its stage folders, logs, report and manifest); nothing else."""
    for stage in stages:
        for step in stage.steps:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(out / step.folder)
    for name in ("report.md", "layout.png", "results_table.png", MANIFEST):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
