"""Print README's "ComfyUI compatibility" table (from graphrt.compat.comfy.classes: CLASSES and
the classes worked out while translating, FOLDED_CLASSES) and the corpus line (from
tests/corpus/manifest.json).

    .venv/bin/python tools/compat_table.py
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphrt.compat.comfy.classes import (  # noqa: E402
    CLASSES,
    FOLDED_CLASSES,
    REQUIRED,
    NodeClass,
)
from graphrt.compat.comfy.ui import to_api  # noqa: E402


def notes(name: str, cls: NodeClass) -> str:
    """What the row should say besides the op: aliases, output nodes, fixed params."""
    if cls.compute is not None and cls.outputs[0][0] in ("LATENT", "CONDITIONING"):
        return "a muxer: computed while translating, a redirect of the input it selects"
    if cls.compute is not None:
        return "a value: computed while translating, put into the widgets it feeds"
    if cls.compose is not None:
        return f"a composite: translated to the {composed(cls)} node(s) it calls"
    parts = [f"alias of `{other}`" for other, c in CLASSES.items() if c is cls and other != name
             and list(CLASSES).index(other) < list(CLASSES).index(name)]
    if name != name.strip():
        parts.append("the name ends in a space, as ComfyUI registers it")
    if cls.output_node:
        parts.append("output node")
    parts += [f"`{k}={v}`" for k, v in cls.fixed.items()]
    optional = [i.name for i in cls.inputs if i.optional]
    if optional:
        parts.append("optional: " + ", ".join(optional))
    return "; ".join(parts)


def composed(cls: NodeClass) -> str:
    """The classes a composite becomes (probed with placeholder links and its defaults)."""
    assert cls.compose is not None
    probe = {i.name: "x" if i.is_link or i.default is REQUIRED else i.default
             for i in cls.inputs}
    nodes, _ = cls.compose("n", probe)
    return "/".join(f"`{c}`" for c in sorted({n["class_type"] for n in nodes.values()}))


def table() -> list[str]:
    rows = ["| ComfyUI class | native op | notes |", "|---|---|---|"]
    every = {**CLASSES, **FOLDED_CLASSES}
    rows += [f"| `{name}` | {f'`{cls.op}`' if cls.op else '—'} | {notes(name, cls)} |"
             for name, cls in sorted(every.items(), key=lambda kv: kv[0].lower())]
    return rows


def missing(entry: dict) -> set[str]:
    """The classes of an entry's workflow that the class table lacks."""
    doc = json.loads((ROOT / "tests" / "corpus" / "workflows" / entry["file"]).read_text())
    if entry["format"] == "ui":
        _, issues = to_api(doc)
        return {str(i.found) for i in issues if i.field == "class_type"}
    return {n["class_type"] for n in doc.values()
            if n["class_type"] not in CLASSES and n["class_type"] not in FOLDED_CLASSES}


def most(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower()))[:n]


def blocker(expect: dict[str, str]) -> str:
    """What blocks a workflow: a class (or value), or a model file the corpus lacks."""
    return expect.get("blocked_by") or f"a missing file ({expect['blocked_by_file']})"


def corpus() -> str:
    every = json.loads((ROOT / "tests" / "corpus" / "manifest.json").read_text())
    manifest = [e for e in every if "derived_from" not in e]
    derived = [e for e in every if "derived_from" in e]
    lacking = Counter(c for e in manifest for c in missing(e))
    formats = Counter(e["format"] for e in manifest)
    runs = sum(e["expect"] == "runs" for e in manifest)
    blockers = Counter(blocker(e["expect"]) for e in manifest if e["expect"] != "runs")
    repos = len({e["repo"] for e in manifest})
    ignoring = sum("comfyui_ignores" in e for e in manifest)
    top = ", ".join(f"`{name}` {n}" for name, n in most(blockers, 8))
    wanted = ", ".join(f"`{name}` {n}" for name, n in most(lacking, 12))
    return textwrap.fill(
        f"The corpus (`tests/corpus/`): {len(manifest)} real workflows from {repos} public "
        f"repositories ({formats['api']} API format, {formats['ui']} UI format), and "
        f"{len(derived)} API-format twins graphrt derived from UI files of it; {runs} of the "
        f"{len(manifest)} and {sum(e['expect'] == 'runs' for e in derived)} twins run end to "
        "end on the toy models and on tiny real-layout SD 1.x / SDXL checkpoints "
        f"({ignoring} of them with outputs left out as ComfyUI's validation leaves them out: "
        "an output whose inputs are left unconnected is dropped and reported, the rest "
        "run), "
        f"{len(manifest) - runs} are blocked. Blockers as the manifest records them (the "
        f"first class or value each workflow is refused for): {top}. Classes graphrt lacks, "
        f"by the number of corpus workflows that use them: {wanted}.", 95,
        break_on_hyphens=False)

if __name__ == "__main__":
    print("\n".join(table()))
    print()
    print(corpus())
