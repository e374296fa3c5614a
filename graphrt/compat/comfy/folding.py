"""ComfyUI classes graphrt works out while translating an API prompt, before its nodes become
native ones (docs/comfyui-workflows.md).

- A value class (`NodeClass.compute`: Searge's constants, pairs, math, prompt text) is
  computed from its widget values, and each link to one of its outputs becomes that literal,
  as the editor does for a PrimitiveNode. Its inputs may come from other value classes; a
  link from any other node is refused (graphrt's widgets take literals).
- A composite class (`NodeClass.compose`: Searge's prompt encoders) is replaced by the API
  nodes it is made of, the first keeping its id, and links to its outputs are redirected.
Widget values are converted as ComfyUI's validation does (int(), float(), str()), and
missing ones take the class's defaults. A prompt without such classes is returned as is.
"""

from __future__ import annotations

import copy
from typing import Any

from graphrt.core.errors import Code, Issue, show

from .classes import REQUIRED, NodeClass
from .classes_searge import FOLDED_CLASSES as FOLDED

_CAST = {"INT": int, "FLOAT": float, "STRING": str}


def fold(prompt: dict[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
    """The prompt with value classes folded into their consumers and composite classes
    replaced, or the issues that stop it."""
    folded = {str(k): v for k, v in prompt.items() if isinstance(v, dict) and isinstance(
        v.get("class_type"), str) and v["class_type"] in FOLDED}
    if not folded:
        return prompt, []
    return _Folder(prompt, folded).run()


class _Folder:
    def __init__(self, prompt: dict[str, Any], folded: dict[str, Any]) -> None:
        self.prompt, self.folded = prompt, folded
        self.issues: list[Issue] = []
        self.values: dict[str, tuple[Any, ...] | None] = {}
        self.busy: set[str] = set()
        self.redirect: dict[tuple[str, int], list[Any]] = {}

    def run(self) -> tuple[dict[str, Any], list[Issue]]:
        out = {str(k): copy.deepcopy(v) for k, v in self.prompt.items()
               if str(k) not in self.folded}
        for node_id, raw in self.folded.items():
            cls = FOLDED[raw["class_type"]]
            if cls.compose is None:
                continue
            widgets = self._widgets(node_id, raw, cls, keep_links=True)
            if widgets is None:
                continue
            nodes, outputs = cls.compose(node_id, widgets)
            title = raw.get("_meta")
            for new_id, node in nodes.items():
                if new_id in out or (new_id != node_id and new_id in self.prompt):
                    self.issues.append(Issue(code=Code.INVALID_NODE_ID, node=node_id,
                                             field="class_type", message=(
                        f"{raw['class_type']} node {node_id} becomes node {new_id}, an id the "
                        "prompt already uses"), found=new_id))
                out[new_id] = {**node, "_meta": title} if isinstance(title, dict) else node
            for slot, target in enumerate(outputs):
                self.redirect[(node_id, slot)] = target
        for node_id, node in out.items():
            inputs = node.get("inputs")
            if isinstance(inputs, dict):
                for name, value in list(inputs.items()):
                    inputs[name] = self._follow(node_id, name, value)
        return (out, []) if not self.issues else (self.prompt, self.issues)

    def _follow(self, node_id: str, name: str, value: Any) -> Any:
        """A link into a folded node's output, made a literal or redirected."""
        for _ in range(len(self.folded) + 1):
            if not _is_link(value):
                return value
            source = str(value[0])
            if (source, value[1]) in self.redirect:
                value = self.redirect[(source, value[1])]
                continue
            if source in self.folded:
                outputs = self._compute(source)
                if outputs is None:
                    return value
                if not 0 <= value[1] < len(outputs):
                    self.issues.append(Issue(code=Code.BAD_LINK, node=node_id, field=name,
                                             message=f"node {source!r} has no output "
                                             f"{value[1]}", found=show(value)))
                    return value
                return outputs[value[1]]
            return value
        return value

    def _compute(self, node_id: str) -> tuple[Any, ...] | None:
        """A value node's outputs (None, with an issue, when they cannot be computed)."""
        raw = self.folded[node_id]
        cls = FOLDED[raw["class_type"]]
        if node_id in self.busy or cls.compute is None:
            self.issues.append(Issue(
                code=Code.CYCLE if node_id in self.busy else Code.BAD_LINK, node=node_id,
                field="class_type", message=f"{raw['class_type']} node {node_id} gives no "
                "value graphrt can compute while translating", found=raw["class_type"]))
            return None
        if node_id not in self.values:
            self.busy.add(node_id)
            widgets = self._widgets(node_id, raw, cls, keep_links=False)
            self.busy.discard(node_id)
            self.values[node_id] = None if widgets is None else self._run(node_id, cls, widgets)
        return self.values[node_id]

    def _run(self, node_id: str, cls: NodeClass, widgets: dict[str, Any]
             ) -> tuple[Any, ...] | None:
        assert cls.compute is not None
        try:
            return tuple(cls.compute(widgets))
        except (ArithmeticError, TypeError, ValueError) as exc:
            self.issues.append(Issue(code=Code.INVALID_PARAM, node=node_id, field="inputs",
                                     message=f"{self.folded[node_id]['class_type']} node "
                                     f"{node_id} cannot compute its value: {exc}",
                                     found=show(widgets)))
            return None

    def _widgets(self, node_id: str, raw: dict[str, Any], cls: NodeClass, *, keep_links: bool
                 ) -> dict[str, Any] | None:
        """The class's inputs with literals converted and defaults filled in; links into
        widgets from value nodes folded; other links kept (`keep_links`) or refused."""
        given: dict[str, Any] = raw["inputs"] if isinstance(raw.get("inputs"), dict) else {}
        out: dict[str, Any] = {}
        ok = True
        for spec in cls.inputs:
            value = given.get(spec.name, REQUIRED)
            if spec.is_link or value is REQUIRED:
                if value is not REQUIRED:
                    out[spec.name] = value  # redirected with every other link afterwards
                elif spec.default is not REQUIRED:
                    out[spec.name] = spec.default
                continue
            if _is_link(value) and str(value[0]) in self.folded and FOLDED[
                    self.folded[str(value[0])]["class_type"]].compute is not None:
                source = self._compute(str(value[0]))
                if source is None or not 0 <= value[1] < len(source):
                    ok = False
                    continue
                value = source[value[1]]
            elif _is_link(value):
                if not keep_links:
                    self.issues.append(Issue(code=Code.LINK_TO_WIDGET, node=node_id,
                                             field=spec.name, message=(
                        f"input {spec.name!r} of {raw['class_type']} node {node_id} links to "
                        f"node {value[0]!r}, whose output graphrt cannot compute while "
                        "translating"), expected=spec.type, found=show(value)))
                    ok = False
                out[spec.name] = value
                continue
            cast = _CAST.get(spec.type)
            try:
                out[spec.name] = cast(value) if cast is not None else value
            except (TypeError, ValueError):
                self.issues.append(Issue(code=Code.PARAM_WRONG_TYPE, node=node_id,
                                         field=spec.name, message=(
                    f"input {spec.name!r} of {raw['class_type']} node {node_id} must be "
                    f"{spec.type}"), expected=spec.type, found=show(value)))
                ok = False
        return out if ok else None


def _is_link(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)
            and isinstance(value[1], int) and not isinstance(value[1], bool))
