"""Inference speed and electronic MACs: teacher CNN vs SCLC (layer by layer and collapsed).

Run: ``python benchmarks/sclc_speed.py [--threads N] [--batch B]``; prints a table.
"""

from __future__ import annotations

import argparse
import time

import torch

from fouroptics.nn.macs import count_macs
from fouroptics.nn.models import build_model, sclc_config, teacher_config


def _time(fn, x: torch.Tensor, repeats: int = 5) -> float:
    with torch.no_grad():
        fn(x)
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn(x)
    return (time.perf_counter() - t0) / repeats / len(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'res':>4} {'model':<16} {'us/image':>9} {'electronic MACs':>16}")
    for res in (28, 56, 112):
        x = torch.rand(args.batch, 1, res, res, generator=torch.Generator().manual_seed(0))
        teacher = build_model(teacher_config(res)).eval()
        sclc = build_model(sclc_config(res, detection="intensity")).eval()
        rows = [
            ("teacher", teacher, count_macs(teacher, (1, res, res))),
            ("sclc collapsed", sclc, count_macs(sclc, (1, res, res))),
            (
                "sclc layers",
                lambda v, m=sclc: m.head(m.detection(m.optics.forward_layers(v))),
                None,
            ),
        ]
        for name, fn, macs in rows:
            us = 1e6 * _time(fn, x)
            print(f"{res:>4} {name:<16} {us:>9.1f} {macs if macs is not None else '':>16}")


if __name__ == "__main__":
    main()
