"""A run's images sharded across processes (``torchrun``): which capture batches a rank
measures, and the bench clock of those it skips.

The images are cut into the batches one process would capture (``batch`` images each, from
the start), and rank ``r`` of ``N`` measures a contiguous block of them (rank 0 the first, so
it holds the example frame). Every rank steps its simulated bench's clock through every batch,
in order (:meth:`devices.simulated.bench.SimulatedBench.advance_batch` for the batches it skips):
each batch is captured at the clock time of the single process, so a drifting or flickering
bench gives the same frames. With the noise drawn per image (:mod:`devices.run.streams`), the
features are those of one process. :func:`fouroptics.distributed.gather` brings the blocks
together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shard:
    """This process's share of a run.

    Attributes:
        rank: this process, ``0 .. world - 1``.
        world: the number of processes.
        gather: every rank's object, in rank order, from a function run on this rank
            (:func:`fouroptics.distributed.gather`).
    """

    rank: int
    world: int
    gather: Callable[..., list[Any]]

    def __post_init__(self) -> None:
        if not 0 <= self.rank < self.world:
            raise ValueError(f"Shard: rank {self.rank} of {self.world}")

    def batches(self, n_batches: int) -> range:
        """The batches (indices ``0 .. n_batches - 1``) this rank captures: a contiguous
        block, the first ``n_batches % world`` ranks one more."""
        per, extra = divmod(n_batches, self.world)
        start = self.rank * per + min(self.rank, extra)
        return range(start, start + per + (self.rank < extra))


def skip_batch(bench: Any, n_images: int, n_frames: int, n_average: int) -> None:
    """Step ``bench``'s clock past a batch another rank captures (as the capture would)."""
    advance = getattr(bench, "advance_batch", None)
    if advance is not None:
        advance(n_images, n_frames, n_average)
