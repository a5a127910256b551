"""The compiler: trained SCLC models or user kernels -> Fourier-plane masks for real SLMs.

``compile_model(run_dir, system, encoding=...)`` and ``compile_kernels(kernels, system, ...)``
return a :class:`MaskBundle` (HDF5 through :mod:`fouroptics.io.h5`). May import optics, nn and
io; never devices/ or calibration/ (the CLI shell builds an :class:`SLMModel` from a device
profile or a calibration and passes it in).
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
