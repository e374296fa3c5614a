"""Keying the nodes of a plan (graphrt.core.hashing holds the key format).

One `Keyer` per plan keys its nodes in order. What a key packs besides the upstream keys
(op, params, run settings, the ports) is the same for nodes of one op, params object and
set of ports: checking validates equal params to one object, so a graph that repeats a
recipe packs it once. From the second node of a recipe on, a node whose links are single
links to nodes has its key's bytes assembled from that template and its upstream keys,
without packing the links again (the same bytes: `tests/unit/test_keyer.py`). A recipe
seen once (the node an edit changed) is packed directly: a template would cost more.
"""

from __future__ import annotations

from typing import Any

import xxhash

from .document import Ref
from .errors import Code, Issue
from .graph import Node
from .hashing import (
    array_header,
    link_lead,
    links_key,
    packer,
    recipe_head,
    recipe_tail,
    run_tail,
)
from .params_data import params_data
from .paths import Folders
from .settings import RunSettings

Template = tuple[bytes, tuple[tuple[str, bytes], ...]]  # (start, (port, link lead) sorted)
KEY_CHARS = 32


class Keyer:
    """Keys nodes of one plan, in order (see the module docstring). Not shared across
    threads."""

    __slots__ = ("keys", "folders", "settings", "issues", "heads", "templates", "ports",
                 "pack", "run")

    def __init__(self, keys: dict[str, str], folders: Folders, settings: RunSettings,
                 issues: list[Issue]) -> None:
        self.keys, self.folders, self.settings, self.issues = keys, folders, settings, issues
        self.heads: dict[tuple[Any, int], bytes] = {}  # (spec, id of params) → key prefix
        # (spec, id of params, ports) → its template, or () for a variadic port's node
        self.templates: dict[tuple[Any, ...], Template | tuple[()]] = {}
        self.ports: dict[str, bytes] = {}  # an upstream port → packed
        self.pack = packer()
        self.run = run_tail(*settings.key())

    def key(self, node: Node) -> tuple[str, Any]:
        """(key, file fingerprint or None) of `node`, whose inputs are keyed already; an
        unreadable file is an issue (and an empty key)."""
        spec, params, inputs = node.spec, node.params, node.inputs
        if spec.fingerprint is None:
            slot = (spec, id(params), tuple(inputs))
            template = self.templates.get(slot)
            if template is None:
                template = self._template(slot, node)
            if template:
                start, leads = template
                parts = [start]
                keys, ports = self.keys, self.ports
                for port, lead in leads:
                    ref = inputs[port]
                    if type(ref) is not Ref:
                        break
                    upstream = keys[ref.node]
                    packed = ports.get(ref.port)
                    if packed is None:
                        packed = ports[ref.port] = self.pack(ref.port)
                    if len(upstream) != KEY_CHARS:
                        break
                    parts += (lead, upstream.encode(), packed)
                else:
                    return xxhash.xxh3_128_hexdigest(b"".join(parts)), None
        return self._packed(node)

    def _template(self, slot: tuple[Any, ...], node: Node) -> Template | tuple[()]:
        """The template of the key of a recipe's second node (and of later ones), kept
        under `slot`; () for a recipe's first node (not kept), and for nodes with a
        variadic port (kept: they take the long way)."""
        if (node.spec, id(node.params)) not in self.heads:
            return ()
        by_name = node.spec.inputs_by_name
        ports = sorted(node.inputs)
        if any(by_name[p].variadic for p in ports):
            self.templates[slot] = ()
            return ()
        start = self._head(node) + array_header(len(ports))
        template = self.templates[slot] = start, tuple((p, link_lead(p)) for p in ports)
        return template

    def _head(self, node: Node) -> bytes:
        """The packed recipe of a node without a fingerprint, shared as the module says."""
        spec, params = node.spec, node.params
        slot = (spec, id(params))
        shared = self.heads.get(slot)
        if shared is None:
            shared = self.heads[slot] = recipe_head(
                spec.name, spec.version, params_data(params)) + (
                self.run if spec.device else recipe_tail())
        return shared

    def _packed(self, node: Node) -> tuple[str, Any]:
        """`key` by packing the node's links (every node can be keyed this way)."""
        spec, params = node.spec, node.params
        identify = spec.fingerprint
        try:
            fingerprint = identify(params, self.folders) if identify is not None else None
        except (OSError, ValueError) as exc:
            self.issues.append(Issue(code=Code.BAD_FILE, node=node.id, field="params",
                                     message=str(exc), expected="a readable file",
                                     found=str(exc), source=node.source))
            return "", None
        keys = self.keys
        inputs: list[tuple[str, str, str]] = []
        for port, value in node.inputs.items():
            if type(value) is Ref:
                inputs.append((port, keys[value.node], value.port))
            elif isinstance(value, tuple):
                inputs.extend((f"{port}#{i}", keys[r.node], r.port) for i, r in
                              enumerate(value) if isinstance(r, Ref))
            elif isinstance(value, Ref):
                inputs.append((port, keys[value.node], value.port))
        if fingerprint is not None:
            prefix = recipe_head(spec.name, spec.version, params_data(params)) + \
                recipe_tail(fingerprint, self.settings.key() if spec.device else None)
            return links_key(prefix, inputs, self.pack), fingerprint
        return links_key(self._head(node), inputs, self.pack), None
