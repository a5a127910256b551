"""The demo's two benches, packaged for installs without the examples/ folder.

``MISALIGNED_NOISY`` is examples/benches/misaligned_noisy.yaml and ``IDEAL`` is
examples/benches/ideal.yaml, verbatim (a test holds them equal). :func:`bench_paths` returns the
example files when they exist, else writes these texts into the demo's folder.
"""

from __future__ import annotations

from pathlib import Path

from fouroptics.io.atomic import atomic_write_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "benches"

MISALIGNED_NOISY = """\
# A realistic, imperfect simulated bench: every hidden value is drawn from `seed`.
# SimulatedBench.truth() reveals them for tests and reports; calibration must measure them.
name: misaligned_noisy
seed: 1234
system:
  wavelength: 532 nm
  f1: 60 mm
  f2: 60 mm
  input_slm: {shape: [256, 256], pitch: 8 um}
  fourier_slm: {shape: [512, 512], pitch: 8 um, fill_factor: 0.93, gap_transmission: 1.0}
  camera: {shape: [512, 512], pitch: 5.86 um}
laser:
  power: 1 uW
  beam_waist: 1.5 mm      # Gaussian 1/e^2 radius on the input SLM
splitter_ratio: 0.1
imperfections:
  shift: 2.0              # camera pixels rms, per axis
  rotation_deg: 0.5       # rms
  scale: 0.01             # magnification error, rms
  fourier_decentre: 0.7   # Fourier SLM pixels rms, per axis
  laser_power: 0.1        # fractional rms
  beam_offset: 150 um     # rms, per axis
  focal_error: 0.003      # fractional rms, per lens
  aberration: 0.3         # rad rms per term: defocus, astigmatism 0 and 45 deg
  aberration_high: 0.1    # rad rms per term: coma x/y, spherical, trefoil 0/30 deg
  lut: {range_spread: 0.12, gamma_spread: 0.3, panel_spread: 0.03, coupling_spread: 0.3}
  # SLM crosstalk around the profile's fringing: size (log rms), left/right asymmetry (rms),
  # second-neighbour fall-off (up to), and whether it mixes the drive voltage or the phase
  crosstalk: {spread: 0.2, asymmetry: 0.3, width: 0.5, domain: random}
  camera: {gain: 0.05, quantum_efficiency: 0.05, read_noise: 0.15, dark_current: 0.3}
input_slm:
  driver: simulated
  profile: holoeye_pluto2
  modulation: amplitude
  gamma: 2.2
  amplitude_min: 0.02
  phase_coupling: 0.3 rad
fourier_slm:
  driver: simulated
  profile: holoeye_pluto2
camera:
  driver: simulated
  profile: sony_imx174_cmos
  exposure: 2 ms
fourier_camera:
  driver: simulated
  profile: sony_imx250_cmos
  shape: [256, 256]
  pitch: 3.45 um
  exposure: 1 ms
"""

IDEAL = """\
# An ideal simulated 4f bench: no misalignment, nominal devices, a quiet camera.
# Swap any device for real hardware by changing its `driver:` line (see slmsuite_simulated.yaml).
name: ideal
seed: 0
system:
  wavelength: 532 nm
  f1: 60 mm
  f2: 60 mm
  input_slm: {shape: [256, 256], pitch: 8 um}
  fourier_slm: {shape: [512, 512], pitch: 8 um, fill_factor: 1.0}
  camera: {shape: [512, 512], pitch: 5.86 um}
laser:
  power: 1 uW
  beam_waist: null        # flat illumination of the input SLM
input_slm:
  driver: simulated
  modulation: amplitude
  gamma: 1.0
  fill_factor: 1.0
fourier_slm:
  driver: simulated
  modulation: phase
  phase_range: 6.283185307179586
  fill_factor: 1.0
camera:
  driver: simulated
  profile: sony_imx174_cmos
  exposure: 1 ms
  read_noise: 0.0
  dark_current: 0.0
  dsnu: 0.0
  prnu: 0.0
"""

PACKAGED = {"misaligned_noisy": MISALIGNED_NOISY, "ideal": IDEAL}


def bench_paths(out: Path) -> dict[str, Path]:
    """``{"misaligned_noisy": path, "ideal": path}``: the example YAMLs when examples/ is
    installed, else the packaged texts written (atomically) to ``out/benches/``."""
    paths: dict[str, Path] = {}
    for name, text in PACKAGED.items():
        example = EXAMPLES / f"{name}.yaml"
        if example.exists():
            paths[name] = example
        else:
            path = out / "benches" / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text() != text:
                atomic_write_bytes(path, text.encode())
            paths[name] = path
    return paths
