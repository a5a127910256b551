"""A simulated bench's clock: seconds since the bench was built.

Time passes with every SLM refresh (each :meth:`~devices.interface.slm.SLM.display` takes one
refresh period, 1 / the SLM's frame rate: its profile's ``frame_rate``), every camera exposure
(``n_frames * (exposure + readout_time)``, counted by the simulated camera), every batched
capture (:meth:`BenchClock.advance` with the frames it stands for) and idle time
(``bench.advance(seconds)``). Devices run one after another: the periods add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class BenchClock:
    """Seconds since the bench was built, from its devices' counters and idle time.

    Args:
        slms: ``(slm, refresh_hz)`` pairs; an SLM's ``version`` counts its displays.
        cameras: simulated cameras; their ``exposed_s`` counts their exposure time.
    """

    def __init__(self, slms: Sequence[tuple[Any, float]], cameras: Sequence[Any]) -> None:
        for _, hz in slms:
            if not hz > 0:
                raise ValueError(f"bench clock: SLM refresh rate {hz!r} Hz; expected > 0")
        self._slms = [(slm, float(hz), slm.version) for slm, hz in slms]
        self._cams = [(cam, cam.exposed_s) for cam in cameras]
        self._idle = 0.0

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` (>= 0) pass: idle time, or the frames of a batched capture."""
        if not seconds >= 0:
            raise ValueError(f"bench.advance: got {seconds!r} s; expected seconds >= 0")
        self._idle += float(seconds)

    @property
    def t(self) -> float:
        """Seconds since the bench was built."""
        refreshes = sum((slm.version - v0) / hz for slm, hz, v0 in self._slms)
        exposed = sum(cam.exposed_s - e0 for cam, e0 in self._cams)
        return self._idle + refreshes + exposed
