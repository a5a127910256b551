"""``fouroptics finetune``: physics-aware training of a bundle's electronic head (and, with
``--kernels``, its optical kernels) with the bench in the loop.

Forward on the bench (``devices.OpticalModel``: simulated here, the same code on hardware), backward
through the differentiable twin, in the straight-through form of physics-aware training
(Wright et al., Nature 2022; camera-in-the-loop holography, Peng et al. 2020)::

    out = twin + (measured - twin).detach()

The twin is the trained SCLC's torch optics + detection (``model.features``): the linear map the
compiled bundle realises (its noise-free readout equals it to ~1e-6 on the ideal system, a test
pins that), differentiable in the kernels. Head only: the measured features are fixed and the
head trains on them (the twin carries no gradient there). ``--kernels``: the optical kernels
train too; after each epoch the model is recompiled (the bundle's encoding, SLM and layout) and
the training images measured again on the bench, at the same exposure and photometry.

The validation split is carved from the training images only (best epoch by its measured
accuracy, or mIoU for a segmentation SCLC, whose head labels every pixel of the canvases);
accuracy (mIoU and pixel accuracy) before and after is reported on the test split. The model
must be the one the bundle was compiled from (its sha256 is checked); with ``--twin-reference``
(head only) the bundle's noise-free twin is the digital reference instead. Writes
OUT/bundle.h5 (the fine-tuned bundle), OUT/results.json and OUT/finetune.png.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.report import prepare_out, refuse_existing, save_figure, write_json

#: what a run writes into --out (a folder holding one is refused unless --force)
OUTPUTS = ("results.json", "bundle.h5", "finetune.png", "model")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", required=True, help="MaskBundle .h5 (compiled for the bench)")
    parser.add_argument("--bench", required=True, help="bench YAML (simulated or hardware)")
    parser.add_argument("--dataset", default="mnist", help="mnist | idx:<folder> | glyphs")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--calibration", default=None, help="CalibrationSet .h5, or 'truth'")
    from fouroptics.commands.simulate import add_identity_arguments

    add_identity_arguments(parser)
    parser.add_argument("--kernels", action="store_true", help="train the optical kernels too")
    parser.add_argument("--epochs", type=int, default=8, help="0 to 10,000 (default 8)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train", type=int, default=2000, help="training images measured")
    parser.add_argument("--val", type=int, default=500, help="validation images (from train)")
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--exposure", default=None, help="camera exposure: '2 ms', or seconds (default: automatic)"
    )
    parser.add_argument("--target", type=float, default=0.5, help="brightest tile, of the range")
    parser.add_argument("--no-noise", action="store_true", help="simulated camera without noise")
    parser.add_argument("--batch", type=int, default=64, help="images per capture batch")
    parser.add_argument("--threads", type=int, default=None, help="FFT/BLAS/torch threads")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.add_argument(
        "--force", action="store_true", help="overwrite the results of an earlier run in --out"
    )


def _split(args: argparse.Namespace, bundle: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train, validation (carved from the training images, seeded) and test images and labels
    of the bundle's task (classification images or segmentation canvases)."""
    import torch

    from fouroptics.commands.inputs import load_task_data

    data = load_task_data(args.dataset, bundle)
    n = len(data.train_x)
    if not 0 < args.val < n or args.train < 1:
        raise ConfigError(f"--val {args.val}, --train {args.train}: need 0 < val < {n}, train >= 1")
    if args.train > n - args.val:
        raise ConfigError(
            f"--train {args.train}: the data set has {n} training images, {n - args.val} left "
            f"after the {args.val} of --val"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed))
    val, tr = perm[: args.val], perm[args.val :][: args.train]
    te_x, te_y = data.test_x, data.test_y
    if args.limit is not None:
        te_x, te_y = te_x[: args.limit], te_y[: args.limit]
    return {
        "train": (data.train_x[tr].numpy(), data.train_y[tr].numpy()),
        "val": (data.train_x[val].numpy(), data.train_y[val].numpy()),
        "test": (te_x.numpy(), te_y.numpy()),
    }


def _labels(module: Any, x: Any, chunk: int = 256) -> np.ndarray:
    """argmax over classes of ``module`` on ``x`` in chunks: (B,) or (B, H, W) labels."""
    import torch

    with torch.no_grad():
        parts = [
            module(torch.as_tensor(x[i : i + chunk], dtype=torch.float32)).argmax(1).numpy()
            for i in range(0, len(x), chunk)
        ]
    return np.concatenate(parts)


