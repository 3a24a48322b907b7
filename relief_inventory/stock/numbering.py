"""Human document numbers such as ``RK-2025-000123``, gap-free per prefix and year.

The counter row is bumped with one atomic upsert, so concurrent writers on PostgreSQL each
get their own number and SQLite (already holding its write lock) needs nothing more.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from relief_inventory.timeutil import to_local

_BUMP = text(
    "INSERT INTO document_sequence (prefix, year, last_value) VALUES (:prefix, :year, 1) "
    "ON CONFLICT (prefix, year) DO UPDATE SET last_value = document_sequence.last_value + 1 "
    "RETURNING last_value"
)


def next_number(session: Session, prefix: str, moment: datetime) -> str:
    year = to_local(moment).year
    value = session.execute(_BUMP, {"prefix": prefix, "year": year}).scalar_one()
    return f"{prefix}-{year}-{value:06d}"
