"""Device profiles: spec-sheet YAMLs in :data:`PROFILE_DIR`, and the merge of a bench YAML's
device section over its profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devices.config.fields import BenchConfigError, load_yaml_file, require_units

PROFILE_DIR = Path(__file__).parent / "profiles"
META_KEYS = {"kind", "model", "source", "notes", "frame_rate"}  # frame_rate: spec, for estimates


def list_profiles() -> list[str]:
    """Names of the bundled profiles (devices/config/profiles/*.yaml)."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str | Path, base: Path | None = None) -> dict[str, Any]:
    """A device profile by bundled name or by path (relative to ``base``)."""
    if not isinstance(name, str | Path):
        raise BenchConfigError(
            f"profile: got {name!r}; expected a profile name ({', '.join(list_profiles())}) "
            "or a path to a .yaml file"
        )
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{name}.yaml"
    elif not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        raise BenchConfigError(
            f"profile {name!r}: no file {path}; bundled profiles: {', '.join(list_profiles())}"
        )
    data = load_yaml_file(path, "profile")
    if not isinstance(data, dict) or "kind" not in data or "source" not in data:
        raise BenchConfigError(f"profile {path}: expected a mapping with 'kind' and 'source'")
    require_units(data, f"profile {path.stem}")
    return data


def section_over_profile(
    section: dict[str, Any], base: Path | None, between: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A device section's raw fields over its profile's (``between`` in the middle), and the
    profile (None without one): the one merge of profile and bench YAML."""
    merged: dict[str, Any] = {}
    profile = None
    if "profile" in section:
        profile = load_profile(section["profile"], base)
        merged.update({k: v for k, v in profile.items() if k not in META_KEYS})
    merged.update(between or {})
    merged.update({k: v for k, v in section.items() if k not in ("driver", "profile")})
    return merged, profile
