"""The shell's side of runs past one process (``torchrun --nproc_per_node N -m fouroptics
simulate ...``): what is refused, and this rank's :class:`devices.run.shard.Shard`.

* a hardware bench under ``torchrun`` (one physical bench cannot be shared by ranks: each rank
  would open and drive the same devices), refused before any device is opened;
* ``--device``: ``numpy`` (the default: the simulated bench's numpy path), ``cpu`` or
  ``cuda[:K]`` (its torch path, :mod:`devices.simulated.torch_path`); ``cuda`` without CUDA
  and a device on a bench with hardware are refused in one line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fouroptics.errors import ConfigError


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device numpy|cpu|cuda[:K]`` (where the simulated bench computes)."""
    parser.add_argument(
        "--device",
        default="numpy",
        help="where the simulated bench computes its light: numpy (default), or its torch "
        "path on cpu or cuda[:K]",
    )


def check_device(device: str) -> None:
    """Refuse a ``--device`` other than numpy, cpu, cuda, cuda:K in one line (``cuda`` without
    CUDA: said so).

    Raises:
        ConfigError: naming ``--device``, its value and what is allowed.
    """
    if device == "numpy":
        return
    from devices.simulated.torch_path import check_device as torch_device

    try:
        torch_device(device)
    except ValueError as exc:
        why = str(exc).split(": ", 1)[1]
        raise ConfigError(f"--device {device}: {why}; use --device numpy or cpu") from None


def refuse_device_on_hardware(bench_yaml: str | Path, device: str) -> None:
    """Refuse a ``--device`` other than numpy on a bench with real devices, before any device
    is opened (the torch path computes a simulated bench's light only).

    Raises:
        ConfigError: ``--device X: the torch path computes a simulated bench's light; --bench
            Y drives hardware (camera, ...): use --device numpy``.
    """
    real = [] if device == "numpy" else hardware_devices(bench_yaml)
    if real:
        raise ConfigError(
            f"--device {device}: the torch path computes a simulated bench's light; --bench "
            f"{bench_yaml} drives hardware ({', '.join(real)}): use --device numpy"
        )


def use_device(bench: Any, device: str) -> None:
    """Put a simulated bench's light on ``device`` (numpy: as it is; a bench without a torch
    path, as it is: :func:`refuse_device_on_hardware` refused it before it was opened)."""
    if device != "numpy" and getattr(bench, "simulated", False):
        bench.use_device(device)


def hardware_devices(bench_yaml: str | Path) -> list[str]:
    """The device sections of a bench YAML whose driver is not ``simulated`` (read without
    opening any device; an unreadable file gives [] and is refused by ``load_bench``)."""
    from devices.config.fields import real_roles
    from fouroptics.io.yaml_load import load_yaml

    try:
        return real_roles(load_yaml(bench_yaml, "bench file"))
    except (OSError, ConfigError):
        return []


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


def run_sharded(verb: str, args: Any, body: Callable[[Any, int, Any], int]) -> int:
    """Run a verb's ``body(args, rank, shard)`` in this process, joined to the ``torchrun``
    group when there is one (a hardware bench refused first; ranks > 0 without progress
    bars)."""
    from fouroptics.distributed import join, launched

    refuse_hardware(args.bench, launched())
    with join(verb) as (rank, world):
        if rank:
            args.no_progress = True
        return body(args, rank, shard(rank, world))


def shard(rank: int, world: int) -> Any:
    """This rank's :class:`devices.run.shard.Shard` (None in one process)."""
    if world <= 1:
        return None
    from devices.run.shard import Shard
    from fouroptics.distributed import gather

    return Shard(rank, world, gather)
