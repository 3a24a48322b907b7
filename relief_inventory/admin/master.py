"""Master data (主数据): depots and township stock points, items, categories, counties and
their townships, users and their roles.

Lists are readable by every signed-in user (as in the API), users by admins only. Changes
are the services' own (``warehouse.services.update_depot``, ``set_depot_active``,
``stock.catalog.update_item`` …, ``auth.services.grant_role`` / ``revoke_role``), in a
unit of work and audited; only admins see the edit pages, and the services refuse anyone
else. Nothing is deleted: a record is deactivated, and the services refuse deactivating
what still holds stock or active children.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import ColumnElement, or_, select, true

from relief_inventory.admin import choices
from relief_inventory.admin.base import SearchedLedgerView, local_time, read_session, try_service
from relief_inventory.admin.forms import Field
from relief_inventory.admin.login import current_actor
from relief_inventory.auth import services as auth_services
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import RoleGrant, User
from relief_inventory.stock import catalog, scope
from relief_inventory.stock.models import Category
from relief_inventory.warehouse import services as warehouse
from relief_inventory.warehouse.models import County, Depot, Township

ACTIVE = {True: _l("启用"), False: _l("停用")}
LEVELS = {"prefecture": _l("州级"), "county": _l("县级"), "point": _l("乡镇预置点")}


def code_link(view: Any, _context: Any, model: Any, name: str) -> Any:
    """An admin's way into the edit page; plain text for everyone else."""
    code = getattr(model, name)
    if not current_actor().is_admin:
        return code
    return Markup('<a href="{}">{}</a>').format(url_for(f"{view.endpoint}.edit", code=code), code)


def _int_or_text(value: str) -> Any:
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text


@dataclass
class Editing:
    """What an edit page shows and which services it calls."""

    fields: list[Field]
    update: Callable[..., Any]
    set_active: Callable[..., Any]
    convert: dict[str, Callable[[str], Any]]


class MasterView(SearchedLedgerView):
    """A master-data list; admins edit and deactivate through the services."""

    roles = ()
    can_view_details = False
    list_template = "backoffice/master_list.html"
    search_hint = _l("编码或名称")
    editing: Editing
    column_default_sort = ("code", False)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return or_(self.model.code == term, self.model.name.contains(term, autoescape=True))

    def _row(self, code: str) -> Any:
        with read_session() as session:
            row = session.scalar(select(self.model).where(self.model.code == code[:64]))
        if row is None:
            abort(404)
        return row

    @expose("/edit/<code>", methods=("GET", "POST"))
    def edit(self, code: str):  # type: ignore[no-untyped-def]
        if not current_actor().is_admin:
            abort(403)
        row = self._row(code)
        values = {f.name: getattr(row, f.name) for f in self.editing.fields}
        if request.method == "POST":
            posted = {f.name: request.form.get(f.name, "") for f in self.editing.fields}
            converted = {
                name: self.editing.convert.get(name, str)(value) for name, value in posted.items()
            }
            done = try_service(
                lambda uow: self.editing.update(uow, code, **converted),
                what=f"update {code}",
                done=_l("已保存"),
            )
            if done is not None:
                return redirect(url_for(".edit", code=code))
            values = posted
        return self.render(
            "backoffice/master_edit.html", row=row, fields=self.editing.fields, values=values
        )

    @expose("/active/<code>", methods=("POST",))
    def active(self, code: str):  # type: ignore[no-untyped-def]
        if not current_actor().is_admin:
            abort(403)
        wanted = request.form.get("active") == "true"
        try_service(
            lambda uow: self.editing.set_active(uow, code, wanted),
            what=f"{'enable' if wanted else 'disable'} {code}",
            done=_l("已启用") if wanted else _l("已停用"),
        )
        return redirect(url_for(".edit", code=code))


def _flag(value: str) -> bool:
    return value in ("on", "true")


def _optional_int(value: str) -> Any:
    return None if not value.strip() else _int_or_text(value)


def visible_counties(actor: Actor, county_id: Any) -> ColumnElement[bool]:
    """The counties of the depots the actor sees, and a requester's own."""
    if scope.sees_everything(actor):
        return true()
    visible = select(Depot.county_id).where(scope.depots_clause(actor, Depot.id))
    return or_(county_id.in_(visible), county_id.in_(actor.county_ids))


def _depot_code(view: Any, model_id: int | None) -> str:
    return "" if model_id is None else view.lookup().label(Depot, model_id, "code")


