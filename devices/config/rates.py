"""Frame rates of a bench's devices: a bench YAML's ``frame_rate`` fields, else their device
profiles' (devices/config/profiles/*.yaml), else assumed rates (said so)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devices.config.profile import load_profile
from fouroptics.io.yaml_load import load_yaml
from fouroptics.units import parse_quantity, require_unit

#: used when a device names no profile with a frame rate, and said so in the estimate
DEFAULT_RATES = {"input_slm": 60.0, "fourier_slm": 60.0, "camera": 100.0}


def frame_rates(bench_yaml: str | Path | None) -> dict[str, dict[str, Any]]:
    """``{role: {"hz": rate, "source": profile or "assumed"}}`` from a bench YAML's profiles."""
    sections: dict[str, Any] = {}
    base = None
    if bench_yaml is not None:
        path = Path(bench_yaml)
        sections = load_yaml(path, "bench file") or {}
        base = path.parent
    out = {}
    for role, default in DEFAULT_RATES.items():
        sec = sections.get(role) or {}
        rate, src = None, "assumed"
        if "frame_rate" in sec:
            rate, src = sec["frame_rate"], "bench YAML"
            require_unit(rate, "frequency", f"bench.{role}.frame_rate")
        elif "profile" in sec:
            prof = load_profile(sec["profile"], base)
            if "frame_rate" in prof:
                rate, src = prof["frame_rate"], f"profile {sec['profile']}"
        hz = default if rate is None else parse_quantity(rate, "frequency", f"{role}.frame_rate")
        out[role] = {"hz": float(hz), "source": src}
    return out
