"""What an op declares for the hosts that run it, so no host names an op.

- `FileParam`: a param that names a file, and the folder it must stay inside. A server
  confines it (no name leaves its folder), a UI lists the folder's files as its choices
  (plus the op's built-in names, and the names `derived` finds from other files), a
  planner fingerprints it.
- `Cost`: the size of the work a node asks for (pixels, steps, batch), so a host can refuse
  a document over its limits before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .paths import Folders


@dataclass(frozen=True)
class FileParam:
    """Param `param` names a file in `folder`: "input", "output" or "models/<kind>"."""

    param: str
    folder: str
    builtin: tuple[str, ...] = ()  # names that resolve without a file (built-in models)
    suffixes: tuple[str, ...] = ()  # file kinds a UI offers as choices (any when empty)
    template: str = "{}"  # the file name made from the value (an output prefix → a file)
    # names that stand for files elsewhere, offered only while `derived(folders)` finds them
    derived: Callable[[Folders], Sequence[str]] | None = None

    def file_name(self, value: str) -> str:
        return self.template.format(value)


@dataclass(frozen=True)
class Cost:
    """What one node asks for; hosts compare each figure with their limits."""

    pixels: int = 0  # the largest image area (width × height) it makes or reads
    steps: int = 0  # sampling steps
    batch: int = 0  # images in a batch

    def items(self) -> list[tuple[str, int]]:
        return [("pixels", self.pixels), ("steps", self.steps), ("batch", self.batch)]
