"""Simulated devices in one import: SimulatedSLM, SimulatedCamera, SimulatedBench."""

from devices.simulated.bench import Imperfections, SimulatedBench
from devices.simulated.camera import SimulatedCamera
from devices.simulated.slm import SimulatedSLM

__all__ = ["Imperfections", "SimulatedBench", "SimulatedCamera", "SimulatedSLM"]
