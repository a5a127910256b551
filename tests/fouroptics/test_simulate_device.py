"""``simulate --device cpu`` runs the simulated bench's torch path
(:mod:`devices.simulated.torch_path`) and gives the numpy path's results on a misaligned bench
with flicker, laser RIN and row noise (the noise is the per-image numpy streams' on the torch
path's mean); a device torch cannot use, and a device on a hardware bench, are refused in one
line."""

from __future__ import annotations

import json

import pytest
from test_simulate_torchrun import _simulate, setup  # noqa: F401 (the module's fixture)

from fouroptics.cli import main


def test_simulate_on_the_torch_path_gives_the_numpy_results(setup) -> None:  # noqa: F811
    out = {}
    for dev in ("numpy", "cpu"):
        path = setup["tmp"] / f"dev_{dev}"
        assert main(_simulate(setup, path, "--device", dev, "--seed", "4")) == 0
        out[dev] = json.loads((path / "results.json").read_text())
    a, b = out["numpy"]["optical"], out["cpu"]["optical"]
    assert a["frames"] == b["frames"] > 0
    assert a["accuracy"] == b["accuracy"]
    assert b["feature_nrmse"] == pytest.approx(a["feature_nrmse"], rel=1e-3)
    assert out["numpy"]["photometry"]["gain_dn_per_w"] == pytest.approx(
        out["cpu"]["photometry"]["gain_dn_per_w"], rel=1e-4
    )


@pytest.mark.parametrize(
    ("device", "bench", "says"),
    [
        ("mps", None, "--device mps: allowed: cpu, cuda, cuda:K; use --device numpy or cpu"),
        ("cpu", "slmsuite_hardware.yaml", "--device cpu: the torch path computes a simulated"),
    ],
)
def test_a_device_that_cannot_be_used_is_refused_in_one_line(
    setup,  # noqa: F811
    capsys,
    device,
    bench,
    says,
) -> None:
    argv = _simulate(setup, setup["tmp"] / f"bad_{device}", "--device", device)
    if bench is not None:
        from test_simulate_torchrun import ROOT

        argv[argv.index("--bench") + 1] = str(ROOT / "examples" / "benches" / bench)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
