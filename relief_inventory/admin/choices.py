"""Dropdown options for the forms, scoped like everything else: a keeper picks among the
depots they keep, a requester their county; catalogue data (items, owners) is public to
every signed-in user, as in the API."""

from __future__ import annotations

from sqlalchemy import Select, select

from relief_inventory.admin.base import MAX_OPTIONS, read_session
from relief_inventory.admin.login import current_actor
from relief_inventory.auth.actor import Role
from relief_inventory.stock import scope
from relief_inventory.stock.models import Item, Owner
from relief_inventory.warehouse.models import County, Depot


def _label(name: str, code: str) -> str:
    return f"{name}（{code}）"


DEPOT_SCOPES = ("mine", "all")
DEPOT_OPTIONS = 20
# Up to this many depots a form shows a dropdown; beyond (a prefecture of a thousand
# depots and points) a text box that searches as the user types (``depot_options``).
DEPOT_SELECT_MAX = 40


def _depot_query(scope_name: str) -> Select[tuple[str, str]]:
    """Active depots and points: those the user keeps (``mine``; admins all), or ``all``
    (a transfer's destination may be any active depot)."""
    actor = current_actor()
    query = select(Depot.code, Depot.name).where(Depot.active.is_(True))
    if scope_name == "mine" and not actor.is_admin:
        query = query.where(Depot.id.in_(actor.depot_ids))
    return query


def my_depots() -> list[tuple[str, str]]:
    """Depots the user keeps (admins: all): where they may book stock."""
    return _depots("mine")


def all_depots() -> list[tuple[str, str]]:
    """A transfer's destination may be any active depot."""
    return _depots("all")


def _depots(scope_name: str) -> list[tuple[str, str]]:
    with read_session() as session:
        rows = session.execute(_depot_query(scope_name).order_by(Depot.code))
        return [(code, _label(name, code)) for code, name in rows]


def depot_options(term: str, scope_name: str) -> list[dict[str, str]]:
    """The depot picker beyond ``DEPOT_SELECT_MAX``: depots whose code starts with, or whose
    name contains, the text, in the form's scope."""
    term = term.strip()[:64]
    query = _depot_query(scope_name if scope_name in DEPOT_SCOPES else "mine")
    if term:
        query = query.where(
            Depot.code.startswith(term.upper(), autoescape=True)
            | Depot.name.contains(term, autoescape=True)
        )
    with read_session() as session:
        rows = session.execute(query.order_by(Depot.code).limit(DEPOT_OPTIONS))
        return [{"code": code, "label": _label(name, code)} for code, name in rows]


def visible_depots() -> list[tuple[str, str]]:
    actor = current_actor()
    with read_session() as session:
        query = (
            select(Depot.code, Depot.name)
            .where(scope.depots_clause(actor, Depot.id))
            .order_by(Depot.code)
            .limit(MAX_OPTIONS + 1)  # more: the list's filter is a text box
        )
        return [(code, _label(name, code)) for code, name in session.execute(query)]


def counties() -> list[tuple[str, str]]:
    """Requesters choose among their own counties; the office roles among all."""
    actor = current_actor()
    with read_session() as session:
        query = select(County.code, County.name).where(County.active.is_(True))
        if not actor.is_admin and actor.has(Role.REQUESTER) and not scope.sees_everything(actor):
            query = query.where(County.id.in_(actor.county_ids))
        rows = session.execute(query.order_by(County.code))
        return [(code, _label(name, code)) for code, name in rows]


ITEM_OPTIONS = 20


def _item_label(name: str, spec: str, code: str, unit: str) -> str:
    return f"{name} {spec}（{code}，{unit}）"


def item_options(term: str) -> list[dict[str, str]]:
    """The item picker searches as the user types (a prefecture catalogue holds thousands
    of items): active items whose code starts with, or whose name contains, the text."""
    term = term.strip()[:64]
    query = select(Item.code, Item.name, Item.specification, Item.unit).where(Item.active.is_(True))
    if term:
        query = query.where(
            Item.code.startswith(term.upper(), autoescape=True)
            | Item.name.contains(term, autoescape=True)
        )
    with read_session() as session:
        rows = session.execute(query.order_by(Item.code).limit(ITEM_OPTIONS))
        return [
            {"code": code, "label": _item_label(name, spec, code, unit)}
            for code, name, spec, unit in rows
        ]


def owners() -> list[tuple[str, str]]:
    with read_session() as session:
        return [
            (o.code, _label(o.name, o.code))
            for o in session.scalars(select(Owner).order_by(Owner.code))
        ]
