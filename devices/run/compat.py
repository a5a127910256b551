"""Whether a compiled bundle can run on a bench: the same system, a Fourier SLM of the bundle's
bit depth and modulation, an input SLM that modulates amplitude."""

from __future__ import annotations

from typing import Any

import numpy as np

from fouroptics.errors import ConfigError


def check_compatible(bench: Any, bundle: Any) -> None:
    """Refuse a bundle compiled for another system or SLM, with the differing numbers.

    Raises:
        ConfigError: the systems differ, the Fourier SLM's bit depth or modulation differs from
            the bundle's, drive levels out of its range, a ``complex`` bundle on real hardware,
            or an input SLM that does not modulate amplitude.
    """
    diff = [
        f"{name}: bench {a!r}, bundle {b!r}"
        for name, a, b in bench.system.differences(bundle.system)
    ]
    if diff:
        raise ConfigError(
            f"bundle compiled for system {bundle.system.name or '(unnamed)'!r}, not bench "
            f"{bench.name!r}'s ({'; '.join(diff[:4])}); recompile for this bench's system"
        )
    slm = bench.fourier_slm
    if bundle.fourier_levels is None:
        if not getattr(bench, "simulates_complex_masks", False):
            raise ConfigError(
                f"bundle encoding {bundle.encoding!r} has no drive levels: a single "
                f"{slm.modulation} SLM ({slm.label}) cannot show complex masks; compile with "
                "--encoding double-phase, phase or amplitude"
            )
    else:
        info = bundle.slm or {}
        want_bits, want_mod = info.get("bit_depth"), info.get("modulation")
        top = int(np.max(bundle.fourier_levels))
        if (want_bits is not None and want_bits != slm.bit_depth) or top > slm.levels - 1:
            raise ConfigError(
                f"bundle drives a {want_bits}-bit Fourier SLM (levels up to {top}) but bench "
                f"{bench.name!r} has a {slm.bit_depth}-bit {slm.label}; recompile for it"
            )
        if want_mod is not None and want_mod != slm.modulation:
            raise ConfigError(
                f"bundle encodes for a {want_mod} SLM but bench {bench.name!r}'s Fourier SLM "
                f"is {slm.modulation}; recompile with --slm for it"
            )
    if bundle.meta.get("input_encoding") == "double-phase":
        if bench.input_slm.modulation != "phase":
            raise ConfigError(
                f"bench {bench.name!r}: the bundle encodes images as double-phase for a "
                f"phase-only input SLM, but this one is {bench.input_slm.modulation}; recompile "
                "with --input-encoding amplitude"
            )
    elif bench.input_slm.modulation != "amplitude":
        raise ConfigError(
            f"bench {bench.name!r}: the input SLM is {bench.input_slm.modulation}; a bundle's "
            "input is an amplitude image (use an amplitude-modulating input SLM, or compile with "
            "--input-encoding double-phase)"
        )
