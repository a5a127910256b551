"""``fouroptics simulate`` past one process: frames per second against the number of
``torchrun`` processes on this machine (#21), each process with one FFT/BLAS thread.

Runs the same command in one plain process (the baseline) and under ``torchrun
--nproc_per_node N`` for each N of ``--procs``, in this run (the ratios are against the
baseline measured here, minutes apart at most), and prints per N: the wall time of the whole
command (what a user waits: start-up, data, bench, exposure and photometry, the measurement,
the gather, figures), its ratio to one process, the frames per second of the whole command and
of rank 0's measurement (results.json ``optical.frames_per_s``), the machine's load average
before each run (other jobs share the cores), and whether results.json agrees with one
process on the same ``--device`` (every number but the timings). ``--device numpy cpu`` measures
the numpy path against the torch path (:mod:`devices.simulated.torch_path`) in the same run,
one row per device and process count, with the optical accuracy and feature NRMSE of each.

The default bundle is the demo's (``make demo``: demo_out/compile/bundle.h5, 8 frames per
image on examples/benches/misaligned_noisy.yaml, with its calibration)::

    .venv/bin/python benchmarks/simulate_scale.py [--procs 2 4] [--images 2000]
        [--device numpy cpu cuda]
        [--bundle B.h5 --bench BENCH.yaml --calibration C.h5 --dataset glyphs]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command(args: argparse.Namespace, out: Path, device: str) -> list[str]:
    cmd = ["simulate", "--bundle", args.bundle, "--bench", args.bench, "--dataset", args.dataset]
    cmd += ["--device", device]
    cmd += ["--limit", str(args.images), "--threads", "1", "--no-progress", "--out", str(out)]
    if args.calibration:
        cmd += ["--calibration", args.calibration]
    if args.twin_reference:
        cmd += ["--twin-reference"]
    return cmd


def run(args: argparse.Namespace, n: int, out: Path, device: str) -> dict:
    """One command with ``n`` processes on ``device``: wall seconds, load before, results.json."""
    verb = command(args, out, device)
    if n == 1:
        cmd = [sys.executable, "-m", "fouroptics", *verb]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={n}", "-m", "fouroptics", *verb]  # fmt: skip
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{n} process(es) failed:\n{proc.stderr[-3000:]}")
    return {"wall": wall, "load": load, "results": json.loads((out / "results.json").read_text())}


def same(a: dict, b: dict) -> bool:
    """results.json agree but for the timings and the process count."""
    skip = {"wall_s", "frames_per_s", "processes", "files"}
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() - skip == b.keys() - skip and all(same(a[k], b[k]) for k in a.keys() - skip)
    return a == b


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--procs", type=int, nargs="*", default=[2])
    p.add_argument("--device", nargs="+", default=["numpy"], help="numpy, cpu, cuda[:K]")
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--bundle", default=str(ROOT / "demo_out" / "compile" / "bundle.h5"))
    p.add_argument("--bench", default=str(ROOT / "examples" / "benches" / "misaligned_noisy.yaml"))
    p.add_argument("--calibration", default=None)
    p.add_argument("--dataset", default="glyphs")
    p.add_argument("--twin-reference", action="store_true")
    args = p.parse_args()
    if not Path(args.bundle).exists():
        raise SystemExit(f"--bundle {args.bundle}: not found (make demo writes the default)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dev in args.device:
            one = run(args, 1, Path(tmp) / f"{dev}1", dev)
            rows.append((dev, 1, one, one))
            for n in args.procs:
                rows.append((dev, n, run(args, n, Path(tmp) / f"{dev}{n}", dev), one))
    base = rows[0][2]
    frames = base["results"]["optical"]["frames"]
    print(f"simulate, {args.images} images x {frames // args.images} frames on "
          f"{Path(args.bench).name}, {os.cpu_count()} cores, one thread per process")  # fmt: skip
    print(
        "| device | processes | wall s | ratio to first row | frames/s (command) | frames/s "
        "(measurement) | accuracy | feature NRMSE | load before | results.json as 1 process |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for dev, n, r, one in rows:
        opt = r["results"]["optical"]
        acc = opt.get("accuracy", float("nan"))
        print(
            f"| {dev} | {n} | {r['wall']:.1f} | {r['wall'] / base['wall']:.2f} | "
            f"{frames / r['wall']:.0f} | {opt['frames_per_s']:.0f} | {acc:.4f} | "
            f"{opt['feature_nrmse']:.4f} | {r['load']:.2f} | "
            f"{'yes' if same(r['results'], one['results']) else 'NO'} |"
        )


if __name__ == "__main__":
    main()
