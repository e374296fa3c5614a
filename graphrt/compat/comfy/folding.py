"""ComfyUI classes graphrt works out while translating an API prompt, before its nodes become
native ones (docs/comfyui-workflows.md).

- A value class (`NodeClass.compute`: Searge's constants, pairs, math, prompt text, its
  parameter pipeline and muxers) is computed from its inputs, and each link to one of its
  outputs becomes that literal, as the editor does for a PrimitiveNode. Its widgets may come
  from other value classes; a link from any other node into a widget is refused (graphrt's
  widgets take literals). A link into one of its link inputs is carried as a `Link`: an
  output that is a `Link` makes the links to it redirects (a muxer's selected input), and one
  that is None (an unset optional input passed on) leaves the inputs it feeds unset.
- A composite class (`NodeClass.compose`: Searge's prompt encoders, loaders, image saver) is
  replaced by the API nodes it is made of, the first keeping its id, and links to its
  outputs are redirected. Its inputs from value classes are computed first.
Widget values are converted as ComfyUI's validation does (int(), float(), str()), and
missing ones take the class's defaults; a required input with neither is refused. A prompt
without such classes is returned as is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphrt.core.errors import Code, Issue, show

from .classes import REQUIRED, NodeClass
from .classes_searge import FOLDED_CLASSES as FOLDED

_CAST = {"INT": int, "FLOAT": float, "STRING": str}
_UNSET = object()  # what a link to a None output leaves: the input removed


@dataclass(frozen=True)
class Link:
    """A link a value class carries (a muxer's input, an image in Searge's parameters)."""

    node: str
    slot: int


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
            compose = cls.compose
            widgets = self._widgets(node_id, raw, cls, keep_links=True)
            composed = None if widgets is None else self._call(
                node_id, partial(compose, node_id, widgets), widgets)
            if composed is None:
                continue
            nodes, outputs = composed
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
                    value = self._follow(node_id, name, value)
                    if value is _UNSET:
                        del inputs[name]
                    else:
                        inputs[name] = value
        return (out, []) if not self.issues else (self.prompt, self.issues)

    def _follow(self, node_id: str, name: str, value: Any) -> Any:
        """A link into a folded node's output, made a literal or redirected (_UNSET: the
        output is None, so the input is left unset)."""
        for _ in range(len(self.folded) + 1):
            if not _is_link(value):
                return value
            source = str(value[0])
            if (source, value[1]) in self.redirect:
                target = self.redirect[(source, value[1])]
                if target == [source, value[1]]:  # a composite's node that keeps its id
                    return target
                value = target
                continue
            if source in self.folded:
                found = self._output(node_id, name, value)
                if found is _UNSET:
                    return value
                if isinstance(found, Link):
                    value = [found.node, found.slot]
                    continue
                return _UNSET if found is None else found
            return value
        return value

    def _output(self, node_id: str, name: str, link: list[Any]) -> Any:
        """Output `link[1]` of the value node `link[0]` (_UNSET, with an issue, if none)."""
        outputs = self._compute(str(link[0]))
        if outputs is None:
            return _UNSET
        if not 0 <= link[1] < len(outputs):
            self.issues.append(Issue(code=Code.BAD_LINK, node=node_id, field=name,
                                     message=f"node {link[0]!r} has no output {link[1]}",
                                     found=show(link)))
            return _UNSET
        return outputs[link[1]]

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
            compute = cls.compute
            self.values[node_id] = None if widgets is None else self._call(
                node_id, partial(compute, widgets), widgets)
        return self.values[node_id]

    def _call(self, node_id: str, run: Callable[[], Any], widgets: dict[str, Any]) -> Any:
        """`run()` (a class's compute or compose on `widgets`), or None with an issue when it
        fails: a missing key, b = 0 in a / b, a value Searge's code refuses."""
        try:
            return tuple(run())
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            self.issues.append(Issue(code=Code.INVALID_PARAM, node=node_id, field="inputs",
                                     message=f"{self.folded[node_id]['class_type']} node "
                                     f"{node_id} cannot compute its value: {exc}",
                                     found=show(widgets)))
            return None

    def _widgets(self, node_id: str, raw: dict[str, Any], cls: NodeClass, *, keep_links: bool
                 ) -> dict[str, Any] | None:
        """The class's inputs with literals converted and defaults filled in; links from
        value nodes made their values; other links kept (`keep_links`, for a composite), made
        `Link`s (into a value class's link input) or refused (into its widgets)."""
        given: dict[str, Any] = raw["inputs"] if isinstance(raw.get("inputs"), dict) else {}
        out: dict[str, Any] = {}
        ok = True
        for spec in cls.inputs:
            value = given.get(spec.name, REQUIRED)
            if _is_link(value) and self._is_value(value):
                value = self._output(node_id, spec.name, value)
                if value is _UNSET:
                    ok = False
                    continue
                if value is None:  # an unset optional input, passed on
                    value = REQUIRED
                elif isinstance(value, Link) and keep_links:
                    value = [value.node, value.slot]  # followed with every other link later
            if value is REQUIRED:
                if spec.default is not REQUIRED:
                    out[spec.name] = spec.default
                elif not spec.optional:
                    self.issues.append(Issue(code=Code.MISSING_INPUT, node=node_id,
                                             field=spec.name, message=(
                        f"{raw['class_type']} node {node_id} needs input {spec.name!r}"),
                        expected=spec.type, found="nothing"))
                    ok = False
                continue
            if _is_link(value) or isinstance(value, Link):
                if keep_links or spec.is_link:
                    out[spec.name] = value if keep_links or isinstance(value, Link) else Link(
                        str(value[0]), value[1])
                    continue
                link = value if _is_link(value) else [value.node, value.slot]
                self.issues.append(Issue(code=Code.LINK_TO_WIDGET, node=node_id,
                                         field=spec.name, message=(
                    f"input {spec.name!r} of {raw['class_type']} node {node_id} links to "
                    f"node {link[0]!r}, whose output graphrt cannot compute while "
                    "translating"), expected=spec.type, found=show(link)))
                ok = False
                continue
            cast = None if spec.is_link else _CAST.get(spec.type)
            try:
                out[spec.name] = cast(value) if cast is not None else value
            except (TypeError, ValueError):
                self.issues.append(Issue(code=Code.PARAM_WRONG_TYPE, node=node_id,
                                         field=spec.name, message=(
                    f"input {spec.name!r} of {raw['class_type']} node {node_id} must be "
                    f"{spec.type}"), expected=spec.type, found=show(value)))
                ok = False
        return out if ok else None

    def _is_value(self, link: list[Any]) -> bool:
        """The link comes from a value class (one graphrt computes)."""
        source = self.folded.get(str(link[0]))
        return source is not None and FOLDED[source["class_type"]].compute is not None


def _is_link(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)
            and isinstance(value[1], int) and not isinstance(value[1], bool))
