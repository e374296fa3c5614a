"""graphrt's engine: documents, checking, expansion, planning, keys, stores and execution.

Nothing here knows about diffusion, other tools' formats or front ends; nothing imports torch (see
ARCHITECTURE.md). Op libraries build on `op`, `macro`, the generic port types and the
registry; hosts build on `Runtime` (or `pipeline.Preparer` and `execute.Execution`).
"""
