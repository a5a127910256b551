"""Train a small SCLC student on synthetic glyph digits (no download), distill it from a
teacher, collapse its optical stack into one Fourier kernel per channel pair, and check that
the collapsed kernels give the same outputs.

Run: ``python examples/sclc_quickstart.py`` (about a minute on 2 CPU cores).
"""

from __future__ import annotations

import torch

from fouroptics.data import render_glyphs
from fouroptics.nn.macs import count_macs
from fouroptics.nn.models import build_model, sclc_config, teacher_config
from fouroptics.nn.sclc import apply_collapsed
from fouroptics.nn.train import TrainConfig, fit


def main() -> None:
    torch.set_num_threads(2)
    x, y = render_glyphs(3000, seed=0)
    data = (x[:2500], y[:2500], x[2500:], y[2500:])
    teacher = build_model(teacher_config(widths=(16, 32)), seed=0)
    fit(teacher, *data, TrainConfig(epochs=3, lr=2e-3))
    student = build_model(sclc_config(detection="intensity"), seed=0)
    fit(student, *data, TrainConfig(epochs=5, lr=3e-3), teacher=teacher)
    kernels = student.collapse()  # [C_out, C_in, n, n] complex Fourier-plane kernels
    probe = data[2][:16]
    same = torch.allclose(
        apply_collapsed(kernels, probe), student.optics.forward_layers(probe), atol=1e-4
    )
    print(f"collapsed kernels {tuple(kernels.shape)}; equal to the stack: {same}")
    print(f"electronic MACs: teacher {count_macs(teacher, (1, 28, 28)):,}, "
          f"SCLC {count_macs(student, (1, 28, 28)):,}")  # fmt: skip


if __name__ == "__main__":
    main()
