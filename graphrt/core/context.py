"""What the executor hands an op that asks for it: progress, interrupt, settings, folders.

An op opts in by declaring a keyword-only parameter `ctx: OpContext` (without a default):
the executor always injects it. Code that calls an op outside a run (a unit test) passes
`OpContext.detached(...)`, which reports nowhere and never interrupts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import Cancelled
from .paths import Folders
from .settings import RunSettings


class HasDocument(Protocol):
    """What a context reads the run's document from (a Plan)."""

    @property
    def document(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class _Given:
    document: Mapping[str, Any]


@dataclass(frozen=True)
class OpContext:
    """Per-node services for an op: progress ticks (which check for interrupts), the run's
    settings (device, dtype), the configured folders, and the document being run."""

    node: str = ""
    op: str = ""
    settings: RunSettings = field(default_factory=RunSettings)
    folders: Folders = field(default_factory=Folders)
    plan: HasDocument | None = None
    interrupt: threading.Event = field(default_factory=threading.Event)
    on_progress: Callable[[int, int, Any], None] | None = None
    on_warning: Callable[[str], None] | None = None

    @classmethod
    def detached(cls, *, document: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> OpContext:
        """A context for calling an op outside a run (CPU, fp32 unless given); `document`
        is what `ctx.document` returns."""
        return cls(plan=_Given(document) if document is not None else None, **kwargs)

    @property
    def document(self) -> Mapping[str, Any] | None:
        """The document being run, with its args and overrides (built on first use)."""
        return self.plan.document if self.plan is not None else None

    @property
    def device(self) -> str:
        """The torch device the op computes on."""
        return self.settings.device

    @property
    def dtype(self) -> str:
        """The dtype of model weights on that device ("fp32", "fp16", "bf16")."""
        return self.settings.dtype

    def check_interrupt(self) -> None:
        """Raise `Cancelled` if the run was asked to stop."""
        if self.interrupt.is_set():
            raise Cancelled(f"interrupted in node {self.node!r}")

    def progress(self, step: int, total: int, preview: Any = None) -> None:
        """Report step `step` of `total`; stops the op here if the run was interrupted."""
        if self.on_progress is not None:
            self.on_progress(step, total, preview)
        self.check_interrupt()

    def warn(self, message: str) -> None:
        """Report something the user should know that does not stop the op (a `NodeWarning`
        event in a run; the "graphrt" logger when detached)."""
        if self.on_warning is not None:
            self.on_warning(message)
        else:
            logging.getLogger("graphrt").warning("%s: %s", self.node or self.op, message)

    def output_dir(self) -> Path:
        return self.folders.output
