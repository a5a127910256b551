"""The compiler: trained SCLC models or user kernels -> Fourier-plane masks for real SLMs.

``compile_model(run_dir, system, encoding=...)`` and ``compile_kernels(kernels, system, ...)``
return a :class:`MaskBundle` (HDF5 through :mod:`fouroptics.io.h5`). May import optics, nn and
io; never devices/ or calibration/ (the CLI shell builds an :class:`SLMModel` from a device
profile or a calibration and passes it in).

Usage (a bench, simulated or real, runs the same recipe frame by frame)::

    bundle = compile_model("runs/sclc", FourFSystem.from_yaml("examples/systems/realistic.yaml"))
    bundle.save("out/bundle.h5")
    bundle = MaskBundle.load("out/bundle.h5", system=system)   # refuses another system
    t = bundle.input_transmission(images)        # (B, H_in, W_in) in [0, 1], every frame
    masks = bundle.fourier_masks                  # (F, H_F, W_F); drive levels: fourier_levels
    frames = bundle.camera_frames(images)         # noise-free (B, F, H_cam, W_cam), W
    features = bundle.readout(frames)             # (or DN: readout(dn, gain=K, offset=dark))
    logits = bundle.head()(torch.as_tensor(features, dtype=torch.float32))
"""

from fouroptics.compiler.bundle import MaskBundle
from fouroptics.compiler.compile import Program, compile_kernels, compile_model, compile_program
from fouroptics.compiler.encodings import ENCODINGS
from fouroptics.compiler.slm import SLMModel

__all__ = [
    "ENCODINGS",
    "MaskBundle",
    "Program",
    "SLMModel",
    "compile_kernels",
    "compile_model",
    "compile_program",
]
