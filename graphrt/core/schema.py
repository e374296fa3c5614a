"""JSON descriptions of ops (for `graphrt ops --json`, and the server's schema endpoint)."""

from __future__ import annotations

from typing import Any

from .op import OpSpec


def op_schema(spec: OpSpec) -> dict[str, Any]:
    """Name, version, doc, params as JSON Schema, and typed ports of one op."""

    def port(p: Any) -> dict[str, Any]:
        return {"name": p.name, "type": p.type.name, "optional": p.optional,
                "variadic": p.variadic}

    return {
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "macro": spec.is_macro,
        "params": spec.params.model_json_schema(),
        "inputs": [port(p) for p in spec.inputs],
        "outputs": [port(p) for p in spec.outputs],
    }
