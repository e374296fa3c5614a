"""/object_info in ComfyUI's terms: core classes are core, pack classes name their pack, seed
widgets carry control_after_generate, file widgets list built-in names and folder files."""

from __future__ import annotations

from pathlib import Path

from graphrt.compat.comfy.object_info import object_info
from graphrt.core.paths import Folders
from graphrt.library import default_registry


def info(tmp_path: Path) -> dict:
    return object_info(default_registry(), Folders(tmp_path / "models", tmp_path / "in",
                                                   tmp_path / "out"))


def test_modules_badges_and_seed_controls(tmp_path: Path) -> None:
    classes = info(tmp_path)
    assert classes["KSampler"]["python_module"] == "nodes"
    assert classes["SeargeSDXLSampler2"]["python_module"] == "custom_nodes.SeargeSDXL"
    seed = classes["KSampler"]["input"]["required"]["seed"]
    assert seed[0] == "INT" and seed[1]["control_after_generate"] is True
    noise_seed = classes["KSamplerAdvanced"]["input"]["required"]["noise_seed"]
    assert noise_seed[1]["control_after_generate"] is True
    assert "control_after_generate" not in classes["KSampler"]["input"]["required"]["steps"][1]


def test_file_widgets_list_builtins_then_folder_files(tmp_path: Path) -> None:
    (tmp_path / "models" / "checkpoints").mkdir(parents=True)
    (tmp_path / "models" / "checkpoints" / "mine.safetensors").write_bytes(b"x")
    (tmp_path / "models" / "checkpoints" / "notes.txt").write_text("not a model")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "photo.png").write_bytes(b"x")
    classes = info(tmp_path)
    ckpts = classes["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    assert ckpts == ["toy-shapes", "toy-shapes-refiner", "mine.safetensors"]
    images = classes["LoadImage"]["input"]["required"]["image"][0]
    assert images == ["example.png", "photo.png"]
    assert classes["SaveImage"]["output_node"] is True
    assert classes["KSampler"]["output_node"] is False