class DepotsView(MasterView):
    """Depots and the township stock points below them (a point shows its depot above)."""

    column_list = (
        "code",
        "name",
        "county_id",
        "level",
        "parent_id",
        "address",
        "keeper_name",
        "keeper_phone",
        "active",
    )
    column_labels = {
        "code": _l("编码"),
        "name": _l("名称"),
        "county_id": _l("县市"),
        "level": _l("级别"),
        "parent_id": _l("上级仓库"),
        "address": _l("地址"),
        "keeper_name": _l("保管员"),
        "keeper_phone": _l("电话"),
        "active": _l("状态"),
    }
    column_formatters = {
        "code": code_link,
        "county_id": lambda view, _c, m, _n: view.lookup().label(County, m.county_id),
        "level": lambda _v, _c, m, _n: str(LEVELS["point" if m.is_point else m.level]),
        "parent_id": lambda view, _c, m, _n: _depot_code(view, m.parent_id),
        "active": lambda _v, _c, m, _n: str(ACTIVE[m.active]),
    }
    column_formatters_export = {k: v for k, v in column_formatters.items() if k != "code"}
    editing = Editing(
        [
            Field("name", _l("名称"), required=True),
            Field("address", _l("地址")),
            Field("keeper_name", _l("保管员")),
            Field("keeper_phone", _l("电话")),
            Field("lat", _l("纬度"), required=True),
            Field("lon", _l("经度"), required=True),
        ],
        warehouse.update_depot,
        warehouse.set_depot_active,
        {},
    )

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        """Keepers their depots, requesters their county's (``stock.scope``)."""
        return scope.depots_clause(actor, Depot.id)

    def prefetch(self, rows: list[Any]) -> None:
        self.lookup().small(County)
        self.lookup().preload(Depot, {r.parent_id for r in rows})


class TownshipsView(MasterView):
    """Townships (乡镇): the places a scenario can name and the stock points serve."""

    column_list = ("code", "name", "county_id", "high_risk", "lat", "lon", "active")
    column_labels = {
        "code": _l("乡镇代码"),
        "name": _l("名称"),
        "county_id": _l("县市"),
        "high_risk": _l("高风险"),
        "lat": _l("纬度"),
        "lon": _l("经度"),
        "active": _l("状态"),
    }
    column_formatters = {
        "code": code_link,
        "county_id": lambda view, _c, m, _n: view.lookup().label(County, m.county_id),
        "high_risk": lambda _v, _c, m, _n: _("是") if m.high_risk else "",
        "active": lambda _v, _c, m, _n: str(ACTIVE[m.active]),
    }
    column_formatters_export = {k: v for k, v in column_formatters.items() if k != "code"}
    editing = Editing(
        [
            Field("name", _l("名称"), required=True),
            Field("lat", _l("纬度"), required=True),
            Field("lon", _l("经度"), required=True),
            Field("high_risk", _l("高风险乡镇"), kind="flag"),
        ],
        warehouse.update_township,
        warehouse.set_township_active,
        {"high_risk": _flag},
    )

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        """The townships of the counties the actor sees (``visible_counties``)."""
        return visible_counties(actor, Township.county_id)

    def prefetch(self, rows: list[Any]) -> None:
        self.lookup().small(County)


class CountiesView(MasterView):
    column_list = ("code", "name", "lat", "lon", "active")

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return visible_counties(actor, County.id)

    column_labels = {
        "code": _l("区划代码"),
        "name": _l("名称"),
        "lat": _l("纬度"),
        "lon": _l("经度"),
        "active": _l("状态"),
    }
    column_formatters = {"code": code_link, "active": lambda _v, _c, m, _n: str(ACTIVE[m.active])}
    column_formatters_export = {"active": lambda _v, _c, m, _n: str(ACTIVE[m.active])}
    editing = Editing(
        [
            Field("name", _l("名称"), required=True),
            Field("lat", _l("纬度"), required=True),
            Field("lon", _l("经度"), required=True),
        ],
        warehouse.update_county,
        warehouse.set_county_active,
        {},
    )


class CategoriesView(MasterView):
    column_list = ("code", "name", "sort_order", "active")
    column_labels = {
        "code": _l("编码"),
        "name": _l("名称"),
        "sort_order": _l("排序"),
        "active": _l("状态"),
    }
    column_formatters = {"code": code_link, "active": lambda _v, _c, m, _n: str(ACTIVE[m.active])}
    column_formatters_export = {"active": lambda _v, _c, m, _n: str(ACTIVE[m.active])}
    editing = Editing(
        [Field("name", _l("名称"), required=True), Field("sort_order", _l("排序"), "int", True)],
        catalog.update_category,
        catalog.set_category_active,
        {"sort_order": _int_or_text},
    )


