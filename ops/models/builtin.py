"""The names of the built-in (toy) checkpoints: the one place that lists them. Importing
this module imports nothing else (no torch)."""

from __future__ import annotations

TOY_MODELS = ("toy-shapes", "toy-shapes-refiner")  # built in; resolve by name anywhere
