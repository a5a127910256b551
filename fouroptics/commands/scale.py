"""The shell's side of runs past one process (``torchrun --nproc_per_node N -m fouroptics
simulate ...``): what is refused, and this rank's :class:`devices.run.shard.Shard`.

* a hardware bench under ``torchrun`` (one physical bench cannot be shared by ranks: each rank
  would open and drive the same devices), refused before any device is opened;
* ``--device cuda`` without CUDA, and ``--device cuda`` at all for now: the simulated bench
  runs on its numpy path (issue #21 item 2, a torch path, is not built).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fouroptics.errors import ConfigError

#: the bench YAML's device sections
ROLES = ("input_slm", "fourier_slm", "camera", "fourier_camera")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device cpu|cuda`` (where the simulated bench computes)."""
    parser.add_argument(
        "--device",
        default="cpu",
        help="where the simulated bench computes: cpu (numpy); cuda is refused (no torch path)",
    )


def check_device(device: str) -> None:
    """Refuse a ``--device`` other than ``cpu`` in one line (``cuda`` without CUDA: said so).

    Raises:
        ConfigError: naming ``--device``, its value and what is allowed.
    """
    if device == "cpu":
        return
    if device.split(":")[0] != "cuda":
        raise ConfigError(f"--device {device!r}: allowed: cpu, cuda")
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: this machine has no CUDA device; use --device cpu")
    raise ConfigError(
        f"--device {device}: the simulated bench computes with numpy on the CPU only (a torch "
        "path is not built yet); use --device cpu"
    )


def hardware_devices(bench_yaml: str | Path) -> list[str]:
    """The device sections of a bench YAML whose driver is not ``simulated`` (read without
    opening any device; an unreadable file gives [] and is refused by ``load_bench``)."""
    from fouroptics.io.yaml_load import load_yaml

    try:
        cfg = load_yaml(bench_yaml, "bench file")
    except (OSError, ConfigError):
        return []
    if not isinstance(cfg, dict):
        return []
    out = []
    for role in ROLES:
        section = cfg.get(role)
        if section is not None and not (
            isinstance(section, dict) and section.get("driver") == "simulated"
        ):
            out.append(role)
    return out


def refuse_hardware(bench_yaml: str | Path, world: int) -> None:
    """Refuse a bench with real devices when ``world`` > 1 processes would share it.

    Raises:
        ConfigError: ``--bench X: drives hardware (camera, ...); one physical bench cannot be
            shared by N torchrun ranks: run it in one process``.
    """
    if world <= 1:
        return
    real = hardware_devices(bench_yaml)
    if real:
        raise ConfigError(
            f"--bench {bench_yaml}: drives hardware ({', '.join(real)}); one physical bench "
            f"cannot be shared by {world} torchrun ranks: run it in one process"
        )


def shard(rank: int, world: int) -> Any:
    """This rank's :class:`devices.run.shard.Shard` (None in one process)."""
    if world <= 1:
        return None
    from devices.run.shard import Shard
    from fouroptics.distributed import gather

    return Shard(rank, world, gather)
