"""Which tables are audited, and how their rows are written into the log.

A model opts in with the ``@audited`` decorator. The unit of work then logs every insert
and update of its rows, and ``relief audit verify`` replays the log and compares it with
the rows, so an edit made behind the application's back shows up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import inspect

from relief_inventory.audit.chain import canonical_value, mask_secret

T = TypeVar("T")


@dataclass(frozen=True)
class AuditSpec:
    model: type
    exclude: frozenset[str] = field(default_factory=frozenset)
    mask: frozenset[str] = field(default_factory=frozenset)

    @property
    def entity_type(self) -> str:
        return self.model.__tablename__  # type: ignore[attr-defined]

    def columns(self) -> list[str]:
        return [c.key for c in inspect(self.model).column_attrs if c.key not in self.exclude]

    def logged_value(self, column: str, value: Any) -> Any:
        if column in self.mask:
            return mask_secret(value)
        return canonical_value(value)

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return {name: self.logged_value(name, getattr(obj, name)) for name in self.columns()}

    def entity_id(self, obj: Any) -> str:
        key = inspect(self.model).primary_key_from_instance(obj)
        return "-".join(str(part) for part in key)


AUDITED: dict[str, AuditSpec] = {}


def audited(
    *, exclude: tuple[str, ...] = (), mask: tuple[str, ...] = ()
) -> Callable[[type[T]], type[T]]:
    """Class decorator: log every insert and update of this table's rows."""

    def register(model: type[T]) -> type[T]:
        spec = AuditSpec(model, frozenset(exclude), frozenset(mask))
        AUDITED[spec.entity_type] = spec
        model.__audit_spec__ = spec  # type: ignore[attr-defined]
        return model

    return register


def spec_for(obj: Any) -> AuditSpec | None:
    return getattr(type(obj), "__audit_spec__", None)
