"""Device interface: SLMs, cameras, simulated devices, hardware adapters and the Bench."""
