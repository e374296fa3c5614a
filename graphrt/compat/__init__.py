"""Compatibility with other tools' documents: ComfyUI's API format (`comfy/`) and PNGs that
carry a graph (`png`), offered to the runtime as `formats.FORMATS`. Built on the core; never
imported by it."""
