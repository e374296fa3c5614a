"""An identical request reuses its plan (digest of document, args, overrides, outputs), as
long as the files its keys fingerprint are unchanged; anything else plans again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from graphrt import OpContext, Params, Runtime, op
from graphrt.core.paths import Folders
from graphrt.core.types import String
from tests.fakeops import FAKE_OPS
from tests.unit.test_scale import chain


class Note(Params):
    name: str = Field(min_length=1)


def _identity(p: Note, folders: Folders) -> Any:
    return (folders.input / p.name).read_text()


@op("test.note", fingerprint=_identity)
def note(p: Note, *, ctx: OpContext) -> String:
    return (ctx.folders.input / p.name).read_text()


def test_identical_requests_plan_once(plans_made: list[int]) -> None:
    rt = Runtime(registry=FAKE_OPS)
    doc = chain(50)
    first = rt.run(doc)
    again = rt.run(chain(50))  # an equal document, another object
    assert len(plans_made) == 1 and again.executed == [] and again.outputs == first.outputs
    rt.run(doc, outputs=["x"])
    assert rt.run(doc, overrides={"n3.value": 2.0}).executed == [f"n{i}" for i in range(3, 50)]
    changed = chain(50)
    changed["nodes"]["n7"]["params"]["value"] = 5
    assert rt.run(changed).executed == [f"n{i}" for i in range(7, 50)]
    assert len(plans_made) == 1  # the edits were replanned from the last plan (core/replan)
    changed["nodes"]["n8"]["in"] = {"a": "n7.out", "b": "n6.out"}
    assert rt.run(changed).executed == ["n8"] + [f"n{i}" for i in range(9, 50)]
    assert len(plans_made) == 2  # a link changed: planned from scratch


def test_a_changed_file_replans(plans_made: list[int], tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    rt = Runtime(registry=[*FAKE_OPS, note], input_dir=tmp_path)
    doc = {"nodes": {"n": {"op": "test.note", "params": {"name": "a.txt"}}},
           "outputs": {"text": "n.out"}}
    assert rt.run(doc).outputs == {"text": "one"}
    assert rt.run(doc).outputs == {"text": "one"} and len(plans_made) == 1
    (tmp_path / "a.txt").write_text("two")
    assert rt.run(doc).outputs == {"text": "two"} and len(plans_made) == 2
