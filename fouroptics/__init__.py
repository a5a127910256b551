"""fouroptics: physics, learning and the compiler for optical CNNs on a 4f correlator."""

__version__ = "0.1.0"
