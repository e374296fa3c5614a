"""A small multipart/form-data reader over the standard library's email parser.

Starlette's own form parser needs python-multipart; uploads here are small (bounded by the
body limit) and few, so the stdlib parser is enough and adds no dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def parse_form(content_type: str, body: bytes) -> dict[str, Part]:
    """Form fields by name (the first of each name); {} if the body is not multipart."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    header = b"MIME-Version: 1.0\r\nContent-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if not message.is_multipart():
        return {}
    fields: dict[str, Part] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in fields:
            continue
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        fields[name] = Part(name, filename, payload if isinstance(payload, bytes) else b"")
    return fields
