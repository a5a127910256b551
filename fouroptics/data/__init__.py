"""Datasets: MNIST-format IDX reader, synthetic glyph digits, segmentation canvases."""

from fouroptics.data.folder import load_idx_folder
from fouroptics.data.glyphs import render_glyphs
from fouroptics.data.idx import IDXError, read_idx, write_idx
from fouroptics.data.registry import (
    UnknownDatasetError,
    load_classification,
    load_segmentation,
)
from fouroptics.data.segmentation import make_canvases
from fouroptics.data.types import ClassificationData, SegmentationData

__all__ = [
    "ClassificationData",
    "IDXError",
    "SegmentationData",
    "UnknownDatasetError",
    "load_classification",
    "load_idx_folder",
    "load_segmentation",
    "make_canvases",
    "read_idx",
    "render_glyphs",
    "write_idx",
]
