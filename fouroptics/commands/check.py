"""``fouroptics calibrate --check``: is a calibration still right for the bench?

Runs :func:`calibration.check.quick_check` (a few dozen frames through the devices only) and
writes OUT/check.json: ``{"items": {quantity: {then, now, drift, limit, ok}}, "ok",
"recalibrate": the routines to rerun, "frames", "bench_time_s"}`` (on a simulated bench also
``truth_drift``: the hidden drift at the check, for reports). Exit 0 when every quantity is
within its limit, :data:`EXIT_RECALIBRATE` (3) when a recalibration is needed, with one line
naming what drifted. ``--at 1h`` first advances a simulated bench's clock (refused on
hardware: a real bench's time passes by itself).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from fouroptics.errors import ConfigError
from fouroptics.report import prepare_out, refuse_existing, write_json

#: exit status of a check that says: recalibrate (the same as calibrate's out of limits)
EXIT_RECALIBRATE = 3
OUTPUTS = ("check.json",)


def require_simulated(bench_path: str, option: str) -> None:
    """Refuse ``option`` (one line) for a bench YAML with a real device, before any device
    opens: only a simulated bench's clock can be moved."""
    from devices.config.fields import load_yaml_file, real_roles

    real = real_roles(load_yaml_file(bench_path, "bench file"))
    if real:
        raise ConfigError(
            f"{option}: bench {bench_path} is hardware ({', '.join(real)} real): its clock is "
            "the lab's; only a simulated bench's time can be advanced"
        )


def run_check(args: argparse.Namespace) -> int:
    """The ``--check`` branch of ``fouroptics calibrate``."""
    from fouroptics.units import parse_option

    if args.calibration is None:
        raise ConfigError("--check: needs --calibration CAL.h5 (the calibration to check)")
    at = None if args.at is None else parse_option(args.at, "time", "--at")
    if at is not None:
        require_simulated(args.bench, "--at")
    refuse_existing(args.out, OUTPUTS, "a check", args.force)
    if args.threads:
        os.environ.setdefault("FOUROPTICS_FFT_THREADS", str(args.threads))
    from calibration.check import quick_check
    from devices.config import load_bench
    from fouroptics.commands.inputs import load_calibration

    with load_bench(args.bench, seed=args.seed) as bench:
        simulated = bool(getattr(bench, "simulated", False))
        cal = load_calibration(args.calibration, bench, args.bench, seed=args.seed)
        if at is not None:
            bench.advance(at)
        result = quick_check(bench, cal)
        report: dict[str, Any] = {
            "bench": str(args.bench),
            "calibration": str(args.calibration),
            "ok": result.ok,
            "items": result.items,
            "recalibrate": list(result.routines),
            "frames": result.frames,
        }
        if simulated:
            truth = bench.truth()
            report["bench_time_s"] = truth["clock_s"]
            report["truth_drift"] = truth["drift"]
    path = write_json(prepare_out(args.out) / "check.json", report)
    if result.ok:
        print(f"fouroptics calibrate --check: {result.summary()}; wrote {path}")
        return 0
    print(
        f"fouroptics calibrate --check: recalibrate ({', '.join(result.routines)}): "
        f"{result.summary()}; wrote {path} (exit {EXIT_RECALIBRATE})",
        file=sys.stderr,
    )
    return EXIT_RECALIBRATE
