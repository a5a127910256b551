"""Simulated devices in one import: SimulatedSLM, SimulatedCamera, SimulatedBench."""

from devices.simulated_bench import Imperfections, SimulatedBench
from devices.simulated_camera import SimulatedCamera
from devices.simulated_slm import SimulatedSLM

__all__ = ["Imperfections", "SimulatedBench", "SimulatedCamera", "SimulatedSLM"]
