"""``simulate`` past one process (#21): the camera noise of an image depends on its index and the
seed only, so a run sharded across ``torchrun`` ranks gives one process's numbers (features,
results.json, a photon sweep); what is refused (a hardware bench, ``--device cuda``); a rank
that dies stops the others with one line and no results.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from bench_yaml import TINY_SYSTEM, simulated_bench, tiny_bundle
from glyph_idx import write_glyph_idx

from devices.config import load_bench
from devices.run import OpticalModel
from devices.run.shard import Shard
from devices.run.streams import GroupedGenerator, ImageStreams
from fouroptics.cli import main
from fouroptics.compiler import MaskBundle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _bench(folder: Path, flicker: bool = True) -> Path:
    """The tiny bench, misaligned, with flicker, laser RIN and row noise (clock-dependent and
    per-exposure noise: what a sharded run must reproduce)."""
    cfg = simulated_bench(TINY_SYSTEM, name="tiny")
    cfg["imperfections"] = {"shift": 1.0, "rotation_deg": 0.3, "fourier_decentre": 0.3}
    if flicker:
        cfg["imperfections"]["noise"] = {"flicker": "0.05 rad", "row_noise": "0.3 e-"}
        cfg["laser"]["rin"] = "0.5 %"
    path = folder / ("b.yaml" if flicker else "b_still.yaml")
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    data = write_glyph_idx(tmp / "idx", 40, 24)
    bundle = tiny_bundle(tmp, "double-phase")
    return {"tmp": tmp, "data": f"idx:{data}", "bench": _bench(tmp), "bundle": bundle}


def _env() -> dict[str, str]:
    """This checkout first on the path (the virtualenv may hold another one)."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}


