"""A params model's JSON data (what its key hashes), without pydantic for plain models.

`model_dump(mode="json")` costs little when warm, but a sampling run between two graph runs
evicts pydantic's serializer from the CPU caches, and then one dump costs tens of
microseconds. Most params models are plain: fields of str, int, float, bool or None,
serialized as they are. For those the field values already are the data. A model class is
plain when nothing in its core schema changes how a value serializes (no serializer on a
field, a type or the model, no excluded field, no computed field, no alias used by
default); a value is taken as it is only when its type is exactly one of those scalars
and a float is finite. Anything else is dumped by pydantic.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_SCALARS = frozenset({str, int, bool, type(None)})
_CHANGES_SERIALIZATION = ("serialization", "serialization_exclude", "serialization_exclude_if")
_PLAIN_CLASSES: dict[type[BaseModel], bool] = {}


def params_data(params: BaseModel) -> dict[str, Any]:
    """`params.model_dump(mode="json")`, from the field values when they serialize as they
    are (see the module docstring)."""
    cls = type(params)
    plain = _PLAIN_CLASSES.get(cls)
    if plain is None:
        plain = _PLAIN_CLASSES[cls] = _serializes_plainly(cls)
    if plain and not params.__pydantic_extra__:
        values = params.__dict__
        for v in values.values():
            kind = type(v)
            if kind not in _SCALARS and not (kind is float and v - v == 0.0):
                break
        else:
            return dict(values)
    data: dict[str, Any] = params.model_dump(mode="json")
    return data


def _serializes_plainly(cls: type[BaseModel]) -> bool:
    """Nothing in `cls`'s core schema changes how a field value serializes."""
    if getattr(cls, "__pydantic_root_model__", False):
        return False
    schema = cls.__pydantic_core_schema__
    config = schema.get("config") or {}
    if config.get("serialize_by_alias") or config.get("ser_json_inf_nan") not in (None, "null"):
        return False
    stack: list[Any] = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(k in item for k in _CHANGES_SERIALIZATION) or item.get("computed_fields"):
                return False
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True
