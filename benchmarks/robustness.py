"""Which measurement matters most: feature NRMSE and accuracy against the size of one mismatch
between the bench and the spec sheet, compiled from the spec sheet against compiled with the
calibration (#16's robustness table).

Each point is a copy of ``examples/benches/misaligned_noisy.yaml`` with every hidden
imperfection off but one (no floor, a flat beam, an aligned camera, noise off), at one size:

- ``crosstalk``: the Fourier SLM's true nearest-neighbour coupling (the spec sheet says 0.05);
- ``lut``: the spread of the Fourier SLM's hidden LUT around the profile's (range and gamma);
- ``aberration``: rms of each low-order Zernike term of the Fourier path, radians;
- ``decentre``: rms Fourier-SLM decentring per axis, pixels;
- ``focal``: rms fractional error of each lens's focal length (the Fourier scale; a channel
  placed D pixels off the axis lands D times the scale error away from where it is read).

For each point, run as a user would (``fouroptics`` verbs, in this process):
``compile --system <spec-sheet bench>`` then ``simulate`` on the point's bench (uncalibrated),
and ``calibrate`` -> ``compile --calibration`` -> ``simulate --calibration`` (calibrated).

    .venv/bin/python benchmarks/robustness.py --model demo_out/train/sclc_kd/seed0 \\
        --dataset glyphs --images 200 --out out/robustness [--quick]

Writes ``robustness.json`` and ``robustness.md`` (the table) into ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any

import yaml

from fouroptics.cli import main as fouroptics

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "examples" / "benches" / "misaligned_noisy.yaml"

#: mismatch -> (sizes, sizes with --quick, how a size enters the bench YAML)
MISMATCHES: dict[str, tuple[list[float], list[float]]] = {
    "crosstalk": ([0.03, 0.05, 0.07], [0.03, 0.07]),
    "lut": ([0.05, 0.15, 0.3], [0.15]),
    "aberration": ([0.1, 0.3, 0.6], [0.3]),
    "decentre": ([0.3, 1.0, 2.0], [1.0]),
    "focal": ([0.001, 0.003, 0.01], [0.003]),
}


def spec_sheet(base: dict[str, Any]) -> dict[str, Any]:
    """The base bench with nothing hidden: what the spec sheet and the YAML declare."""
    d = copy.deepcopy(base)
    d["imperfections"] = {"lut": {"range_spread": 0.0, "gamma_spread": 0.0}}
    d["laser"]["beam_waist"] = None
    d["input_slm"]["amplitude_min"] = 0.0
    return d


def with_mismatch(base: dict[str, Any], name: str, size: float) -> dict[str, Any]:
    """The spec-sheet bench with one hidden mismatch of ``size``."""
    d = spec_sheet(base)
    imp = d["imperfections"]
    if name == "crosstalk":
        d["fourier_slm"]["fringing"] = size
    elif name == "lut":
        imp["lut"] = {"range_spread": size, "gamma_spread": size}
    elif name == "aberration":
        imp["aberration"] = size
    elif name == "decentre":
        imp["fourier_decentre"] = size
    elif name == "focal":
        imp["focal_error"] = size
    else:
        raise ValueError(f"unknown mismatch {name!r}; allowed: {', '.join(MISMATCHES)}")
    return d


def run(argv: list[str]) -> None:
    rc = fouroptics([*argv, "--no-progress", "--force"])
    if rc not in (0, None):
        raise SystemExit(f"fouroptics {argv[0]} exited {rc}")


def simulate(out: Path, bundle: Path, bench: Path, args: argparse.Namespace, cal=None) -> dict:
    extra = ["--calibration", str(cal)] if cal is not None else []
    run(
        [
            "simulate", "--bundle", str(bundle), "--bench", str(bench), *extra,
            "--dataset", args.dataset, "--limit", str(args.images), "--no-noise",
            "--threads", "1", "--out", str(out),
        ]
    )  # fmt: skip
    r = json.loads((out / "results.json").read_text())
    return {
        "feature_nrmse": r["optical"]["feature_nrmse"],
        "accuracy": r["optical"].get("accuracy"),
        "digital_accuracy": r["digital"].get("accuracy"),
    }


def point(name: str, size: float, args: argparse.Namespace, sheet: Path) -> dict[str, Any]:
    base = yaml.safe_load(BASE.read_text())
    folder = args.out / f"{name}_{size:g}"
    folder.mkdir(parents=True, exist_ok=True)
    bench = folder / "bench.yaml"
    bench.write_text(yaml.safe_dump(with_mismatch(base, name, size)))
    compile_ = ["compile", "--model", str(args.model), "--encoding", "double-phase"]
    t0 = time.perf_counter()
    run([*compile_, "--system", str(sheet), "--out", str(folder / "compile_sheet")])
    before = simulate(folder / "sim_sheet", folder / "compile_sheet" / "bundle.h5", bench, args)
    run(["calibrate", "--bench", str(bench), "--threads", "1", "--out", str(folder / "cal")])
    cal = folder / "cal" / "calibration.h5"
    run([*compile_, "--system", str(bench), "--calibration", str(cal), "--out",
         str(folder / "compile_cal")])  # fmt: skip
    after = simulate(folder / "sim_cal", folder / "compile_cal" / "bundle.h5", bench, args, cal)
    return {
        "mismatch": name,
        "size": size,
        "uncalibrated": before,
        "calibrated": after,
        "seconds": time.perf_counter() - t0,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mismatch | size | NRMSE, spec sheet | NRMSE, calibrated | accuracy, spec sheet "
        "| accuracy, calibrated | digital |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        u, c = r["uncalibrated"], r["calibrated"]
        lines.append(
            f"| {r['mismatch']} | {r['size']:g} | {u['feature_nrmse']:.3f} | "
            f"{c['feature_nrmse']:.3f} | {100 * u['accuracy']:.1f} % | "
            f"{100 * c['accuracy']:.1f} % | {100 * c['digital_accuracy']:.1f} % |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "demo_out/train/sclc_kd/seed0")
    p.add_argument("--dataset", default="glyphs")
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true", help="one or two sizes per mismatch")
    p.add_argument("--only", nargs="+", choices=list(MISMATCHES), default=list(MISMATCHES))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sheet = args.out / "spec_sheet.yaml"
    sheet.write_text(yaml.safe_dump(spec_sheet(yaml.safe_load(BASE.read_text()))))
    rows = []
    for name in args.only:
        sizes = MISMATCHES[name][1 if args.quick else 0]
        for size in sizes:
            rows.append(point(name, size, args, sheet))
            (args.out / "robustness.json").write_text(json.dumps(rows, indent=2))
            (args.out / "robustness.md").write_text(table(rows))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
