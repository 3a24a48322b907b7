"""What of the stock ledger a user may see, as WHERE clauses (the back office's lists,
counts, detail pages, pickers and exports all filter through these).

The office roles (dispatchers, finance, auditors, admins) see every depot; a keeper sees
the depots they keep; a county requester sees their county: the depots located in it and
the documents that served it. Someone with neither sees nothing. Written once here, so a
list and its count, a detail page, a dropdown and an export can never disagree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor, Role
from relief_inventory.errors import Hidden
from relief_inventory.stock.models import Lot, Move, Quant, StockDocument
from relief_inventory.warehouse.models import Depot, Location


def sees_everything(actor: Actor) -> bool:
    return actor.is_admin or actor.has(Role.DISPATCHER, Role.AUDITOR, Role.FINANCE)


def depots_clause(actor: Actor, depot_id: Any) -> ColumnElement[bool]:
    """``depot_id`` (a column holding a depot id) is one of the actor's depots."""
    if sees_everything(actor):
        return true()
    scopes: list[ColumnElement[bool]] = []
    if actor.has(Role.KEEPER) and actor.depot_ids:
        scopes.append(depot_id.in_(actor.depot_ids))
    if actor.has(Role.REQUESTER) and actor.county_ids:
        scopes.append(depot_id.in_(select(Depot.id).where(Depot.county_id.in_(actor.county_ids))))
    return or_(*scopes) if scopes else false()


def depot_visible(actor: Actor, depot: Depot) -> bool:
    if sees_everything(actor):
        return True
    return (actor.has(Role.KEEPER) and depot.id in actor.depot_ids) or (
        actor.has(Role.REQUESTER) and depot.county_id in actor.county_ids
    )


def documents_clause(actor: Actor) -> ColumnElement[bool]:
    """Documents from or to the actor's depots, or (requesters) for their county."""
    if sees_everything(actor):
        return true()
    scopes = [
        depots_clause(actor, StockDocument.depot_id),
        depots_clause(actor, StockDocument.dest_depot_id),
    ]
    if actor.has(Role.REQUESTER) and actor.county_ids:
        scopes.append(StockDocument.county_id.in_(actor.county_ids))
    return or_(*scopes)


def document_visible(actor: Actor, document: StockDocument) -> bool:
    if sees_everything(actor):
        return True
    keeps = actor.has(Role.KEEPER) and bool(
        {document.depot_id, document.dest_depot_id} & actor.depot_ids
    )
    county = actor.has(Role.REQUESTER) and document.county_id in actor.county_ids
    return keeps or county


def require_document_visible(actor: Actor, document: StockDocument) -> None:
    """Another depot's document answers exactly as a missing one."""
    if not document_visible(actor, document):
        raise Hidden(f"单据不存在：{document.number}", field="document")


def _locations_of_visible_depots(actor: Actor) -> Any:
    return select(Location.id).where(depots_clause(actor, Location.depot_id))


# Moves are listed newest first, a page at a time. For places with many moves the page is
# found at once by reading the moves in key order and skipping others; for places with few
# the location indexes find them all. The planner cannot tell which from an IN list, so
# ``moves_at`` counts (up to MANY, through the indexes) and writes the clause for the case.
MANY = 20_000


def moves_at(
    session: Session | None, places: Any, *, incoming_only: Any = None
) -> ColumnElement[bool]:
    """Moves from or to ``places`` (a select of location ids), plus those into
    ``incoming_only``, written for the page query the database will run (see MANY)."""
    terms = [(Move.from_location_id, places), (Move.to_location_id, places)]
    if incoming_only is not None:
        terms.append((Move.to_location_id, incoming_only))
    indexed = or_(*(column.in_(ids) for column, ids in terms))
    if session is None:
        return indexed
    found = select(Move.id).where(indexed).limit(MANY).subquery()
    if (session.scalar(select(func.count()).select_from(found)) or 0) < MANY:
        return indexed
    return or_(*((column + 0).in_(ids) for column, ids in terms))  # read in key order


def moves_clause(actor: Actor, session: Session | None = None) -> ColumnElement[bool]:
    """Moves in or out of the actor's depots (requesters: also those to their county)."""
    if sees_everything(actor):
        return true()
    county_places = None
    if actor.has(Role.REQUESTER) and actor.county_ids:
        county_places = select(Location.id).where(Location.county_id.in_(actor.county_ids))
    return moves_at(session, _locations_of_visible_depots(actor), incoming_only=county_places)


def quants_clause(actor: Actor) -> ColumnElement[bool]:
    if sees_everything(actor):
        return true()
    return Quant.location_id.in_(_locations_of_visible_depots(actor))


def lots_clause(actor: Actor) -> ColumnElement[bool]:
    """Lots that are (or were) on the shelves of the actor's depots."""
    if sees_everything(actor):
        return true()
    held = select(Quant.lot_id).where(quants_clause(actor))
    return Lot.id.in_(held)
