"""Noise streams per image: the simulated camera noise of an image depends on its index and the
seed only, never on the batch it is captured in, the process that captures it or the number of
processes (a run sharded across ``torchrun`` ranks gives one process's numbers).

Image ``i`` of a measurement draws from ``SeedSequence(seed, spawn_key=(*stream, part, step,
i))``: ``stream`` numbers the measurements of one model (:class:`devices.run.OpticalModel`),
``part`` says what is captured (:data:`IMAGES`, :data:`PROBE` for the exposure's probes,
:data:`REFERENCE` for the photometry's reference images) and ``step`` numbers the probes.

A batched capture (:mod:`devices.simulated.batched`) draws its whole batch through the two
methods of a numpy Generator it uses, ``poisson`` and ``standard_normal``, on arrays whose first
axis runs over the batch's images (image-major, as the capture lays them out):
:class:`GroupedGenerator` gives each image's rows to that image's own generator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fouroptics.errors import ConfigError

#: the parts of a measurement, each with its own streams
IMAGES, PROBE, REFERENCE = 0, 1, 2


class GroupedGenerator:
    """The draws of a batch of images, each image's rows from its own generator.

    Args:
        generators: one numpy Generator per image of the batch, in batch order.
    """

    def __init__(self, generators: Sequence[np.random.Generator]) -> None:
        self.generators = list(generators)

    def _rows(self, n: int) -> int:
        b = len(self.generators)
        if b == 0 or n % b:
            raise ValueError(f"GroupedGenerator: {n} rows do not split over {b} images")
        return n // b

    def poisson(self, lam: np.ndarray) -> np.ndarray:
        """Poisson draws (N, ...) int64 of means ``lam`` (N, ...), N a multiple of the images:
        image ``j`` draws rows ``j * N / B .. (j + 1) * N / B``."""
        lam = np.asarray(lam)
        k = self._rows(lam.shape[0])
        out = np.empty(lam.shape, dtype=np.int64)
        for j, gen in enumerate(self.generators):  # per image: each has its own stream
            out[j * k : (j + 1) * k] = gen.poisson(lam[j * k : (j + 1) * k])
        return out

    def standard_normal(self, shape: int | tuple[int, ...]) -> np.ndarray:
        """Standard normal draws of ``shape`` (N, ...) float64, split over the images as
        :meth:`poisson` splits them."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        k = self._rows(shape[0])
        out = np.empty(shape)
        for j, gen in enumerate(self.generators):
            out[j * k : (j + 1) * k] = gen.standard_normal((k, *shape[1:]))
        return out


class ImageStreams:
    """The noise streams of one measurement: image ``i`` of ``part`` draws from its own
    generator, seeded by ``(seed, *stream, part, step, i)``.

    Args:
        seed: the run's noise seed (an integer >= 0).
        stream: numbers this measurement among a model's measurements (() for none).
    """

    def __init__(self, seed: int, stream: tuple[int, ...] = ()) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"noise seed: got {seed!r}; expected an integer >= 0")
        self.seed = int(seed)
        self.stream = tuple(int(s) for s in stream)

    def generator(self, index: int, part: int = IMAGES, step: int = 0) -> np.random.Generator:
        """The generator of image ``index`` of ``part`` (probe ``step``)."""
        key = (*self.stream, int(part), int(step), int(index))
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))

    def batch(self, start: int, stop: int, part: int = IMAGES, step: int = 0) -> GroupedGenerator:
        """The draws of images ``start .. stop - 1`` captured in one batch."""
        return GroupedGenerator([self.generator(i, part, step) for i in range(start, stop)])
