"""The hash chain's pure rules: canonical encoding and the link between entries."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relief_inventory.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    canonical_json,
    canonical_value,
    entry_hash,
    link_hash,
    mask_secret,
    utc_text,
)
from relief_inventory.timeutil import canonical_utc

texts = st.text(max_size=40)  # any Unicode, quotes, control characters, CJK
fields_strategy = st.fixed_dictionaries(
    {
        "seq": st.integers(min_value=1, max_value=2**62),
        "at": texts,
        "actor_id": st.none() | st.integers(min_value=1, max_value=2**31),
        "actor": texts,
        "action": texts,
        "entity_type": texts,
        "entity_id": texts,
        "changes": texts,
        "reason": st.none() | texts,
        "prev_hash": texts,
    }
)


@given(fields_strategy)
def test_link_hash_is_sha256_of_the_canonical_json_of_the_fields(fields):
    """The fast spelled-out encoding is exactly the documented one (sorted-key JSON)."""
    reference = hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()
    assert entry_hash(fields) == reference
    assert link_hash(*(fields[name] for name in HASHED_FIELDS)) == reference


def test_every_field_is_covered_by_the_hash():
    fields = {
        "seq": 7,
        "at": "2025-05-21T02:00:00.000000Z",
        "actor_id": 3,
        "actor": "keeper_zx",
        "action": "update",
        "entity_type": "lot",
        "entity_id": "12",
        "changes": '{"status":["available","damaged"]}',
        "reason": "受潮",
        "prev_hash": GENESIS_HASH,
    }
    original = entry_hash(fields)
    for name, value in fields.items():
        changed = dict(fields, **{name: value + 1 if isinstance(value, int) else f"{value}x"})
        assert entry_hash(changed) != original, name
    assert entry_hash(dict(fields, reason=None)) != original


class Color(Enum):
    RED = "red"


def test_canonical_values_have_one_form():
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2025, 5, 21, 10, 0, 0, 5, tzinfo=shanghai)
    assert canonical_value(moment) == "2025-05-21T02:00:00.000005Z"
    assert canonical_value(Decimal("1450.00")) == "1450.00"
    assert canonical_value(date(2025, 1, 2)) == "2025-01-02"
    assert canonical_value(Color.RED) == "red"
    assert canonical_value({1: (moment, None, True)}) == {
        "1": ["2025-05-21T02:00:00.000005Z", None, True]
    }
    assert canonical_json({"b": 1, "a": "楚雄"}) == '{"a":"楚雄","b":1}'
    with pytest.raises(TypeError):
        canonical_value(0.1)  # floats have no place in the ledger


@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.timezones()))
def test_fast_utc_text_matches_the_canonical_form(moment):
    assert utc_text(moment) == canonical_utc(moment)


def test_fast_utc_text_keeps_strftime_spelling_for_early_years():
    early = datetime(999, 1, 1, tzinfo=UTC)
    assert utc_text(early) == canonical_utc(early)


def test_secrets_are_logged_as_a_digest_of_themselves():
    masked = mask_secret("scrypt$1024$8$1$salt$digest")
    assert masked.startswith("sha256:") and "digest" not in masked
    assert masked == mask_secret("scrypt$1024$8$1$salt$digest")
    assert mask_secret(None) is None
