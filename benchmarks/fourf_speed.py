"""Speed of FourFSystem.forward (numpy fast path) against bare pyFFTW and against torchoptics.

Prints a table and (with --json PATH) writes the numbers. Every ratio is measured against a
baseline run in the same process on the same arrays:

* ``bare 2xFFT``: two in-place batched pyFFTW transforms of the same (B, N, N) complex64 array
  with a plan made once (FFTW_MEASURE, all cores), nothing else (no copy, no products): the
  floor for a matched-sampling 4f system.
  Goal: forward / bare <= 1.5.
* ``numpy``: the same forward on the numpy.fft backend.
* torchoptics (``--torchoptics``): see benchmarks/torchoptics_4f.py.

Run:  .venv/bin/python benchmarks/fourf_speed.py [--repeat 5] [--json out.json] [--torchoptics]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyfftw

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fouroptics.optics import FourFSystem  # noqa: E402
from fouroptics.optics.fft import default_threads  # noqa: E402

CASES = [(64, 256), (16, 512)]


def best_time(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls after one warm-up, seconds."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bare_pyfftw(x: np.ndarray):
    buf = pyfftw.empty_aligned(x.shape, dtype=np.complex64)
    plan = pyfftw.FFTW(buf, buf, axes=(-2, -1), flags=("FFTW_MEASURE",), threads=default_threads())

    buf[...] = x

    def run() -> None:  # transforms only: no copy, no multiply
        plan.execute()
        plan.execute()

    return run


def measure(batch: int, n: int, repeat: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.random((batch, n, n), dtype=np.float32).astype(np.complex64)
    system = FourFSystem.matched((n, n), "8 um", f1="100 mm", f2="150 mm")
    mask = system.kernel_to_mask(rng.standard_normal((5, 5))).astype(np.complex64)
    numpy_system = system.with_options(fft_backend="numpy")
    t_fwd = best_time(lambda: system.forward(x, mask), repeat)
    t_bare = best_time(bare_pyfftw(x), repeat)
    t_np = best_time(lambda: numpy_system.forward(x, mask), max(1, repeat // 2))
    return {
        "batch": batch,
        "n": n,
        "forward_s": t_fwd,
        "images_per_s": batch / t_fwd,
        "bare_2fft_s": t_bare,
        "ratio_to_bare_2fft": t_fwd / t_bare,
        "numpy_backend_s": t_np,
        "speedup_vs_numpy_backend": t_np / t_fwd,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--torchoptics", action="store_true", help="also run the comparison")
    parser.add_argument(
        "--threads", type=int, default=None, help="FFT threads for both sides (default: all)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        from fouroptics.optics.fft import set_threads

        set_threads(args.threads)

    rows = [measure(b, n, args.repeat) for b, n in CASES]
    print(
        f"threads: {default_threads()}   dtype: complex64   system: matched, f1 100 mm, f2 150 mm"
    )
    head = f"{'batch x N':>12} {'forward s':>10} {'images/s':>10} {'bare 2xFFT s':>13} "
    head += f"{'ratio':>6} {'numpy.fft s':>12}"
    print(head)
    for r in rows:
        print(
            f"{r['batch']:>5} x {r['n']:<5} {r['forward_s']:>10.4f} {r['images_per_s']:>10.1f} "
            f"{r['bare_2fft_s']:>13.4f} {r['ratio_to_bare_2fft']:>6.2f} "
            f"{r['numpy_backend_s']:>12.4f}"
        )
    result: dict = {"pyfftw": rows}
    if args.torchoptics:
        from torchoptics_4f import torchoptics_comparison

        cmp = torchoptics_comparison()  # N = 128 at critical sampling, N p^2 = lambda f
        result["torchoptics"] = cmp
        print(json.dumps({k: v for k, v in cmp.items() if k != "sweep"}, indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
