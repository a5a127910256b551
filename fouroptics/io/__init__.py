"""Files: HDF5 containers for masks, bundles and calibrations."""

from fouroptics.io.h5 import FileFormatError, read_h5, write_h5

__all__ = ["FileFormatError", "read_h5", "write_h5"]
