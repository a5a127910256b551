"""Run under ``torchrun`` by test_simulate_torchrun.py (or alone, one process): the features of
random images through a bench YAML and a bundle, each rank measuring its shard; rank 0 saves
them (``python torchrun_features.py BENCH BUNDLE OUT.npy N BATCH``)."""

from __future__ import annotations

import sys

import numpy as np

from devices.config import load_bench
from devices.run import OpticalModel
from fouroptics.commands.scale import shard
from fouroptics.compiler import MaskBundle
from fouroptics.distributed import join

bench_yaml, bundle_path, out, n, batch = sys.argv[1:6]
with join("features") as (rank, world), load_bench(bench_yaml) as bench:
    bundle = MaskBundle.load(bundle_path, system=bench.system)
    rng = np.random.default_rng(0)
    x = rng.random((int(n), *bundle.image_shape))
    ref = rng.random((4, *bundle.image_shape))
    model = OpticalModel(bundle, bench, None, ref, batch=int(batch), shard=shard(rank, world))
    feats = model.features(x)
    again = model.features(x[:3])  # a second measurement: the next streams
    if rank == 0:
        np.save(out, np.concatenate([feats.ravel(), again.ravel(), [bench.time]]))