class ItemsView(MasterView):
    column_list = (
        "code",
        "name",
        "specification",
        "unit",
        "category_id",
        "unit_value",
        "shelf_life_days",
        "reusable",
        "active",
    )
    column_labels = {
        "code": _l("编码"),
        "name": _l("名称"),
        "specification": _l("规格"),
        "unit": _l("单位"),
        "category_id": _l("类别"),
        "unit_value": _l("单价（元）"),
        "shelf_life_days": _l("保质期（天）"),
        "reusable": _l("可回收"),
        "active": _l("状态"),
    }
    column_formatters = {
        "code": code_link,
        "category_id": lambda view, _c, m, _n: view.lookup().label(Category, m.category_id),
        "unit_value": lambda _v, _c, m, _n: f"{m.unit_value:,.2f}",
        "reusable": lambda _v, _c, m, _n: _("是") if m.reusable else _("否"),
        "active": lambda _v, _c, m, _n: str(ACTIVE[m.active]),
    }
    column_formatters_export = {k: v for k, v in column_formatters.items() if k != "code"}
    editing = Editing(
        [
            Field("name", _l("名称"), required=True),
            Field("specification", _l("规格")),
            Field("unit_value", _l("单价（元，如 1450.00）"), required=True),
            Field("shelf_life_days", _l("保质期（天，可空）"), "int"),
            Field("reusable", _l("可回收"), "flag"),
        ],
        catalog.update_item,
        catalog.set_item_active,
        {"shelf_life_days": _optional_int, "reusable": _flag},
    )

    def prefetch(self, rows: list[Any]) -> None:
        self.lookup().small(Category)


class UsersView(SearchedLedgerView):
    """Users and their roles (admins): grant, revoke, rename, enable and disable."""

    roles = (Role.ADMIN,)
    can_view_details = False
    list_template = "backoffice/master_list.html"
    search_hint = _l("用户名")
    column_list = ("username", "display_name", "active", "last_login_at")
    column_labels = {
        "username": _l("用户名"),
        "display_name": _l("姓名"),
        "active": _l("状态"),
        "last_login_at": _l("最近登录"),
    }
    column_default_sort = ("username", False)
    column_formatters = {
        "username": code_link,
        "active": lambda _v, _c, m, _n: str(ACTIVE[m.active]),
        "last_login_at": local_time,
    }
    column_formatters_export = {"active": lambda _v, _c, m, _n: str(ACTIVE[m.active])}

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return User.username != "system"

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return User.username == term

    @expose("/edit/<code>", methods=("GET", "POST"))
    def edit(self, code: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            user = session.scalar(select(User).where(User.username == code[:64]))
            if user is None or user.username == "system":
                abort(404)
            grants = session.execute(
                select(RoleGrant, Depot.code, County.code)
                .outerjoin(Depot, Depot.id == RoleGrant.depot_id)
                .outerjoin(County, County.id == RoleGrant.county_id)
                .where(RoleGrant.user_id == user.id, RoleGrant.active.is_(True))
                .order_by(RoleGrant.id)
            ).all()
        return self.render(
            "backoffice/user_edit.html",
            user=user,
            grants=[(g.role, Role.LABELS.get(g.role, g.role), d, c) for g, d, c in grants],
            roles=list(Role.LABELS.items()),
            depots=choices.all_depots(),
            counties=choices.counties(),
        )

    @expose("/act/<code>/<action>", methods=("POST",))
    def act(self, code: str, action: str):  # type: ignore[no-untyped-def]
        form = request.form
        scope = {"depot_code": form.get("depot") or None, "county_code": form.get("county") or None}
        work: dict[str, Callable[[Any], Any]] = {
            "rename": lambda uow: auth_services.update_user(
                uow, code, display_name=form.get("display_name", "")
            ),
            "grant": lambda uow: auth_services.grant_role(uow, code, form.get("role", ""), **scope),
            "revoke": lambda uow: auth_services.revoke_role(
                uow, code, form.get("role", ""), **scope
            ),
            "enable": lambda uow: auth_services.set_active(uow, code, True),
            "disable": lambda uow: auth_services.set_active(uow, code, False),
        }
        if action not in work:
            abort(404)
        try_service(work[action], what=f"user {code}: {action}", done=_l("已保存"))
        return redirect(url_for(".edit", code=code))