def _recompile(model: Any, cfg: dict[str, Any], bundle: Any, folder: Path) -> Any:
    """The model's kernels compiled as the bundle was (encoding, SLM table, layout; a
    phase-only input's double-phase images and windows off its lit panel)."""
    from fouroptics.commands.compile_input import apply_input_encoding
    from fouroptics.compiler import SLMModel, compile_model, input_phase
    from fouroptics.nn.train import TrainConfig, save_model

    folder.mkdir(parents=True, exist_ok=True)
    save_model(folder, model, cfg, {}, TrainConfig())
    slm = None
    if bundle.slm is not None:
        info = bundle.slm
        slm = SLMModel(
            bit_depth=int(info["bit_depth"]),
            modulation=info["modulation"],
            response=bundle.slm_table,
            name=info.get("name", "bundle"),
            source=info.get("source", "bundle"),
            **SLMModel.crosstalk_fields(info),
        )
    m = bundle.meta
    phase_input = m.get(input_phase.META_KEY) == "double-phase"
    new = compile_model(
        folder,
        bundle.system,
        encoding=bundle.encoding,
        slm=slm,
        order=int(m["order"]),
        upsample=int(m["upsample"]),
        max_frames=max(16, bundle.n_frames),
        # phase-multi: the tiles per frame the bundle has (no new search for them)
        max_tiles=len(bundle.arrays["tiles"]) if bundle.encoding == "phase-multi" else None,
        lit_panel=phase_input,  # a phase-only input's windows stay off its panel's image
    )
    if phase_input:  # its images shown as compile showed them (carrier stop, fringing)
        gain = float(m.get("input_checkerboard_gain", 1.0))
        flat = np.full((1, *new.image_shape), 0.5, np.float32)  # (its fidelity is not kept)
        apply_input_encoding(new, "double-phase", flat, input_phase.checkerboard_coupling(gain))
    return new


def run(args: argparse.Namespace) -> int:
    """The verb; under ``torchrun`` the measurements are sharded across the ranks and the
    training is data-parallel (DDP, :mod:`fouroptics.commands.finetune_ddp`); rank 0 alone
    writes --out."""
    from fouroptics.commands.scale import run_sharded

    return run_sharded("finetune", args, _run)


