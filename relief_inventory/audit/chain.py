"""The hash chain, pure: canonical encoding and the link between entries.

No database and no Flask here, so the rule that makes history tamper-evident can be read
and tested on its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from typing import Any

from relief_inventory.timeutil import canonical_utc

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "changes",
    "reason",
    "prev_hash",
)


def utc_text(moment: datetime) -> str:
    """``timeutil.canonical_utc`` without strftime, which is slow at a million calls."""
    utc = moment.astimezone(UTC)
    if utc.year < 1000:  # isoformat pads the year, strftime does not: keep strftime's text
        return canonical_utc(moment)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _mapping(value: Mapping) -> dict[str, Any]:
    return {str(k): canonical_value(v) for k, v in value.items()}


def _sequence(value: list | tuple) -> list[Any]:
    return [canonical_value(v) for v in value]


_PLAIN = frozenset({str, int, bool, type(None)})
# Exact types first (a dictionary look-up), subclasses through the isinstance chain below.
_BY_TYPE: dict[type, Callable[[Any], Any]] = {
    dict: _mapping,
    list: _sequence,
    tuple: _sequence,
    Decimal: str,
    datetime: utc_text,
    date: date.isoformat,
}


def canonical_value(value: Any) -> Any:
    """The one textual form of a value, used both when logging and when verifying."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    convert = _BY_TYPE.get(kind)
    if convert is not None:
        return convert(value)
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return canonical_value(value.value)
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, list | tuple):
        return _sequence(value)
    raise TypeError(f"no canonical form for {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(
        canonical_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields (``changes`` as its JSON text)."""
    return link_hash(*(fields[name] for name in HASHED_FIELDS))


# The canonical JSON of the hashed fields, keys in sorted order, spelled out once so that
# verifying a million entries does not build and sort a dict per entry. It produces exactly
# ``canonical_json({name: value for name in HASHED_FIELDS})`` (a test holds it to that).
# Sorted, the two fields only the chain's head decides (``prev_hash``, ``seq``) come last but
# for ``reason``: an entry's payload is sealed in two parts around them, before the chain is
# locked, and completed under the lock by ``sealed_hash`` (in SQL too, see audit/services.py).
_HEAD_TEMPLATE = (
    '{"action":%s,"actor":%s,"actor_id":%s,"at":%s,"changes":%s,"entity_id":%s,'
    '"entity_type":%s,"prev_hash":"'
)
_TAIL_TEMPLATE = '","reason":%s,"seq":'


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def payload_parts(
    at: str,
    actor_id: int | None,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    changes: str,
    reason: str | None,
) -> tuple[str, str]:
    """An entry's canonical payload without its link: the text before ``prev_hash`` and the
    text between it and ``seq``. ``at`` is already canonical UTC text."""
    head = _HEAD_TEMPLATE % (
        encode_basestring(action),
        encode_basestring(actor),
        "null" if actor_id is None else int(actor_id),
        encode_basestring(at),
        encode_basestring(changes),
        encode_basestring(entity_id),
        encode_basestring(entity_type),
    )
    return head, _TAIL_TEMPLATE % _text(reason)


def sealed_hash(head: str, prev_hash: str, tail: str, seq: int) -> str:
    """Complete a sealed payload with its link and hash it: what happens under the chain lock.

    ``prev_hash`` is a hash (hex digits), which JSON spells as itself between quotes."""
    return hashlib.sha256(f"{head}{prev_hash}{tail}{seq}}}".encode()).hexdigest()


def link_hash(
    seq: int,
    at: str,
    actor_id: int | None,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    changes: str,
    reason: str | None,
    prev_hash: str,
) -> str:
    """The hash of one entry from its fields, ``at`` already in canonical UTC text."""
    head, tail = payload_parts(at, actor_id, actor, action, entity_type, entity_id, changes, reason)
    # A stored prev_hash that is not hex (tampered) is escaped as JSON would escape it.
    return sealed_hash(head, encode_basestring(prev_hash)[1:-1], tail, int(seq))


def mask_secret(value: str | None) -> str | None:
    """Secrets (password and token hashes) are logged as a digest of themselves."""
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
