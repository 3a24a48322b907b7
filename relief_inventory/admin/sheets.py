"""An Odoo-style document page: the state bar, the buttons of the next steps this user may
take, the header fields, the lines, related documents one click away, the prints, and the
document's history from the audit log underneath (``admin.history``).

Each document family (``documents``, ``dispatch``, ``funds``) builds a ``Sheet``; one
template (``backoffice/sheet.html``) draws them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.stock.models import Owner


@dataclass
class Input:
    """A field of an action's form (a reason, a note, a payment reference…)."""

    name: str
    label: str
    required: bool = False
    kind: str = "text"  # text | textarea | number | select
    choices: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Action:
    name: str
    label: str
    style: str = "primary"  # a Bootstrap button colour
    inputs: list[Input] = field(default_factory=list)
    confirm: str | None = None


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns


@dataclass
class Sheet:
    kind_label: str
    number: str
    states: list[tuple[str, str]]  # the main road, in order
    state: str
    state_label: str
    act_url: str
    actions: list[Action] = field(default_factory=list)
    fields: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)  # (label, href)
    prints: list[tuple[str, str]] = field(default_factory=list)
    forms: list[tuple[str, str]] = field(default_factory=list)  # steps that need a page
    history: list[dict[str, Any]] = field(default_factory=list)
    banner: str | None = None  # 已冲销 / 已驳回 …

    def position(self, key: str) -> str:
        """done / current / todo on the state bar (off-road states show as ``off``)."""
        keys = [k for k, _ in self.states]
        if self.state not in keys:
            return "off" if key == self.state else "todo"
        here = keys.index(self.state)
        there = keys.index(key)
        return "done" if there < here else "current" if there == here else "todo"


def owner_names(session: Session) -> dict[str, str]:
    """Reserve owners (代储: the province's, the centre's …) are few; the queries give their
    codes, and the pages show their names."""
    return {code: name for code, name in session.execute(select(Owner.code, Owner.name))}