def _run(args: argparse.Namespace, rank: int, shard: Any) -> int:
    import torch
    from torch import nn

    from fouroptics.commands.finetune_ddp import Step, model_folder
    from fouroptics.commands.inputs import check_run_args

    target = check_run_args(args)
    refuse_existing(args.out, OUTPUTS, "the results of a finetune run", args.force)

    if args.threads:
        os.environ.setdefault("FOUROPTICS_FFT_THREADS", str(args.threads))
        torch.set_num_threads(args.threads)
    from devices.config import load_bench
    from devices.run import OpticalModel
    from devices.run.tasks import headline, metrics, n_classes, task_of
    from fouroptics.commands.inputs import load_calibration, reference_model
    from fouroptics.commands.simulate import measure
    from fouroptics.compiler import MaskBundle
    from fouroptics.nn.models import build_model
    from fouroptics.units import parse_option

    exposure = None if args.exposure is None else parse_option(args.exposure, "time", "--exposure")
    if args.kernels and args.twin_reference:
        raise ConfigError(
            "--kernels with --twin-reference: training the kernels needs the trained model (the "
            "differentiable twin); fine-tune the head only, or drop --twin-reference"
        )
    with load_bench(args.bench) as bench:
        bundle = MaskBundle.load(args.bundle, system=bench.system)
        if bundle.head_state is None:
            raise ConfigError(f"{args.bundle}: compiled from kernels, it has no head to fine-tune")
        model, state, dig_src = reference_model(bundle, args.bundle, args.twin_reference)
        twin = model is None
        if twin:  # the head trains on measured features; the twin is the digital reference
            cfg = bundle.meta["source"]["model_config"]
            model = build_model(cfg).eval()
        else:
            cfg = state["model_config"]
        model.head.load_state_dict(bundle.head().state_dict())  # the bundle's (maybe tuned) head
        cal = load_calibration(
            args.calibration, bench, args.bench, allow_other_bench=args.allow_other_bench
        )
        task = task_of(bundle)
        key = headline(task)  # the validation picks the best epoch by it
        sets = _split(args, bundle)
        k = n_classes(bundle, *(y for _, y in sets.values()))
        out = prepare_out(args.out) if rank == 0 else Path(args.out)
        ref = sets["train"][0][:16]
        measured: dict[str, np.ndarray] = {}
        # one exposure and photometry for every measurement (fitted on the first)
        optical = OpticalModel(
            bundle, bench, cal, ref, exposure=exposure, target=target, batch=args.batch,
            noise=not args.no_noise, seed=args.seed, shard=shard,
        )  # fmt: skip

        def measure_all(on: Any, names: tuple[str, ...]) -> None:
            for name in names:
                measured[name], _ = measure(on, sets[name][0], progress=not args.no_progress)

        measure_all(optical, ("train", "val", "test"))

        def score(name: str, head: nn.Module) -> dict[str, float]:
            return metrics(task, sets[name][1], _labels(head, measured[name]), k)

        test_x = sets["test"][0]
        if twin:
            dig_labels = _labels(model.head, bundle.simulate(test_x))
        else:
            dig_labels = _labels(model, test_x)
        digital = metrics(task, sets["test"][1], dig_labels, k)
        before = {s: score(s, model.head) for s in ("val", "test")}
        params = list(model.head.parameters())
        if args.kernels:
            params += list(model.optics.parameters())
        opt = torch.optim.Adam(params, lr=args.lr)
        step = Step(model, args.kernels, shard)
        g = torch.Generator().manual_seed(args.seed)
        tx = torch.as_tensor(sets["train"][0])
        ty = torch.as_tensor(sets["train"][1])
        best = (before["val"], {n: v.clone() for n, v in model.state_dict().items()}, 0)
        history = []
        current = bundle
        for epoch in range(1, args.epochs + 1):
            model.train()
            meas = torch.as_tensor(measured["train"], dtype=torch.float32)
            perm = torch.randperm(len(tx), generator=g)
            total = 0.0
            for i in range(0, len(tx), args.batch_size):
                idx = perm[i : i + args.batch_size]
                logits = step(tx[idx], meas[idx])  # under DDP: the twin sharded
                loss = nn.functional.cross_entropy(logits, ty[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            model.eval()
            if args.kernels:  # the bench sees the new kernels: recompile and measure again
                current = _recompile(model, cfg, bundle, model_folder(out, rank))
                measure_all(optical.with_bundle(current), ("train", "val"))
            val = score("val", model.head)
            history.append({"epoch": epoch, "loss": total / len(tx), f"val_{key}": val[key]})
            if rank == 0:
                print(
                    f"  epoch {epoch}/{args.epochs} loss {total / len(tx):.4f} val {val[key]:.4f}"
                )
            if val[key] > best[0][key]:
                best = (val, {n: v.clone() for n, v in model.state_dict().items()}, epoch)
        model.load_state_dict(best[1])
        if args.kernels and best[2] > 0:
            current = _recompile(model, cfg, bundle, model_folder(out, rank))
            measure_all(optical.with_bundle(current), ("test",))
        elif args.kernels:
            current = bundle
        after = {"val": best[0], "test": score("test", model.head)}
        head_state = {
            k[len("head.") :]: v.detach().cpu().numpy()
            for k, v in model.state_dict().items()
            if k.startswith("head.")
        }
        tuned = replace(current, head_state=head_state, _cache={})
        tuned.meta = {
            **tuned.meta,
            "finetuned": {"bench": str(args.bench), "kernels": args.kernels},
        }
        path = tuned.save(out / "bundle.h5") if rank == 0 else None
    if rank:
        return 0

    def split_metrics(m: dict[str, dict[str, float]]) -> dict[str, float]:
        return {f"{s}_{name}": v for s in ("val", "test") for name, v in m[s].items()}

    results = {
        "bundle": str(args.bundle),
        "bench": str(args.bench),
        "task": task,
        "kernels": args.kernels,
        "images": {name: int(len(v[0])) for name, v in sets.items()},
        "digital": digital,
        "digital_source": dig_src,
        "before": split_metrics(before),
        "after": split_metrics(after),
        "best_epoch": best[2],
        "history": history,
        "exposure_s": optical.exposure,
        "finetuned_bundle": path.name,
    }
    fig = _plot(history, before, after, digital, key)
    results["files"] = [save_figure(fig, out / "finetune.png").name]
    js = write_json(out / "results.json", results)
    name = "mIoU" if key == "miou" else "accuracy"
    print(
        f"fouroptics finetune: test {name} {100 * before['test'][key]:.2f} % -> "
        f"{100 * after['test'][key]:.2f} % (digital {100 * digital[key]:.2f} %); wrote {path}, {js}"
    )
    return 0


def _plot(history: list[dict[str, Any]], before: dict, after: dict, digital: dict, key: str) -> Any:
    """Validation ``key`` (accuracy or mIoU) per epoch, with the test values before and after
    and the digital model's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ep = [0] + [h["epoch"] for h in history]
    val = [100 * before["val"][key]] + [100 * h[f"val_{key}"] for h in history]
    ax.plot(ep, val, "o-", label="val")
    ax.axhline(100 * digital[key], color="k", ls="--", lw=0.8, label="digital (test)")
    ax.axhline(100 * before["test"][key], color="C3", ls=":", label="optical before (test)")
    ax.axhline(100 * after["test"][key], color="C2", ls=":", label="optical after (test)")
    ylabel = "mIoU (%)" if key == "miou" else "accuracy (%)"
    ax.set(xlabel="epoch", ylabel=ylabel, title="fine-tuning through the bench")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
