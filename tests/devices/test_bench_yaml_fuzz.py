"""Bench YAMLs and device profiles, hostile or careless: each loads or raises ConfigError."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.config import BenchConfigError, load_bench, load_profile
from devices.interface.bench import Bench
from fouroptics.errors import ConfigError

SYSTEM = {
    "wavelength": "532 nm",
    "f1": "60 mm",
    "f2": "60 mm",
    "input_slm": {"shape": [16, 16], "pitch": "8 um"},
    "fourier_slm": {"shape": [24, 24], "pitch": "8 um", "fill_factor": 0.93},
    "camera": {"shape": [24, 24], "pitch": "5.86 um"},
}
GOOD = {
    "name": "fuzz",
    "seed": 3,
    "system": SYSTEM,
    "laser": {"power": "1 uW", "beam_waist": "1 mm"},
    "splitter_ratio": 0.1,
    "imperfections": {
        "shift": 1.0,
        "rotation_deg": 0.2,
        "beam_offset": "50 um",
        "lut": {"range_spread": 0.1, "gamma_spread": 0.2},
        "camera": {"gain": 0.05, "read_noise": 0.1},
    },
    "input_slm": {"driver": "simulated", "modulation": "amplitude", "gamma": 2.2},
    "fourier_slm": {"driver": "simulated", "profile": "holoeye_pluto2"},
    "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
}
FIELDS = [
    ("name",),
    ("seed",),
    ("system",),
    ("system", "wavelength"),
    ("system", "camera"),
    ("laser",),
    ("laser", "power"),
    ("laser", "beam_waist"),
    ("splitter_ratio",),
    ("imperfections",),
    ("imperfections", "shift"),
    ("imperfections", "beam_offset"),
    ("imperfections", "lut"),
    ("imperfections", "lut", "range_spread"),
    ("imperfections", "camera"),
    ("imperfections", "camera", "gain"),
    ("input_slm",),
    ("input_slm", "driver"),
    ("fourier_slm",),
    ("camera",),
    ("camera", "driver"),
    ("input_slm", "modulation"),
    ("input_slm", "gamma"),
    ("input_slm", "bit_depth"),
    ("input_slm", "dead_space"),
    ("fourier_slm", "profile"),
    ("fourier_slm", "driver"),
    ("camera", "exposure"),
    ("camera", "exposure_limits"),
    ("camera", "read_noise"),
    ("camera", "timeout"),
    ("camera", "shape"),
]
TIME_BOUND_S = 10.0


def write(tmp_path: Path, cfg_or_text, name: str = "bench.yaml") -> Path:
    text = cfg_or_text if isinstance(cfg_or_text, str) else yaml.safe_dump(cfg_or_text)
    path = tmp_path / name
    path.write_text(text)
    return path


def changed(path: tuple[str, ...], value) -> dict:
    cfg = yaml.safe_load(yaml.safe_dump(GOOD))
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return cfg


def test_the_good_bench_loads(tmp_path: Path) -> None:
    bench = load_bench(write(tmp_path, GOOD))
    assert isinstance(bench, Bench)
    bench.close()


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("seed",), "abc", ["bench.seed", "'abc'", "integer"]),
        (("seed",), -1, ["bench.seed", "-1"]),
        (("imperfections",), [1, 2], ["bench.imperfections", "[1, 2]", "mapping"]),
        (("imperfections", "lut"), {"range_spread": "x"}, ["lut.range_spread", "'x'"]),
        (("imperfections", "lut"), 5, ["bench.imperfections.lut", "5"]),
        (("imperfections", "camera", "gain"), [1], ["imperfections.camera.gain"]),
        (("laser",), "bright", ["bench.laser", "'bright'"]),
        (("laser", "power"), 1, ["bench.laser.power: 1 has no unit", "'1 mW'"]),
        (("laser", "beam_waist"), 1.5, ["bench.laser.beam_waist", "'1.5 mm'"]),
        (("imperfections", "beam_offset"), 150, ["beam_offset: 150 has no unit", "'150 um'"]),
        (("camera", "exposure"), 2, ["bench.camera.exposure: 2 has no unit", "'2 ms'"]),
        (("camera", "exposure_limits"), ["15 us", 30], ["exposure_limits: 30 has no unit"]),
        (("fourier_slm", "frame_rate"), 60, ["bench.fourier_slm.frame_rate: 60 has no", "'60 Hz'"]),
        (("system", "wavelength"), 532, ["bench.system", "532 has no unit", "'532 nm'"]),
        (("input_slm", "dead_space"), ["a", 1], ["bench.input_slm.dead_space", "'a'"]),
        (("fourier_slm", "profile"), 5, ["profile", "5", "holoeye_pluto2"]),
        (("name",), [1], ["bench.name", "[1]"]),
        (("camera", "quantum_efficiency"), 2, ["camera.quantum_efficiency: got 2", "(0, 1]"]),
        (("input_slm", "amplitude_min"), 1.5, ["input_slm.amplitude_min: got 1.5", "[0, 1)"]),
        (("fourier_slm", "fill_factor"), 1.2, ["fourier_slm.fill_factor: got 1.2", "(0, 1]"]),
    ],
)
def test_bad_bench_yaml_names_the_field(tmp_path: Path, path, value, words) -> None:
    with pytest.raises(BenchConfigError) as err:
        load_bench(write(tmp_path, changed(path, value)))
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_python_api_dicts_keep_si_floats() -> None:
    cfg = changed(("laser", "power"), 1e-6)
    cfg["system"] = {**SYSTEM, "wavelength": 532e-9}
    bench = load_bench(cfg)  # a mapping from Python: SI numbers are fine
    bench.close()


def test_yaml_trouble_in_a_bench_file(tmp_path: Path) -> None:
    cases = {
        "alias": "name: &n x\nseed: 1\n",
        "bomb": "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nname: *b\n",
        "syntax": "name: x\nseed: [1\n",
        "latin1": "name: caf\xe9\n",
        "list": "- 1\n- 2\n",
    }
    for label, text in cases.items():
        path = tmp_path / f"{label}.yaml"
        path.write_bytes(text.encode("latin-1"))
        t0 = time.perf_counter()
        with pytest.raises(BenchConfigError) as err:
            load_bench(path)
        assert f"{label}.yaml" in str(err.value) and "\n" not in str(err.value), label
        assert time.perf_counter() - t0 < 1.0
    with pytest.raises(BenchConfigError, match=r"syntax\.yaml:3:1: not valid YAML"):
        load_bench(tmp_path / "syntax.yaml")


def test_profiles_need_units_and_valid_yaml(tmp_path: Path) -> None:
    prof = load_profile("sony_imx174_cmos")
    bare = {**prof, "pitch": 5.86}
    with pytest.raises(BenchConfigError, match=r"pitch: 5\.86 has no unit.*'5\.86 um'"):
        load_profile(write(tmp_path, bare, "cam.yaml"))
    (tmp_path / "alias.yaml").write_text("kind: &k camera\nsource: *k\n")
    with pytest.raises(BenchConfigError, match="anchors and aliases"):
        load_profile(tmp_path / "alias.yaml")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 2, 3, 7, 16, 200000, 2**40, -1, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1 ms", "8 um", "1 mW", "simulated", "phase", "binary", "abc", "", "@camera"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def bench_texts(draw) -> bytes:
    """A bench YAML as bytes: mutated fields, then maybe an alias, bare numbers, broken
    indentation or a cut, in one of several encodings."""
    text = yaml.safe_dump(draw(bench_configs()), sort_keys=False, allow_unicode=True)
    trick = draw(st.sampled_from(["none", "alias", "bare", "indent", "truncate"]))
    if trick == "alias":
        text = text.replace("seed:", "seed: &s", 1) + "extra: *s\n"
    elif trick == "bare":
        for unit in (" ms", " um", " uW", " nm", " mm"):
            text = text.replace(unit, "", 1)
    elif trick == "indent":
        text = text.replace("\n", "\n ", draw(st.integers(1, 3)))
    elif trick == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    codec = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1"]))
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        return text.encode("utf-8")


@st.composite
def bench_configs(draw) -> dict:
    cfg = yaml.safe_load(yaml.safe_dump(GOOD))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(FIELDS))
        node = cfg
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if draw(st.booleans()):
            node[path[-1]] = draw(values)
        else:
            node.pop(path[-1], None)
    return cfg


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=bench_texts())
def test_any_bench_yaml_loads_or_raises_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bench.yaml"
    path.write_bytes(data)
    t0 = time.perf_counter()
    try:
        bench = load_bench(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(bench, Bench)
        bench.close()
    assert time.perf_counter() - t0 < TIME_BOUND_S