def _torchrun(args: list[str], env: dict[str, str] | None = None, n: int = 2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={n}", *args]  # fmt: skip
    full = {**_env(), **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=full, cwd=ROOT)


def _features(bench: Path, bundle: Path, x: np.ndarray, batch: int, shard=None):
    with load_bench(bench) as b:
        m = MaskBundle.load(bundle, system=b.system)
        ref = np.random.default_rng(1).random((4, *m.image_shape))
        model = OpticalModel(m, b, None, ref, batch=batch, shard=shard)
        return model.features(x), b.time


def test_grouped_draws_are_each_images_own_stream() -> None:
    streams = ImageStreams(7, (1,))
    lam = np.full((6, 5), 30.0)  # 3 images x 2 rows
    both = streams.batch(0, 3).poisson(lam)
    alone = streams.batch(2, 3).poisson(lam[:2])
    assert np.array_equal(both[4:], alone)  # image 2 draws the same in any batch
    g = streams.generator(1)
    assert np.array_equal(streams.batch(1, 2).standard_normal((2, 5)), g.standard_normal((2, 5)))
    with pytest.raises(ValueError, match="do not split"):
        GroupedGenerator([g, g]).standard_normal((3, 2))


def test_features_do_not_depend_on_the_batch(setup) -> None:
    bench = _bench(setup["tmp"], flicker=False)  # flicker follows the batches' timing
    x = np.random.default_rng(0).random((7, *MaskBundle.load(setup["bundle"]).image_shape))
    a, _ = _features(bench, setup["bundle"], x, batch=2)
    b, _ = _features(bench, setup["bundle"], x, batch=7)
    assert np.array_equal(a, b)


def test_shards_measured_apart_give_one_process_features(setup) -> None:
    """Each rank's block, on its own bench, skips the others' batches on the clock: with the
    flicker (which follows the clock) the blocks put together are one process's features."""
    x = np.random.default_rng(0).random((7, *MaskBundle.load(setup["bundle"]).image_shape))
    whole, t_whole = _features(setup["bench"], setup["bundle"], x, batch=2)
    parts = []
    for rank in range(3):
        shard = Shard(rank, 3, lambda work, what="": [work()])  # this rank's block only
        feats, t = _features(setup["bench"], setup["bundle"], x, batch=2, shard=shard)
        parts.append(feats)
        assert t == t_whole  # every rank's clock went through every batch
    assert [len(p) for p in parts] == [4, 2, 1]  # batches of 2: 2, 1, 1 per rank
    assert np.array_equal(np.concatenate(parts), whole)


def test_shard_blocks_cover_the_batches_once() -> None:
    for n in range(0, 9):
        blocks = [list(Shard(r, 3, None).batches(n)) for r in range(3)]
        assert sum(blocks, []) == list(range(n))


def test_torchrun_features_equal_one_process(setup, tmp_path) -> None:
    script = str(HERE / "torchrun_features.py")
    args = [str(setup["bench"]), str(setup["bundle"])]
    one = subprocess.run(
        [sys.executable, script, *args, str(tmp_path / "one.npy"), "9", "2"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=_env(),
    )  # fmt: skip
    assert one.returncode == 0, one.stderr[-3000:]
    two = _torchrun([script, *args, str(tmp_path / "two.npy"), "9", "2"])
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = np.load(tmp_path / "one.npy"), np.load(tmp_path / "two.npy")
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-6 * np.abs(a).max())
    assert a[-1] == b[-1]  # the bench clocks at the end


def _simulate(setup, out: Path, *extra: str) -> list[str]:
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--limit", "10", "--batch", "3", "--threads", "1"]
    return [*argv, "--no-progress", "--out", str(out), *extra]


def _same(a, b, path: str = "") -> list[str]:
    """The leaves where two results.json differ, but for timings and the process count
    (numbers to 1e-5 relative: the ranks sum in another order, float32 features)."""
    if isinstance(a, dict):
        keys = set(a) | set(b)
        skip = {"wall_s", "frames_per_s", "processes"}
        return [d for k in sorted(keys - skip) for d in _same(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (u, v) in enumerate(zip(a, b, strict=True)) for d in _same(u, v, path)]
    if isinstance(a, float) and isinstance(b, float):
        return [] if abs(a - b) <= 1e-5 * max(abs(a), abs(b)) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_torchrun_simulate_and_photon_sweep_equal_one_process(setup) -> None:
    tmp = setup["tmp"]
    extra = ("--sweep", "photons", "--seeds", "0", "1")
    assert main(_simulate(setup, tmp / "one", *extra)) == 0
    proc = _torchrun(["-m", "fouroptics", *_simulate(setup, tmp / "two", *extra)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("fouroptics simulate: digital") == 1  # rank 0 alone reports
    one = json.loads((tmp / "one" / "results.json").read_text())
    two = json.loads((tmp / "two" / "results.json").read_text())
    assert two["processes"] == 2 and one["processes"] == 1
    assert len(one["sweep"]["series"]["intensity"]) == 11
    assert _same(one, two) == []


def test_a_rank_that_dies_stops_the_others_without_results(setup) -> None:
    out = setup["tmp"] / "dead"
    proc = _torchrun(
        ["-m", "fouroptics", *_simulate(setup, out)], {"FOUROPTICS_TEST_KILL_RANK": "1"}
    )
    assert proc.returncode != 0
    ours = [line for line in proc.stderr.splitlines() if line.startswith("fouroptics simulate:")]
    assert len(ours) == 1, proc.stderr[-3000:]
    assert "rank 1 of 2" in ours[0] and "nothing written" in ours[0]
    assert not (out / "results.json").exists()


def test_torchrun_on_a_hardware_bench_is_refused(setup, monkeypatch, capsys) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    hw = ROOT / "examples" / "benches" / "slmsuite_hardware.yaml"
    argv = _simulate(setup, setup["tmp"] / "hw")
    argv[argv.index("--bench") + 1] = str(hw)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be shared by 2 torchrun ranks" in err[0], err
    assert "--bench" in err[0]


def test_device_cuda_without_cuda_is_refused(setup, monkeypatch, capsys) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(_simulate(setup, setup["tmp"] / "cuda", "--device", "cuda")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device cuda: this machine has no CUDA device" in err[0], err


@pytest.mark.parametrize("kernels", [False, True])
def test_torchrun_finetune_equals_one_process(setup, kernels) -> None:
    """DDP: the measurements sharded, with --kernels the twin too (its rows gathered with their
    gradients); the losses and metrics are one process's."""
    tmp = setup["tmp"]
    argv = ["finetune", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--train", "20", "--val", "4", "--limit", "8"]
    argv += ["--epochs", "2", "--batch-size", "7", "--threads", "1", "--no-progress"]
    argv += ["--kernels"] if kernels else []
    assert main([*argv, "--out", str(tmp / f"ft1{kernels}")]) == 0
    proc = _torchrun(["-m", "fouroptics", *argv, "--out", str(tmp / f"ft2{kernels}")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = json.loads((tmp / f"ft1{kernels}" / "results.json").read_text())
    two = json.loads((tmp / f"ft2{kernels}" / "results.json").read_text())
    np.testing.assert_allclose(
        [h["loss"] for h in two["history"]], [h["loss"] for h in one["history"]], rtol=1e-5
    )
    assert one["after"] == two["after"] and one["before"] == two["before"]
    a = MaskBundle.load(tmp / f"ft1{kernels}" / "bundle.h5").head_state
    b = MaskBundle.load(tmp / f"ft2{kernels}" / "bundle.h5").head_state
    for name, value in a.items():
        np.testing.assert_allclose(b[name], value, rtol=1e-4, atol=1e-6)
