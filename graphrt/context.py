"""What the executor hands an op that asks for it: progress, interrupt, device, folders.

An op opts in by declaring a keyword-only parameter `ctx: OpContext`. Called directly (in a
unit test), it gets `OpContext.detached()`, which reports nowhere and never interrupts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Cancelled
from .paths import Folders


@dataclass
class OpContext:
    """Per-node services for an op: progress ticks (which check for interrupts), the device,
    the configured folders, the document being run, and a model-call counter."""

    node: str = ""
    op: str = ""
    device_setting: str = "cpu"
    folders: Folders = field(default_factory=Folders)
    document: dict[str, Any] | None = None
    args: dict[str, Any] = field(default_factory=dict)
    interrupt: threading.Event = field(default_factory=threading.Event)
    on_progress: Callable[[int, int, Any], None] | None = None
    model_calls: int = 0

    @classmethod
    def detached(cls, **kwargs: Any) -> OpContext:
        """A context for calling an op outside a run."""
        return cls(**kwargs)

    @property
    def device(self) -> str:
        """The torch device ops should compute on ("auto" resolves to cuda when present)."""
        if self.device_setting == "auto":
            import torch  # deferred: the core never imports torch at import time

            self.device_setting = "cuda" if torch.cuda.is_available() else "cpu"
        return self.device_setting

    def check_interrupt(self) -> None:
        """Raise `Cancelled` if the run was asked to stop."""
        if self.interrupt.is_set():
            raise Cancelled(f"interrupted in node {self.node!r}")

    def progress(self, step: int, total: int, preview: Any = None) -> None:
        """Report step `step` of `total`; stops the op here if the run was interrupted."""
        if self.on_progress is not None:
            self.on_progress(step, total, preview)
        self.check_interrupt()

    def count_model_calls(self, n: int) -> None:
        """Add `n` model evaluations to this node's tally."""
        self.model_calls += n

    def output_dir(self) -> Path:
        return self.folders.output
