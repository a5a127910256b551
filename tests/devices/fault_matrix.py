"""Acceptance figures for device faults (issue 7): tried / clear error / traceback / silent
wrong / crash-hang per category. Not a test; run from the repository root:

    PYTHONPATH=$PWD:$PWD/tests/devices python tests/devices/fault_matrix.py

Each trial runs in a thread joined after 3 s (else: a hang). "clear error" means a
FouropticsError of the expected kind naming the device (or, for Ctrl-C, KeyboardInterrupt after
the abort hook ran).
"""

from __future__ import annotations

import collections
import copy
import logging
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
from faulty import CONNECTION_LOSSES, EXCEPTIONS, MALFORMED_FRAMES, FaultyCamera, FaultySLM

import devices.interface.errors as E
from devices.config import load_bench
from fouroptics.errors import FouropticsError

HANG = 3.0
ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ("tried", "clear error", "traceback", "silent wrong", "crash-hang")
table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
to_release: list = []


def run(fn: Callable[[], object]) -> tuple[str, object]:
    box: dict[str, object] = {}

    def target():
        try:
            box["ret"] = fn()
        except BaseException as exc:  # noqa: BLE001 - classified below
            box["exc"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG)
    if thread.is_alive():
        return "hang", None
    return ("exc", box["exc"]) if "exc" in box else ("ret", box.get("ret"))


def record(cat: str, kind: str, val: object, ok: Callable[[BaseException], bool], label: str):
    table[cat]["tried"] += 1
    if kind == "hang":
        column = "crash-hang"
    elif kind == "ret":
        column = "silent wrong"
    elif isinstance(val, FouropticsError) and label in str(val) and ok(val):
        column = "clear error"
    else:
        column = "traceback"
    table[cat][column] += 1
    if column != "clear error":
        print(f"  {cat}: {column}: {val!r}"[:200])


def camera() -> FaultyCamera:
    cam = FaultyCamera()
    cam.hook_timeout = cam.timeout = 0.2
    to_release.append(cam.faults)
    return cam


def slm(**kw) -> FaultySLM:
    dev = FaultySLM(**kw)
    dev.hook_timeout = 0.2
    to_release.append(dev.faults)
    return dev


def expected(exc: str) -> Callable[[BaseException], bool]:
    if exc in CONNECTION_LOSSES:
        return lambda e: isinstance(e, E.DeviceDisconnected)
    if exc == "TimeoutError":
        return lambda e: isinstance(e, E.DeviceTimeout)
    return lambda e: isinstance(e, E.DeviceError) and not isinstance(e, E.DeviceDisconnected)


def is_device_error(e: BaseException) -> bool:
    return isinstance(e, E.DeviceError)


def capture_faults() -> None:
    cat = "capture/timeouts"
    faults = [("raise", x) for x in EXCEPTIONS] + [("block", ""), ("interrupt", "")]
    for kind, arg in faults + [("malformed", m) for m in MALFORMED_FRAMES]:
        cam = camera()
        if kind == "raise":
            cam.faults.inject("_capture_hw", kind, exc=arg)
        else:
            cam.faults.inject("_capture_hw", kind, malformed=arg or "shape")
        how, val = run(cam.capture)
        if kind == "interrupt":
            table[cat]["tried"] += 1
            good = isinstance(val, KeyboardInterrupt) and getattr(cam, "aborts", 0) >= 1
            table[cat]["clear error" if good else "traceback"] += 1
            continue
        ok = expected(arg) if kind == "raise" else is_device_error
        if kind == "block":
            ok = lambda e: isinstance(e, E.DeviceTimeout)  # noqa: E731
        record(cat, how, val, ok, cam.label)


def hook_faults() -> None:
    ops = [
        ("_display_hw", slm, lambda d: d.display(np.zeros(d.shape, int))),
        ("_set_exposure_hw", camera, lambda d: d.set_exposure(1e-3)),
        ("_get_exposure_hw", camera, lambda d: d.exposure),
    ]
    for hook, make, op in ops:
        faults = [("raise", x) for x in EXCEPTIONS] + [("block", "")]
        if hook == "_get_exposure_hw":
            faults += [("malformed", m) for m in ("shape", "float", "range", "none")]
        for kind, arg in faults:
            dev = make()
            if kind == "raise":
                dev.faults.inject(hook, kind, exc=arg)
                ok = expected(arg)
            else:
                dev.faults.inject(hook, kind, malformed=arg or "shape")
                ok = is_device_error
                if kind == "block":
                    ok = lambda e: isinstance(e, E.DeviceTimeout)  # noqa: E731
            how, val = run(lambda dev=dev, op=op: op(dev))
            record("hook exceptions", how, val, ok, dev.label)


