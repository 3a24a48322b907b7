"""The ledger, read-only: stock moves, balances (quants), lots, dispatch reservations and
the audit log. Listed, searched, filtered and exported; never created, edited or deleted.
What each user sees is the service layer's scope (``stock.scope``, ``allocation.queries``,
the auditor rule of the audit API)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, false, or_, select, true

from relief_inventory.admin.base import (
    MAX_OPTIONS,
    DayFilter,
    LedgerView,
    ScopedFilter,
    SearchedLedgerView,
    local_time,
)
from relief_inventory.admin.labels import label
from relief_inventory.admin.login import current_actor
from relief_inventory.allocation import queries as dispatch_queries
from relief_inventory.allocation.models import DispatchRequest, Reservation
from relief_inventory.audit.models import AuditEntry
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.errors import PermissionDenied
from relief_inventory.stock import scope
from relief_inventory.stock.models import Item, Lot, LotStatus, Move, Owner, Quant, StockDocument
from relief_inventory.warehouse.models import Depot, Location, LocationKind

MOVE_STATES = {"draft": _l("草稿"), "done": _l("完成"), "cancelled": _l("已取消")}


def depot_options() -> list[tuple[str, str]]:
    """The depots this user may see (a filter's dropdown reveals no other depot)."""
    from relief_inventory.admin.base import read_session

    actor = current_actor()
    with read_session() as session:
        rows = session.execute(
            select(Depot.code, Depot.name)
            .where(scope.depots_clause(actor, Depot.id))
            .order_by(Depot.code)
            .limit(MAX_OPTIONS + 1)  # more: the filter is a text box (ScopedFilter)
        )
        return [(code, f"{name}（{code}）") for code, name in rows]


def item_options() -> list[tuple[str, str]]:
    from relief_inventory.admin.base import read_session

    with read_session() as session:
        rows = session.execute(
            select(Item.code, Item.name)
            .where(Item.active.is_(True))
            .order_by(Item.code)
            .limit(MAX_OPTIONS + 1)
        )
        return [(code, f"{name}（{code}）") for code, name in rows]


def _depot_id(code: str) -> Any:
    return select(Depot.id).where(Depot.code == code).scalar_subquery()


def _depot_locations(code: str) -> Any:
    return select(Location.id).where(Location.depot_id == _depot_id(code))


def _item_id(code: str) -> Any:
    return select(Item.id).where(Item.code == code).scalar_subquery()


def text_of(name: str) -> Any:
    """A column formatter asking the view for the text of column ``name``."""
    return lambda view, _context, model, _name: view.text(model, name)


def document_link(view: LedgerView, document_id: int | None) -> Markup | str:
    document = view.lookup().get(StockDocument, document_id)
    if document is None:
        return ""
    return Markup('<a href="/documents/view/{}">{}</a>').format(document.number, document.number)


class MovesView(SearchedLedgerView):
    """库存流水: every move of the ledger, newest first."""

    roles = ()
    search_hint = _l("单据号或批次号")
    column_list = (
        "id",
        "done_at",
        "document",
        "item",
        "lot",
        "owner",
        "quantity",
        "from_location",
        "to_location",
        "state",
        "user",
    )
    column_details_list = column_list
    column_sortable_list = ("id", "done_at", "quantity")
    column_default_sort = ("id", True)
    column_labels = {
        "id": _l("流水号"),
        "done_at": _l("完成时间"),
        "document": _l("单据"),
        "item": _l("物资"),
        "lot": _l("批次"),
        "owner": _l("储备权属"),
        "quantity": _l("数量"),
        "from_location": _l("来源位置"),
        "to_location": _l("目的位置"),
        "state": _l("状态"),
        "user": _l("经办人"),
    }

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return scope.moves_clause(actor, self.session)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        """A document number (RK-2025-000001) or a lot number: that document's or lot's
        moves (both looked up by index)."""
        number = select(StockDocument.id).where(StockDocument.number == term.upper())
        lots = select(Lot.id).where(Lot.number == term)
        return or_(Move.document_id.in_(number), Move.lot_id.in_(lots))

    def get_filters(self) -> list[Any]:
        return [
            ScopedFilter(
                Move.id,
                _l("仓库"),
                depot_options,
                lambda code: scope.moves_at(self.session, _depot_locations(code)),
            ),
            ScopedFilter(
                Move.item_id, _l("物资"), item_options, lambda c: Move.item_id == _item_id(c)
            ),
            DayFilter(Move.done_at, _l("完成日期"), after=True),
            DayFilter(Move.done_at, _l("完成日期"), after=False),
        ]

    def prefetch(self, rows: list[Any]) -> None:
        lookup = self.lookup()
        lookup.small(Owner)
        lookup.preload(Item, (r.item_id for r in rows))
        lookup.preload(Location, (i for r in rows for i in (r.from_location_id, r.to_location_id)))
        lookup.preload(User, (r.user_id for r in rows))
        lookup.preload(Lot, (r.lot_id for r in rows))
        lookup.preload(StockDocument, (r.document_id for r in rows))

    def text(self, model: Move, name: str) -> str:
        lookup = self.lookup()
        values = {
            "document": lambda: lookup.label(StockDocument, model.document_id, "number"),
            "item": lambda: lookup.label(Item, model.item_id),
            "lot": lambda: lookup.label(Lot, model.lot_id, "number"),
            "owner": lambda: lookup.label(Owner, model.owner_id),
            "from_location": lambda: lookup.label(Location, model.from_location_id),
            "to_location": lambda: lookup.label(Location, model.to_location_id),
            "state": lambda: MOVE_STATES.get(model.state, model.state),
            "user": lambda: lookup.label(User, model.user_id, "username"),
            "done_at": lambda: local_time(None, None, model, "done_at"),
        }
        return values[name]()

    column_formatters = {
        name: text_of(name)
        for name in (
            "item",
            "lot",
            "owner",
            "from_location",
            "to_location",
            "state",
            "user",
            "done_at",
        )
    } | {"document": lambda view, _c, model, _n: document_link(view, model.document_id)}
    column_formatters_export = {name: text_of(name) for name in (*column_formatters,)}
    column_formatters_detail = column_formatters


class QuantsView(LedgerView):
    """库存余额: one row per depot shelf × item × lot × reserve owner."""

    roles = ()
    column_list = ("id", "depot", "item", "lot", "expiry", "owner", "on_hand", "reserved")
    column_details_list = column_list
    column_sortable_list = ("id", "on_hand", "reserved")
    column_default_sort = ("id", False)
    column_labels = {
        "id": _l("编号"),
        "depot": _l("仓库"),
        "item": _l("物资"),
        "lot": _l("批次"),
        "expiry": _l("有效期至"),
        "owner": _l("储备权属"),
        "on_hand": _l("在库"),
        "reserved": _l("已预留"),
    }

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        internal = select(Location.id).where(Location.kind == LocationKind.INTERNAL)
        return scope.quants_clause(actor) & Quant.location_id.in_(internal) & (Quant.on_hand > 0)

    def get_filters(self) -> list[Any]:
        return [
            ScopedFilter(
                Quant.location_id,
                _l("仓库"),
                depot_options,
                lambda code: Quant.location_id.in_(_depot_locations(code)),
            ),
            ScopedFilter(
                Quant.item_id, _l("物资"), item_options, lambda c: Quant.item_id == _item_id(c)
            ),
        ]

    def prefetch(self, rows: list[Any]) -> None:
        lookup = self.lookup()
        lookup.small(Owner)
        lookup.preload(Item, (r.item_id for r in rows))
        lookup.preload(Location, (r.location_id for r in rows))
        lookup.preload(Depot, (lookup.get(Location, r.location_id).depot_id for r in rows))
        lookup.preload(Lot, (r.lot_id for r in rows))

    def text(self, model: Quant, name: str) -> str:
        lookup = self.lookup()
        location = lookup.get(Location, model.location_id)
        lot = lookup.get(Lot, model.lot_id)
        values = {
            "depot": lambda: lookup.label(Depot, location.depot_id if location else None),
            "item": lambda: lookup.label(Item, model.item_id),
            "lot": lambda: lot.number if lot else "",
            "expiry": lambda: str(lot.expiry_date or "") if lot else "",
            "owner": lambda: lookup.label(Owner, model.owner_id),
        }
        return values[name]()

    column_formatters = {n: text_of(n) for n in ("depot", "item", "lot", "expiry", "owner")}
    column_formatters_export = column_formatters
    column_formatters_detail = column_formatters


class LotsView(SearchedLedgerView):
    """批次: each lot with its dates and status; its moves one click away."""

    roles = ()
    search_hint = _l("批次号")
    column_list = ("id", "item", "number", "production_date", "expiry_date", "origin", "status")
    column_details_list = column_list
    column_sortable_list = ("id", "number", "expiry_date")
    column_default_sort = ("id", True)
    column_labels = {
        "id": _l("编号"),
        "item": _l("物资"),
        "number": _l("批次号"),
        "production_date": _l("生产日期"),
        "expiry_date": _l("有效期至"),
        "origin": _l("来源"),
        "status": _l("状态"),
    }
    ORIGINS = {"purchase": _l("采购"), "donation": _l("捐赠"), "allocation": _l("上级调拨")}

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return scope.lots_clause(actor)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return Lot.number == term

    def get_filters(self) -> list[Any]:
        return [
            ScopedFilter(
                Lot.item_id, _l("物资"), item_options, lambda c: Lot.item_id == _item_id(c)
            ),
        ]

    column_formatters = {
        "item": lambda view, _c, model, _n: view.lookup().label(Item, model.item_id),
        "origin": lambda view, _c, model, _n: view.ORIGINS.get(model.origin, model.origin),
        "status": lambda _v, _c, model, _n: label(LotStatus.LABELS, model.status),
        "number": lambda _v, _c, model, _n: Markup(
            '<a href="/moves/?search={}" title="{}">{}</a>'
        ).format(model.number, _("该批次的流水"), model.number),
    }
    column_formatters_export = {k: v for k, v in column_formatters.items() if k != "number"}
    column_formatters_detail = column_formatters


RESERVATION_STATES = {
    "reserved": _l("已预留"),
    "dispatched": _l("已发运"),
    "released": _l("已释放"),
}


class ReservationsView(LedgerView):
    """调拨预留: the picks of dispatch requests, per depot and quant."""

    roles = ()
    column_list = ("id", "request", "depot", "quantity", "received", "returned", "state")
    column_details_list = column_list
    column_sortable_list = ("id", "quantity")
    column_default_sort = ("id", True)
    column_labels = {
        "id": _l("编号"),
        "request": _l("调拨申请"),
        "depot": _l("仓库"),
        "quantity": _l("数量"),
        "received": _l("签收"),
        "returned": _l("回收"),
        "state": _l("状态"),
    }

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        """Reservations of the requests the actor may read (``allocation.queries``), and
        for a keeper without an office role only those of their depots."""
        try:
            readable = dispatch_queries.readable(select(DispatchRequest.id), actor)
        except PermissionDenied:
            return false()
        clause = Reservation.request_id.in_(readable)
        if not scope.sees_everything(actor) and not actor.has(Role.REQUESTER):
            clause = clause & Reservation.depot_id.in_(actor.depot_ids)
        return clause

    def get_filters(self) -> list[Any]:
        return [
            ScopedFilter(
                Reservation.depot_id,
                _l("仓库"),
                depot_options,
                lambda code: Reservation.depot_id == _depot_id(code),
            )
        ]

    def prefetch(self, rows: list[Any]) -> None:
        self.lookup().preload(Depot, (r.depot_id for r in rows))
        self.lookup().preload(DispatchRequest, (r.request_id for r in rows))

    column_formatters = {
        "request": lambda view, _c, model, _n: Markup(
            '<a href="/dispatch/view/{0}">{0}</a>'
        ).format(view.lookup().label(DispatchRequest, model.request_id, "number")),
        "depot": lambda view, _c, model, _n: view.lookup().label(Depot, model.depot_id),
        "state": lambda _v, _c, model, _n: RESERVATION_STATES.get(model.state, model.state),
    }
    column_formatters_export = {
        **column_formatters,
        "request": lambda view, _c, model, _n: view.lookup().label(
            DispatchRequest, model.request_id, "number"
        ),
    }
    column_formatters_detail = column_formatters


def audit_readers(actor: Actor) -> bool:
    """The audit log's readers: auditors and admins (the rule of ``GET /api/v1/audit``)."""
    return actor.is_admin or actor.has(Role.AUDITOR)


ACTIONS = {
    "create": _l("新建"),
    "update": _l("修改"),
    "refused": _l("拒绝"),
    "print": _l("打印"),
    "login_failed": _l("登录失败"),
    "account_locked": _l("账户锁定"),
}


class AuditView(SearchedLedgerView):
    """审计日志: every change and event, in hash-chain order."""

    roles = (Role.AUDITOR,)
    search_hint = _l("对象编号或操作人")
    column_list = ("seq", "at", "actor", "action", "entity_type", "entity_id", "changes", "reason")
    column_details_list = (*column_list, "prev_hash", "hash")
    column_sortable_list = ("seq", "at")
    column_default_sort = ("seq", True)
    column_labels = {
        "seq": _l("序号"),
        "at": _l("时间"),
        "actor": _l("操作人"),
        "action": _l("操作"),
        "entity_type": _l("对象类型"),
        "entity_id": _l("对象"),
        "changes": _l("变更"),
        "reason": _l("原因"),
        "prev_hash": _l("前一哈希"),
        "hash": _l("哈希"),
    }

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return true() if audit_readers(actor) else false()

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return or_(AuditEntry.entity_id == term, AuditEntry.actor == term)

    def get_filters(self) -> list[Any]:
        actions = lambda: [(k, f"{v}（{k}）") for k, v in ACTIONS.items()]  # noqa: E731
        return [
            ScopedFilter(AuditEntry.action, _l("操作"), actions, lambda v: AuditEntry.action == v),
            ScopedFilter(
                AuditEntry.entity_type,
                _l("对象类型"),
                _entity_types,
                lambda v: AuditEntry.entity_type == v,
            ),
            DayFilter(AuditEntry.at, _l("日期"), after=True),
            DayFilter(AuditEntry.at, _l("日期"), after=False),
        ]

    column_formatters = {
        "at": local_time,
        "action": lambda _v, _c, model, _n: ACTIONS.get(model.action, model.action),
        "changes": lambda _v, _c, model, _n: escape(model.changes[:300]),
    }
    column_formatters_export = {"at": local_time}
    column_formatters_detail = {"at": local_time}


def _entity_types() -> list[tuple[str, str]]:
    from relief_inventory.audit.queries import entity_types

    return [(name, name) for name in entity_types()]
