"""System YAMLs, hostile or careless: every input loads or raises ConfigError, quickly.

The loader (fouroptics.io.yaml_load) refuses aliases, oversized files, non-UTF-8 bytes; the
system refuses bare numbers for lengths, wrong types and grids that cannot fit in memory.
"""

from __future__ import annotations

import codecs
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fouroptics.errors import ConfigError
from fouroptics.io.yaml_load import MAX_BYTES, load_yaml, parse_yaml
from fouroptics.optics import FourFSystem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "systems"
GOOD = {
    "name": "fuzz",
    "wavelength": "532 nm",
    "f1": "100 mm",
    "f2": "150 mm",
    "input_slm": {"shape": [16, 16], "pitch": "8 um"},
    "fourier_slm": {
        "shape": [20, 20],
        "pitch": "6.4 um",
        "fill_factor": 0.93,
        "gap_transmission": 1.0,
    },
    "camera": {"shape": [24, 24], "pitch": "5.5 um"},
    "lens_aperture": "25.4 mm",
}
FIELDS = [
    ("name",),
    ("wavelength",),
    ("f1",),
    ("f2",),
    ("lens_aperture",),
    ("pixel_quadrature",),
    ("input_pixel_model",),
    ("dtype",),
    ("fft_backend",),
    *[(g, k) for g in ("input_slm", "fourier_slm", "camera") for k in ("shape", "pitch")],
    ("fourier_slm", "fill_factor"),
    ("fourier_slm", "gap_transmission"),
    ("input_slm",),
    ("camera",),
]
TIME_BOUND_S = 5.0


def write(tmp_path: Path, text: str | bytes, name: str = "system.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def good_text(**changes) -> str:
    cfg = {**GOOD, **changes}
    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)


# -- the cases of the issue, one by one ----------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"wavelength": 532}, ["system.wavelength: 532 has no unit", "e.g. '532 nm'"]),
        ({"f1": 100}, ["system.f1: 100 has no unit", "'100 mm'"]),
        ({"lens_aperture": 25.4}, ["system.lens_aperture", "'25.4 mm'"]),
        ({"input_slm": {"shape": [16, 16], "pitch": 8}}, ["input_slm.pitch: 8 has no", "'8 um'"]),
        (
            {"fourier_slm": {"shape": [20, 20], "pitch": 6.4}},
            ["fourier_slm.pitch: 6.4 has no unit", "'6.4 um'"],
        ),
        (
            {"fourier_slm": {"shape": [8, 8], "pitch": "8 um", "gap_transmission": [1, 2, 3]}},
            ["fourier_slm.gap_transmission", "[1, 2, 3]"],
        ),
        (
            {"fourier_slm": {"shape": [8, 8], "pitch": "8 um", "gap_transmission": ["a", 1]}},
            ["fourier_slm.gap_transmission", "'a'"],
        ),
        ({"camera": {"shape": None, "pitch": "5 um"}}, ["camera.shape", "None"]),
        ({"camera": {"shape": 7, "pitch": "5 um"}}, ["camera.shape", "7"]),
        (
            {"camera": {"shape": [200000, 200000], "pitch": "5 um"}},
            ["camera.shape", "200000 x 200000", "298 GiB", "2^28"],
        ),
        ({"name": ["a"]}, ["system.name", "['a']"]),
        ({"camera": [1, 2]}, ["camera", "mapping"]),
    ],
)
def test_bad_system_yaml_names_the_field(tmp_path: Path, change, words) -> None:
    path = write(tmp_path, good_text(**change))
    with pytest.raises(ConfigError) as err:
        FourFSystem.from_yaml(path)
    message = str(err.value)
    assert "\n" not in message and "system.yaml" in message
    for word in words:
        assert word in message


def test_to_yaml_reads_back_exactly(tmp_path: Path) -> None:
    for system in (
        FourFSystem.from_yaml(EXAMPLES / "realistic.yaml"),
        FourFSystem.matched((16, 16), "8 um", wavelength=633e-9 / 3, dtype="complex128"),
    ):
        assert FourFSystem.from_yaml(write(tmp_path, system.to_yaml())) == system
        assert FourFSystem.from_dict(yaml.safe_load(system.to_yaml())) == system


def test_zero_and_si_floats_stay_allowed_in_python_but_not_bare_in_yaml(tmp_path) -> None:
    si = {**GOOD, "wavelength": 532e-9, "input_slm": {"shape": [16, 16], "pitch": 8e-6}}
    system = FourFSystem.from_dict(si)  # the Python API keeps SI floats
    assert system.wavelength == pytest.approx(532e-9)
    with pytest.raises(ConfigError, match=r"5\.32e-07 has no unit.*'5\.32e-07 m'"):
        FourFSystem.from_yaml(write(tmp_path, yaml.safe_dump(si)))
    assert FourFSystem.from_yaml(EXAMPLES / "realistic.yaml").wavelength == pytest.approx(532e-9)


@pytest.mark.parametrize(
    "text",
    [
        # billion laughs in a name and in a shape
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(
            f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "name: *i\n",
        "input_slm: {shape: &s [16, 16], pitch: 8 um}\ncamera: {shape: *s, pitch: 5 um}\n",
        "name: &n fuzz\n",
    ],
    ids=["billion-laughs", "shared-shape", "lone-anchor"],
)
def test_anchors_and_aliases_are_refused_at_once(tmp_path: Path, text: str) -> None:
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"system\.yaml:\d+:\d+: .*anchors and aliases"):
        FourFSystem.from_yaml(write(tmp_path, text))
    assert time.perf_counter() - t0 < 1.0


