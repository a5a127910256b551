"""Command-line verbs of the physics core (demo, simulate)."""