def close_recover_faults() -> None:
    cat = "close/recover"
    for hook in ("_close_hw", "_recover_hw", "_abort_hw"):
        for kind, arg in [("raise", x) for x in EXCEPTIONS] + [("block", "RuntimeError")]:
            cam = camera()
            cam.faults.inject(hook, kind, exc=arg, times=None)
            if hook != "_close_hw":  # a timeout, then abort/recover fail: still the timeout
                cam.faults.inject("_capture_hw", "raise", exc="TimeoutError")
                how, val = run(cam.capture)
                record(cat, how, val, lambda e: isinstance(e, E.DeviceTimeout), cam.label)
                continue
            how, val = run(cam.close)
            if how == "exc" and cam.closed != (not cam.handle_open):
                how, val = "ret", f"closed={cam.closed} but handle_open={cam.handle_open}"
            record(cat, how, val, is_device_error, cam.label)


def value_faults() -> None:
    cam, phase, amp = camera(), slm(), slm(modulation="amplitude")
    trials: list[tuple[Callable[[], object], str]] = []
    for bad in (True, False, "1 ms", "0.001", None, np.nan, np.inf, -1.0, 0.0, 20.0, [1e-3], 1j):
        trials.append((lambda b=bad: setattr(cam, "exposure", b), cam.label))
    for bad in (True, "1", 0.0, -1.0, np.inf, np.nan, [1.0]):
        trials.append((lambda b=bad: cam.capture(timeout=b), cam.label))
    for bad in (0, -1, 1.5, True, "2", None):
        trials.append((lambda b=bad: cam.capture(b), cam.label))
    nan, inf = np.zeros((4, 6)), np.zeros((4, 6))
    nan[0, 0], inf[1, 1] = np.nan, np.inf
    for target, dev in (
        (nan, phase),
        (inf, phase),
        (-inf, phase),
        (np.full((4, 6), 1.5), amp),
        (np.full((4, 6), -0.5), amp),
        (nan.astype(complex), phase),
    ):
        trials.append((lambda t=target, d=dev: d.display_values(t), dev.label))
    for fn, label in trials:
        how, val = run(fn)
        ok = lambda e: isinstance(e, E.DeviceError) and isinstance(e, ValueError)  # noqa: E731
        record("values/settings", how, val, ok, label)


def bench_yaml_faults() -> None:
    cfg = yaml.safe_load((ROOT / "examples/benches/slmsuite_simulated.yaml").read_text())
    load_bench(copy.deepcopy(cfg)).close()  # warm up the slmsuite imports (seconds)
    lab = Path(tempfile.mkdtemp()) / "lab.yaml"
    cases = [
        (lambda c: c["camera"]["args"].update(gian=4), "gian"),
        (lambda c: c["fourier_slm"]["args"].update(bitdepht=8), "bitdepht"),
        (lambda c: c["input_slm"].update(args={"pitch_um": [8, 8]}), "resolution"),
        (lambda c: c["input_slm"]["args"].update(resolution="abc"), "resolution"),
        (
            lambda c: c["input_slm"].update(name="a", args={**c["input_slm"]["args"], "name": 1}),
            "name",
        ),
        (lambda c: c.update(input_slm={"driver": "simulated"}), "simulated"),
        (lambda c: c.update(camera={"driver": "simulated"}), "simulated"),
        (lambda c: c["camera"].update(exposure=True), "exposure"),
        (lambda c: c["camera"].update(driver="slmsuite:NoSuchCam"), "NoSuchCam"),
    ]
    for edit, word in cases:
        bad = copy.deepcopy(cfg)
        edit(bad)
        lab.write_text(yaml.safe_dump(bad))
        how, val = run(lambda: load_bench(lab))
        if how == "ret":
            val.close()
        record("bench YAML devices", how, val, lambda e, w=word: w in str(e), "bench")


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    for part in (capture_faults, hook_faults, close_recover_faults, value_faults):
        part()
    bench_yaml_faults()
    for faults in to_release:
        faults.release.set()
    print(f"{'category':22s}" + "".join(f"{h:>14s}" for h in COLUMNS))
    for cat, counts in table.items():
        print(f"{cat:22s}" + "".join(f"{counts[h]:14d}" for h in COLUMNS))