def test_encodings(tmp_path: Path) -> None:
    text = good_text(name="système")
    for codec in ("utf-8-sig", "utf-16", "utf-32"):  # with a BOM: decoded
        assert FourFSystem.from_yaml(write(tmp_path, text.encode(codec))).name == "système"
    latin = text.encode("latin-1")
    offset = latin.index("è".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        FourFSystem.from_yaml(write(tmp_path, latin))
    message = str(err.value)
    assert f"offset {offset}" in message and "0xe8" in message and "not UTF-8" in message
    assert "system.yaml" in message and "\n" not in message
    bad16 = codecs.BOM_UTF16_LE + b"\x00\xd8"  # a lone surrogate
    with pytest.raises(ConfigError, match="UTF-16"):
        FourFSystem.from_yaml(write(tmp_path, bad16))


def test_syntax_errors_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nwavelength: 532 nm\nf1: [100 mm\n")
    with pytest.raises(ConfigError, match=r"system\.yaml:4:1: not valid YAML"):
        FourFSystem.from_yaml(path)
    with pytest.raises(ConfigError, match=r"system\.yaml:1:\d+: not valid YAML.*tag"):
        FourFSystem.from_yaml(write(tmp_path, "name: !!python/object:os.system x\n"))


def test_oversized_deep_and_huge_inputs_are_refused_quickly(tmp_path: Path) -> None:
    cases = {
        "big": b"# " + b"x" * MAX_BYTES + b"\n",
        "deep": b"name: " + b"[" * 20000 + b"]" * 20000 + b"\n",
        "digits": b"pixel_quadrature: " + b"9" * 10000 + b"\n",
        "empty": b"",
        "nul": b"name: a\x00b\n",
    }
    for label, data in cases.items():
        t0 = time.perf_counter()
        with pytest.raises(ConfigError) as err:
            FourFSystem.from_yaml(write(tmp_path, data))
        assert "system.yaml" in str(err.value) and "\n" not in str(err.value), label
        assert time.perf_counter() - t0 < TIME_BOUND_S, label


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path / "nope.yaml")


# -- properties ------------------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, 16, 200000, 2**40, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["532 nm", "8 um", "100 mm", "matched", "5 ms", "1 mW", "abc", "", "1e400 m"]),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def system_texts(draw) -> bytes:
    cfg = yaml.safe_load(yaml.safe_dump(GOOD))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(FIELDS))
        node = cfg
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):  # an earlier change replaced the parent
            continue
        if draw(st.booleans()):
            node[path[-1]] = draw(values)
        else:
            node.pop(path[-1], None)
    text = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)
    trick = draw(st.sampled_from(["none", "alias", "bare", "indent", "truncate"]))
    if trick == "alias":
        text = text.replace("shape:", "shape: &s", 1) + "extra: *s\n"
    elif trick == "bare":
        text = text.replace(" nm", "", 1).replace(" um", "", 1)
    elif trick == "indent":
        text = text.replace("\n", "\n ", draw(st.integers(1, 3)))
    elif trick == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    codec = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252"]))
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        return text.encode("utf-8")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=system_texts())
def test_any_system_yaml_loads_or_raises_config_error(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    t0 = time.perf_counter()
    try:
        system = FourFSystem.from_yaml(path)
    except ConfigError as exc:
        assert "\n" not in str(exc).strip() or "system.yaml" in str(exc)
        assert "system.yaml" in str(exc)
    else:
        assert np.isfinite(system.wavelength) and system.wavelength > 0
        assert all(isinstance(n, int) and n > 0 for n in system.input_shape)
    assert time.perf_counter() - t0 < TIME_BOUND_S


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_parse_or_raise_config_error(data: bytes) -> None:
    t0 = time.perf_counter()
    try:
        parse_yaml(data, "fuzz.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yaml")
    assert time.perf_counter() - t0 < TIME_BOUND_S


def test_every_yaml_read_goes_through_the_one_loader() -> None:
    """No module parses YAML on its own (aliases, encodings and size would go unchecked)."""
    import re

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"yaml\.(safe_load|load|full_load|unsafe_load|load_all|safe_load_all)\(")
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for package in ("fouroptics", "devices", "calibration")
        for path in sorted((root / package).rglob("*.py"))
        if path.name != "yaml_load.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"use fouroptics.io.yaml_load.load_yaml / parse_yaml: {offenders}"


def test_a_repeated_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    from fouroptics.io.yaml_load import load_yaml

    path = tmp_path / "dup.yaml"
    path.write_text("wavelength: 532 nm\nf1: 100 mm\ncamera:\n  pitch: 8 um\nwavelength: 633 nm\n")
    with pytest.raises(
        ConfigError, match=r"dup.yaml:5:1: .*duplicate key 'wavelength' \(first at line 1\)"
    ):
        load_yaml(path, "system file")
    path.write_text("camera:\n  pitch: 8 um\n  pitch: 6 um\n")
    with pytest.raises(ConfigError, match="duplicate key 'pitch'"):
        load_yaml(path, "system file")
