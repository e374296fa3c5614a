"""The layers are physical: what each package may import, checked on the source.

core (graphrt/core): the engine; imports nothing of compat, fronts, the op library, the
  library module, torch or the model libraries, and names no diffusion port type or ComfyUI.
ops (the op library): may import core; never compat, fronts or the library module.
compat (graphrt/compat): may import core; never fronts.
distributed (graphrt/distributed): may import core (and Ray, lazily); never the op library,
  compat, fronts or the library module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "graphrt" / "core"
HEAVY = ("torch", "k_diffusion", "diffusers", "transformers", "spandrel")
DIFFUSION_TYPES = {"MODEL", "CLIP", "VAE", "CONDITIONING", "LATENT", "IMAGE", "MASK",
                   "UPSCALE_MODEL", "SIGMAS", "SAMPLER", "REGIONAL_PROMPTS"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "ops":
        parts.insert(0, "graphrt")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[str]:
    """Every module `path` imports (relative imports resolved), top level or not."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found += [base] + [f"{base}.{a.name}" for a in node.names]
    return found


def sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in paths:
        for target in imports(path):
            if target == "graphrt" or any(target == f or target.startswith(f + ".")
                                          for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {target}")
    return bad


def test_core_imports_only_the_core() -> None:
    forbidden = ("graphrt.compat", "graphrt.fronts", "graphrt.ops", "graphrt.library", *HEAVY)
    assert offending(sources(CORE), forbidden) == []


def test_ops_import_no_compat_and_no_front_end() -> None:
    forbidden = ("graphrt.compat", "graphrt.fronts", "graphrt.library")
    assert offending(sources(ROOT / "ops"), forbidden) == []


def test_compat_imports_no_front_end() -> None:
    forbidden = ("graphrt.fronts", "graphrt.library")
    assert offending(sources(ROOT / "graphrt" / "compat"), forbidden) == []


def test_distributed_imports_only_the_core() -> None:
    forbidden = ("graphrt.compat", "graphrt.fronts", "graphrt.ops", "graphrt.library", *HEAVY)
    assert offending(sources(ROOT / "graphrt" / "distributed"), forbidden) == []


def test_core_names_no_diffusion_type_and_no_comfyui() -> None:
    for path in sources(CORE):
        text = path.read_text()
        assert "comfy" not in text.lower(), path
        names = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
        names |= {n.value for n in ast.walk(ast.parse(text))
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        names |= {w.strip('"\'(),.:') for w in text.split()}
        assert not names & DIFFUSION_TYPES, (path, names & DIFFUSION_TYPES)


@pytest.mark.parametrize("forbidden", ["graphrt.ops", "graphrt.compat", "torch"])
def test_the_rule_catches_a_violation(tmp_path: Path, forbidden: str) -> None:
    """The checker itself: a core module that imports a forbidden layer is reported."""
    bad = CORE / f"_probe_{forbidden.replace('.', '_')}.py"
    bad.write_text(f"def f():\n    import {forbidden}\n")
    try:
        found = offending([bad], ("graphrt.compat", "graphrt.ops", "torch"))
        assert found and forbidden in found[0]
    finally:
        bad.unlink()


def test_architecture_md_names_every_layer_folder_and_core_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    folders = ["graphrt/core/", "graphrt/compat/", "graphrt/fronts/", "graphrt/library.py",
               "graphrt/distributed/", "ops/"]
    folders += [f"{p.name}/" for p in (ROOT / "ops").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()]
    folders += [f"{p.name}/" for sub in ("compat", "fronts")
                for p in (ROOT / "graphrt" / sub).iterdir() if (p / "__init__.py").exists()]
    modules = [f"`{p.name}`" for p in (ROOT / "graphrt" / "core").glob("*.py")
               if p.name != "__init__.py"]
    missing = [name for name in folders + modules if name not in text]
    assert missing == [], f"ARCHITECTURE.md does not describe {missing}"
