"""Real hardware through slmsuite (extra ``hardware``): wrap any slmsuite SLM or camera.

slmsuite ships drivers for many vendors (Holoeye, Meadowlark, Santec, Hamamatsu, Thorlabs,
TI DMD/PLM; Allied Vision, Basler, FLIR, Thorlabs, Xenics, ... cameras). These adapters put
them behind :class:`devices.interface.SLM` / :class:`devices.interface.Camera`, so our
validation, errors and bit-depth handling apply. slmsuite is imported lazily: the rest of
``devices`` works without it.

Gray levels go to slmsuite as integer data of its own dtype, which slmsuite passes straight to
the driver (no phase conversion, no wavefront correction, no sign flip).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from typing import Any

import numpy as np

from devices.interface import SLM, Camera, Modulation
from devices.interface.errors import DeviceError, DeviceTimeout, InvalidSetting
from devices.interface.hooks import as_device_error

_MODULES = {
    "slm": "slmsuite.hardware.slms",
    "camera": "slmsuite.hardware.cameras",
}


def require_slmsuite() -> Any:
    """Import slmsuite, or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module("slmsuite")
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "slmsuite is not installed; install the hardware extra: "
            "pip install 'fouroptics[hardware]'"
        ) from exc


def find_class(kind: str, class_name: str) -> type:
    """Find an slmsuite SLM or camera class by name (e.g. ``"SimulatedSLM"``, ``"Basler"``).

    Searches the modules of ``slmsuite.hardware.slms`` (kind ``"slm"``) or
    ``slmsuite.hardware.cameras`` (kind ``"camera"``); a dotted name
    (``"holoeye.Holoeye"``) selects the module directly.
    """
    require_slmsuite()
    package = _MODULES[kind]
    if "." in class_name:
        module_name, _, attr = class_name.rpartition(".")
        candidates = [f"{package}.{module_name}"]
    else:
        attr = class_name
        pkg = importlib.import_module(package)
        candidates = [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
        # try the obvious module first: SimulatedSLM -> simulated, Basler -> basler
        guess = f"{package}.{class_name.lower().replace('slm', '').replace('camera', '')}"
        candidates.sort(key=lambda m: (not m.startswith(guess), m))
    tried = []
    for module_name in candidates:
        try:
            with warnings.catch_warnings():  # vendor modules warn when their SDK is missing
                warnings.simplefilter("ignore")
                module = importlib.import_module(module_name)
        except Exception:  # vendor SDK missing: that module cannot hold our class
            tried.append(module_name)
            continue
        cls = getattr(module, attr, None)
        if isinstance(cls, type):
            return cls
    raise DeviceError(
        f"slmsuite:{class_name}",
        f"no slmsuite {kind} class named {attr!r}",
        f"use a class from {package} (modules that failed to import: {tried or 'none'})",
    )


def keywords(cls: type) -> tuple[list[str], bool]:
    """The keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up its bases.

    Returns:
        ``(names, open_ended)``: ``open_ended`` is True when some ``__init__`` forwards
        ``**kwargs`` beyond the class's own bases (then the list may be incomplete).
    """
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]  # skip self
        except (TypeError, ValueError):  # builtins without a signature
            return names, True
        names += [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return list(dict.fromkeys(names)), False
    return list(dict.fromkeys(names)), True


def construct(kind: str, class_name: str, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)`` for the slmsuite class ``class_name``, with errors that say which.

    Raises:
        InvalidSetting: a wrong argument (unknown keyword, missing or bad value): the
            TypeError/ValueError slmsuite raised, with the unknown keywords named.
        DeviceDisconnected: the device could not be reached (ConnectionError and the like).
        DeviceError: any other failure while opening the device.
    """
    cls = find_class(kind, class_name)
    device = f"slmsuite:{class_name}"
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        accepted, open_ended = keywords(cls)
        unknown = [k for k in kwargs if k not in accepted]
        if unknown and not open_ended:
            problem = f"unknown argument(s) {unknown} ({exc})"
        else:
            problem = f"bad arguments {sorted(kwargs)}: {exc}"
        raise InvalidSetting(
            device, problem, f"{cls.__name__} accepts: {', '.join(accepted) or 'no arguments'}"
        ) from exc
    except Exception as exc:  # vendor SDK errors: not connected, no licence, ...
        raise as_device_error(exc, device, "open the device") from exc


class SlmsuiteSLM(SLM):
    """Our SLM interface around an slmsuite SLM instance.

    Args:
        slm: an ``slmsuite.hardware.slms.slm.SLM`` (any vendor driver or its SimulatedSLM).
        modulation: what the device modulates (slmsuite SLMs are mostly phase).
        lut: believed response per gray level (see :class:`devices.interface.SLM`).
        name: label (default: slmsuite's name).
    """

    def __init__(
        self,
        slm: Any,
        modulation: Modulation = "phase",
        lut: np.ndarray | None = None,
        name: str | None = None,
    ) -> None:
        pitch_um = np.atleast_1d(np.asarray(slm.pitch_um, dtype=float))
        super().__init__(
            tuple(slm.shape),
            float(pitch_um.max()) * 1e-6,
            bit_depth=int(slm.bitdepth),
            modulation=modulation,
            lut=lut,
            name=name or getattr(slm, "name", None),
        )
        self.slmsuite = slm

    def _display_hw(self, levels: np.ndarray) -> None:
        target = np.dtype(self.slmsuite.display.dtype)
        self.slmsuite.set_phase(levels.astype(target, copy=False), settle=True)

    def _close_hw(self) -> None:
        self.slmsuite.close()


class SlmsuiteCamera(Camera):
    """Our Camera interface around an slmsuite camera instance.

    Args:
        camera: an ``slmsuite.hardware.cameras.camera.Camera``.
        pitch: metres; default from slmsuite's ``pitch_um`` (required if that is unset).
        exposure_limits: seconds; default slmsuite's ``exposure_bounds_s`` or (1 us, 10 s).
        msb_aligned: the driver returns left-justified samples (see :class:`Camera`).
        timeout: default capture timeout in seconds.
        name: label (default: slmsuite's name).
    """

    def __init__(
        self,
        camera: Any,
        pitch: float | None = None,
        exposure_limits: tuple[float, float] | None = None,
        msb_aligned: bool = False,
        timeout: float = 5.0,
        name: str | None = None,
    ) -> None:
        if pitch is None:
            pitch_um = getattr(camera, "pitch_um", None)
            if pitch_um is None:
                raise DeviceError(
                    f"slmsuite camera {getattr(camera, 'name', type(camera).__name__)!r}",
                    "its pixel pitch is unknown",
                    "pass pitch= (metres) or pitch_um to the slmsuite camera",
                )
            pitch = float(np.max(np.atleast_1d(pitch_um))) * 1e-6
        if exposure_limits is None:
            exposure_limits = getattr(camera, "exposure_bounds_s", None) or (1e-6, 10.0)
        super().__init__(
            tuple(camera.shape),
            pitch,
            bit_depth=int(camera.bitdepth),
            exposure_limits=tuple(exposure_limits),
            timeout=timeout,
            msb_aligned=msb_aligned,
            name=name or getattr(camera, "name", None),
        )
        self.slmsuite = camera

    def _capture_hw(self, n_frames: int, timeout: float) -> np.ndarray:
        """Raw frames: no HDR, no software averaging (whatever the slmsuite camera's defaults),
        so every frame is one exposure in the sensor's DN. slmsuite adds the exposure to its
        per-frame ``timeout_s``; the budget is split so the total stays ``timeout``."""
        cam = self.slmsuite
        exposure = float(getattr(cam, "exposure_s", 0.0) or 0.0)
        per_frame = max(timeout / n_frames - exposure, 1e-3)
        try:
            if n_frames == 1:
                frame = cam.get_image(timeout_s=per_frame, hdr=False, averaging=False)
                return np.asarray(frame)[None]
            return np.asarray(cam.get_images(n_frames, timeout_s=per_frame))
        except TimeoutError as exc:
            raise DeviceTimeout(
                self.label,
                f"slmsuite timed out after {timeout:g} s ({exc})",
                "check the trigger and exposure, or raise the timeout",
            ) from exc

    def _get_exposure_hw(self) -> float:
        return float(self.slmsuite.get_exposure())

    def _set_exposure_hw(self, seconds: float) -> None:
        self.slmsuite.set_exposure(seconds)

    def _recover_hw(self) -> None:
        try:
            self.slmsuite.flush()
        except (NotImplementedError, TimeoutError):  # nothing to flush (e.g. triggered mode)
            pass

    def _close_hw(self) -> None:
        self.slmsuite.close()


def make_slm(
    class_name: str, modulation: Modulation = "phase", lut=None, name=None, **kwargs: Any
) -> SlmsuiteSLM:
    """Construct ``slmsuite.<...>.<class_name>(**kwargs)`` and wrap it."""
    return SlmsuiteSLM(
        construct("slm", class_name, kwargs), modulation=modulation, lut=lut, name=name
    )


def make_camera(
    class_name: str,
    pitch: float | None = None,
    exposure_limits=None,
    msb_aligned: bool = False,
    timeout: float = 5.0,
    name=None,
    **kwargs: Any,
) -> SlmsuiteCamera:
    """Construct ``slmsuite.<...>.<class_name>(**kwargs)`` and wrap it.

    A ``slm`` keyword that is a :class:`SlmsuiteSLM` is unwrapped (slmsuite's SimulatedCamera
    renders the far field of an slmsuite SLM).
    """
    if isinstance(kwargs.get("slm"), SlmsuiteSLM):
        kwargs["slm"] = kwargs["slm"].slmsuite
    return SlmsuiteCamera(
        construct("camera", class_name, kwargs),
        pitch=pitch,
        exposure_limits=exposure_limits,
        msb_aligned=msb_aligned,
        timeout=timeout,
        name=name,
    )
