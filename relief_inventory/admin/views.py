"""Which views the back office has, in which menu, for whom."""

from __future__ import annotations

import warnings

from flask_admin import Admin
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import scoped_session

from relief_inventory.admin import dispatch, documents, funds, ledger, master, readiness, reports
from relief_inventory.allocation.models import DispatchRequest, Reservation
from relief_inventory.audit.models import AuditEntry
from relief_inventory.auth.models import User
from relief_inventory.funds.models import (
    Appropriation,
    FundRelease,
    FundReversalRequest,
    FundSource,
)
from relief_inventory.stock.models import Category, Item, Lot, Move, Quant, StockDocument
from relief_inventory.warehouse.models import County, Depot, Township

LEDGER = _l("台账")
FUNDS = _l("救灾资金")
MASTER = _l("主数据")
READINESS = _l("战备")


def register(admin: Admin, session: scoped_session) -> None:
    # Flask-Admin 2.2 prefers a Flask-SQLAlchemy object, which would open a second engine
    # beside the application's; the scoped session of the one factory is what we want.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Passing a session object", DeprecationWarning)
        _register(admin, session)


def _register(admin: Admin, session: scoped_session) -> None:
    admin.add_view(
        documents.DocumentsView(
            StockDocument, session, name=_l("库存单据"), endpoint="documents", url="/documents"
        )
    )
    admin.add_view(
        dispatch.DispatchView(
            DispatchRequest, session, name=_l("调拨申请"), endpoint="requests", url="/dispatch"
        )
    )
    admin.add_view(reports.ReportsView(name=_l("报表"), endpoint="papers", url="/reports"))
    admin.add_view(
        readiness.ReadinessView(
            name=_l("情景推演"), endpoint="readiness_office", url="/readiness", category=READINESS
        )
    )
    for name, endpoint in (
        (_l("储备覆盖"), "coverage"),
        (_l("检测与轮换"), "rotation"),
        (_l("战备参数"), "parameters"),
    ):
        admin.add_menu_item(
            readiness.ReadinessLink(name=name, endpoint=f"readiness_office.{endpoint}"),
            target_category=READINESS,
        )
    for view in (
        funds.ReleasesView(
            FundRelease, session, name=_l("资金拨付"), endpoint="releases", url="/funds/releases"
        ),
        funds.AppropriationsView(
            Appropriation,
            session,
            name=_l("资金下达"),
            endpoint="appropriations",
            url="/funds/appropriations",
        ),
        funds.SourcesView(
            FundSource, session, name=_l("资金来源"), endpoint="sources", url="/funds/sources"
        ),
        funds.ReversalsView(
            FundReversalRequest,
            session,
            name=_l("资金冲销"),
            endpoint="reversals",
            url="/funds/reversals",
        ),
    ):
        view.category = FUNDS
        admin.add_view(view)
    for view in (
        ledger.QuantsView(Quant, session, name=_l("库存余额"), endpoint="quants", url="/quants"),
        ledger.MovesView(Move, session, name=_l("库存流水"), endpoint="moves", url="/moves"),
        ledger.LotsView(Lot, session, name=_l("批次"), endpoint="lots", url="/lots"),
        ledger.ReservationsView(
            Reservation, session, name=_l("调拨预留"), endpoint="reservations", url="/reservations"
        ),
        ledger.AuditView(
            AuditEntry, session, name=_l("审计日志"), endpoint="auditlog", url="/audit"
        ),
    ):
        view.category = LEDGER
        admin.add_view(view)
    for view in (
        master.DepotsView(
            Depot, session, name=_l("仓库及预置点"), endpoint="depots", url="/master/depots"
        ),
        master.ItemsView(Item, session, name=_l("物资"), endpoint="items", url="/master/items"),
        master.CategoriesView(
            Category, session, name=_l("类别"), endpoint="categories", url="/master/categories"
        ),
        master.CountiesView(
            County, session, name=_l("县市"), endpoint="counties", url="/master/counties"
        ),
        master.TownshipsView(
            Township, session, name=_l("乡镇"), endpoint="townships", url="/master/townships"
        ),
        master.UsersView(
            User, session, name=_l("用户与角色"), endpoint="users", url="/master/users"
        ),
    ):
        view.category = MASTER
        admin.add_view(view)
