"""Physics of the 4f correlator: pixel grids, lens transforms, the FourFSystem.

numpy arrays take the fast path (pyFFTW plans cached, all cores); torch tensors take the
differentiable twin. Both give the same numbers (tests hold them to it).
"""

from fouroptics.optics.grids import PixelGrid, axis_coords, crop_centre, embed_centre
from fouroptics.optics.system import FourFSystem, band_window
from fouroptics.optics.validate import FieldError
from fouroptics.units import UnitError

__all__ = [
    "FieldError",
    "FourFSystem",
    "PixelGrid",
    "UnitError",
    "axis_coords",
    "band_window",
    "crop_centre",
    "embed_centre",
]
