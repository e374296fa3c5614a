"""graphrt's engine: documents, checking, expansion, planning, keys, stores and execution.

Nothing here knows about diffusion, ComfyUI or front ends, and nothing imports torch (see
ARCHITECTURE.md). Op libraries build on `op`, `macro`, the generic port types and the
registry; hosts build on `Runtime` (or `pipeline.Preparer` and `execute.Execution`).
"""
