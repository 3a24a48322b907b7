"""The documents' own create forms: header fields and tables of lines, posted as a
browser posts them (one value per input, a row per line) and handed to the service as the
API would hand them — numbers as integers, dates as ``YYYY-MM-DD`` text, empty optional
fields left out. Validation is the service's; a refusal comes back on the form with the
service's Chinese message and the field it names."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

MAX_LINES = 200


@dataclass
class Field:
    name: str
    label: str
    # text | textarea | int | signed | date | flag | select | depot | item | lot | owner
    kind: str = "text"
    required: bool = False
    choices: Callable[[], list[tuple[str, str]]] | None = None
    hint: str = ""


@dataclass
class LineTable:
    name: str  # the service's keyword: lines, out_lines, in_lines
    title: str
    columns: list[Field]


@dataclass
class DocForm:
    kind: str
    title: str
    header: list[Field]
    tables: list[LineTable]
    build: Callable[[dict[str, Any]], Callable[..., Any]]  # -> the service call
    roles: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def _value(spec: Field, raw: str | None) -> Any:
    """A posted text as the service's input: integers of digits only, ``signed`` ones with
    a leading minus allowed (anything else is passed on as text, which the service refuses
    naming the field), flags as booleans."""
    if spec.kind == "flag":
        return raw == "on"
    text = (raw or "").strip()
    digits = text[1:] if spec.kind == "signed" and text.startswith("-") else text
    numeric = digits.isascii() and digits.isdigit() and len(digits) <= 12
    if spec.kind in ("int", "signed") and numeric:
        return int(text)
    return text


def parse_header(form: DocForm, posted: MultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in form.header:
        value = _value(spec, posted.get(spec.name))
        if value == "" and not spec.required:
            continue
        values[spec.name] = value
    return values


def parse_lines(table: LineTable, posted: MultiDict) -> list[dict[str, Any]]:
    """One dict per row that has anything filled in (blank rows are ignored)."""
    columns = {c.name: posted.getlist(f"{table.name}-{c.name}") for c in table.columns}
    count = min(max((len(v) for v in columns.values()), default=0), MAX_LINES)
    rows = []
    for index in range(count):
        row: dict[str, Any] = {}
        for spec in table.columns:
            raw = columns[spec.name][index] if index < len(columns[spec.name]) else ""
            value = _value(spec, raw)
            if value != "":
                row[spec.name] = value
        if row:
            rows.append(row)
    return rows


def new_form_key() -> str:
    """A per-form idempotency key: a double click or a resent form books once."""
    return f"bo-{secrets.token_urlsafe(18)}"


def rows_for_display(table: LineTable, posted: MultiDict | None, minimum: int = 2) -> list[dict]:
    """What the form shows again after a refusal (the user's entries), or empty rows."""
    if posted is None:
        return [{} for _ in range(minimum)]
    columns = {c.name: posted.getlist(f"{table.name}-{c.name}") for c in table.columns}
    count = max((len(v) for v in columns.values()), default=0)
    rows = [
        {name: values[i] if i < len(values) else "" for name, values in columns.items()}
        for i in range(min(count, MAX_LINES))
    ]
    return rows or [{} for _ in range(minimum)]
