"""The editor's text replacements in a SaveImage prefix (ui_text.py): %date:FORMAT% is the
conversion's time in the editor's format, %Node.widget% another node's widget value."""

from __future__ import annotations

from datetime import datetime

import pytest

from graphrt.compat.comfy.ui import to_api
from graphrt.compat.comfy.ui_text import format_date
from tests.compat.test_ui_format import ui_txt2img

NOW = datetime(2024, 3, 5, 7, 8, 9)


@pytest.mark.parametrize(("fmt", "out"), [
    ("yyyy-MM-dd", "2024-03-05"), ("yy/M/d", "24/3/5"), ("hh:mm:ss", "07:08:09"),
    ("h-m-s", "7-8-9"), ("yyy", "yyy"), ("x", "x")])
def test_dates_format_as_the_editor_does(fmt: str, out: str) -> None:
    assert format_date(fmt, NOW) == out


def test_a_save_prefix_gets_the_date_and_another_nodes_widget() -> None:
    doc = ui_txt2img()
    save = next(n for n in doc["nodes"] if n["type"] == "SaveImage")
    save["widgets_values"] = ["run-%date:yyyy-MM-dd%/%KSampler.seed%_%Nope.x%"]
    prompt, _ = to_api(doc, now=NOW)
    assert prompt is not None
    seed = prompt["3"]["inputs"]["seed"]
    assert prompt["9"]["inputs"]["filename_prefix"] == f"run-2024-03-05/{seed}_%Nope.x%"


def test_titles_are_looked_up_when_no_class_matches() -> None:
    doc = ui_txt2img()
    doc["nodes"][0]["title"] = "Main: sampler"
    doc["nodes"][0]["properties"] = {}
    save = next(n for n in doc["nodes"] if n["type"] == "SaveImage")
    save["widgets_values"] = ["%Main: sampler.sampler_name%"]
    prompt, _ = to_api(doc, now=NOW)
    assert prompt is not None and prompt["9"]["inputs"]["filename_prefix"] == "euler"
