"""Build models from plain config dicts (saved next to the weights, so a model reloads)."""

from __future__ import annotations

from typing import Any

from torch import nn

from fouroptics.errors import ConfigError
from fouroptics.nn.detection import Detection, optical_channels
from fouroptics.nn.head import ClassifierHead, SegmentationHead
from fouroptics.nn.sclc import SCLC, SpectralStack
from fouroptics.nn.teacher import TeacherCNN, TeacherSegNet

MODEL_KINDS = ("teacher", "sclc", "seg_teacher", "seg_sclc")


def teacher_config(resolution: int = 28, classes: int = 10, widths=(32, 64)) -> dict[str, Any]:
    return {"kind": "teacher", "resolution": resolution, "classes": classes, "widths": list(widths)}


def sclc_config(
    resolution: int = 28,
    classes: int = 10,
    channels=(16, 32),
    detection: str = "ideal",
    pool: int = 7,
    hidden: int = 64,
    dc_free: bool = False,
) -> dict[str, Any]:
    """Classification SCLC: spectral layers at ``resolution``, spectral pooling by 2 after the
    last one, detection, then the head (average pooling to ``pool x pool`` and an MLP).
    ``dc_free``: kernels with no DC response (:class:`~fouroptics.nn.sclc.SpectralStack`)."""
    sizes = [resolution] * len(channels) + [resolution // 2]
    return {
        "kind": "sclc",
        "resolution": resolution,
        "classes": classes,
        "channels": list(channels),
        "sizes": sizes,
        "detection": detection,
        "pool": pool,
        "hidden": hidden,
        "dc_free": bool(dc_free),
    }


def seg_teacher_config(classes: int = 11, width: int = 8) -> dict[str, Any]:
    return {"kind": "seg_teacher", "classes": classes, "width": width}


def seg_sclc_config(
    resolution: int = 64,
    classes: int = 11,
    channels=(16, 32),
    detection: str = "ideal",
    dc_free: bool = False,
) -> dict[str, Any]:
    """Segmentation SCLC: spectral layers at ``resolution``, pooled by 2, per-pixel head, 2x up."""
    cfg = sclc_config(resolution, classes, channels, detection, dc_free=dc_free)
    cfg.update(kind="seg_sclc", hidden=32)
    return cfg


def build_model(config: dict[str, Any], seed: int = 0) -> nn.Module:
    """Instantiate the model a config describes (weights initialized from ``seed``)."""
    import torch

    kind = config.get("kind")
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; allowed: {', '.join(MODEL_KINDS)}")
    # nn.Module default inits draw from the global generator: fork it so nothing leaks out.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "teacher":
            return TeacherCNN(1, config["classes"], tuple(config["widths"]), config["resolution"])
        if kind == "seg_teacher":
            return TeacherSegNet(1, config["classes"], config["width"])
        feats = config["channels"][-1]
        chans = [1, *config["channels"][:-1], optical_channels(feats, config["detection"])]
        optics = SpectralStack(
            chans, config["sizes"], seed=seed, dc_free=config.get("dc_free", False)
        )
        if kind == "sclc":
            head: nn.Module = ClassifierHead(
                feats, config["classes"], config["pool"], config["hidden"]
            )
        else:
            up = config["sizes"][0] // config["sizes"][-1]
            head = SegmentationHead(feats, config["classes"], config["hidden"], up)
        return SCLC(optics, Detection(config["detection"]), head)
