"""What every back-office view shares: who may open it, read-only ledger lists scoped by
the service layer, per-request filter options, and running a service call for a form.

Flask-Admin's model CRUD is never used to write: list views here are read-only (no
create, edit, delete or mass delete), and their query, count, single-record lookup,
filter options and exports all pass through the same scope clause.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from flask import (
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, Engine, select, true
from sqlalchemy.orm import Session

from relief_inventory import attempts, transactions
from relief_inventory.admin.login import current_actor
from relief_inventory.api.printing import pdf_response
from relief_inventory.auth.actor import Actor
from relief_inventory.db import open_session
from relief_inventory.errors import DomainError
from relief_inventory.inputs import date_text
from relief_inventory.timeutil import LOCAL_ZONE, format_local
from relief_inventory.uow import UnitOfWork
from reports.printing import PrintOptions, print_document

T = TypeVar("T")


def engine() -> Engine:
    return current_app.extensions["relief_engine"]


def read_session() -> Session:
    return open_session(engine())


class OfficeAccess:
    """Opened only by a signed-in user holding one of ``roles`` (admins always); an
    anonymous visitor is sent to the login page, anyone else gets 403. The menu shows
    only what the user may open."""

    roles: tuple[str, ...] = ()

    def is_accessible(self) -> bool:
        if not current_user.is_authenticated:
            return False
        actor = current_actor()
        return not self.roles or actor.is_admin or actor.has(*self.roles)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("backoffice_auth.login", next=request.full_path))
        abort(403)


class OfficeView(OfficeAccess, BaseView):
    """A page of our own (documents, home pages) inside the back office's frame."""


def run_service(work: Callable[[UnitOfWork], T], *, what: str, reason: str | None = None) -> T:
    """``work(uow)`` as the signed-in user in one unit of work (done again after a
    deadlock, as the API does). A refusal is logged by the unit of work as the API's is,
    naming what was attempted."""
    with attempts.attempting(f"后台 {request.method} {request.path}：{what}"):
        return transactions.run(engine(), current_actor(), work, reason=reason)


def try_service(work: Callable[[UnitOfWork], T], *, what: str, done: object) -> T | None:
    """Run a service call for a form; on a refusal flash the service's Chinese message
    (and the field it names) and return None, so the form is shown again."""
    try:
        result = run_service(work, what=what)
    except DomainError as error:
        field = f"（{error.field}）" if error.field else ""
        flash(f"{error.message}{field}", "error")
        return None
    flash(str(done), "success")  # a lazy translation is not JSON for the session
    return result


def printed(number: str) -> Any:
    """The document's PDF as the API prints it (the same renderer and audit entry); the
    caller has checked that the user may read it."""
    options = PrintOptions.from_settings(current_app.config["RELIEF_SETTINGS"])
    return pdf_response(print_document(engine(), current_actor(), number, options), f"{number}.pdf")


def allowed(check: Callable[[], object]) -> bool:
    """Whether a service's own permission check passes (to show a button only then)."""
    try:
        check()
    except DomainError:
        return False
    return True


def local_time(_view: Any, _context: Any, model: Any, name: str) -> str:
    return format_local(getattr(model, name))


class Lookup:
    """Rows that list columns name (depots, items, lots, documents …), loaded in batches
    once per request, so a page of fifty rows costs a few queries, not fifty joins."""

    def __init__(self, session: Session):
        self.session = session
        self._rows: dict[Any, dict[Any, Any]] = {}

    def small(self, model: Any) -> dict[Any, Any]:
        """All rows of a small table (depots, items, owners, locations, users)."""
        key = (model, "all")
        if key not in self._rows:
            self._rows[key] = {row.id: row for row in self.session.scalars(select(model))}
        return self._rows[key]

    def preload(self, model: Any, ids: Iterable[Any]) -> None:
        known = self._rows.setdefault((model, "some"), {})
        wanted = {i for i in ids if i is not None and i not in known}
        if wanted:
            primary = model.__mapper__.primary_key[0]
            for row in self.session.scalars(select(model).where(primary.in_(wanted))):
                known[getattr(row, primary.key)] = row

    def get(self, model: Any, key: Any) -> Any:
        if key is None:
            return None
        whole = self._rows.get((model, "all"))
        if whole is not None:
            return whole.get(key)
        some = self._rows.setdefault((model, "some"), {})
        if key not in some:
            some[key] = self.session.get(model, key)
        return some[key]

    def label(self, model: Any, key: Any, attribute: str = "name") -> str:
        row = self.get(model, key)
        return "" if row is None else str(getattr(row, attribute))


def link(endpoint: str, text: str, **values: Any) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), escape(text))


MAX_OPTIONS = 200


class ScopedFilter(BaseSQLAFilter):
    """A filter whose options are computed per request (scoped to the signed-in user) and
    whose condition is ``clause(value)``; an unknown value matches nothing."""

    def __init__(
        self,
        column: Any,
        name: str,
        options: Callable[[], list[tuple[str, str]]],
        clause: Callable[[str], ColumnElement[bool]],
    ):
        super().__init__(column, name, options=options)
        self.clause = clause

    def get_options(self, view: Any) -> list[tuple[str, str]] | None:
        """Computed for the signed-in user (none at start-up: no one is signed in). Past
        ``MAX_OPTIONS`` (a prefecture of a thousand depots, thousands of items) the filter
        is a text box for the code instead of a dropdown nobody could scroll."""
        if not has_request_context() or not current_user.is_authenticated:
            return []
        if "relief_filter_options" not in g:
            g.relief_filter_options = {}
        cache = g.relief_filter_options
        if id(self) not in cache:
            options = self.options()  # type: ignore[misc, operator]
            cache[id(self)] = options if len(options) <= MAX_OPTIONS else None
        return cache[id(self)]

    def validate(self, value: Any) -> bool:
        """A value the dropdown offers this user, or a code typed into the text box (it
        matches nothing unless it names something in the user's scope)."""
        options = self.get_options(None)
        if options is None:
            return isinstance(value, str) and 0 < len(value) <= 64 and "\x00" not in value
        return any(value == code for code, _label in options)

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        return query.filter(self.clause(value))

    def operation(self) -> str:
        return _("是")


class LedgerView(OfficeAccess, ModelView):
    """A read-only, scoped ledger list. ``scope(actor)`` gives the WHERE clause the service
    layer defines for the model; it applies to the list, the count, the detail lookup and
    the export alike."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    can_export = True
    export_types = ["csv", "xlsx"]
    export_max_rows = 10_000
    simple_list_pager = True  # no COUNT(*) per page
    page_size = 50
    can_set_page_size = True
    page_size_options = (20, 50, 100)
    action_disallowed_list = ["delete"]
    list_template = "backoffice/ledger_list.html"

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return true()

    def get_query(self) -> Any:
        return super().get_query().filter(self.scope(current_actor()))

    def get_count_query(self) -> Any:
        return super().get_count_query().filter(self.scope(current_actor()))

    def get_one(self, id: Any) -> Any:
        """The record only if it is in the user's scope (an id typed into the URL finds
        nothing else); ledger keys are integers, anything else finds nothing."""
        text = str(id)
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return None
        primary = getattr(self.model, self._primary_key)
        return self.get_query().filter(primary == int(text)).one_or_none()

    def get_actions_list(self) -> tuple[list, dict]:
        return [], {}

    def _get_filter_groups(self) -> OrderedDict[str, list[dict[str, Any]]] | None:
        """Filter options of this request's user (Flask-Admin caches them at start-up)."""
        if not self._filters:
            return None
        groups: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        for index, flt in enumerate(self._filters):
            options = flt.get_options(self) if isinstance(flt, ScopedFilter) else None
            groups.setdefault(str(flt.name), []).append(
                {
                    "index": index,
                    "arg": self.get_filter_arg(index, flt),
                    "operation": str(flt.operation()),
                    "options": [(str(k), str(v)) for k, v in options] if options else None,
                    "type": flt.data_type,
                }
            )
        return groups

    def lookup(self) -> Lookup:
        if "relief_lookup" not in g:
            g.relief_lookup = Lookup(self.session)
        return g.relief_lookup

    def prefetch(self, rows: list[Any]) -> None:
        """Load in batches what the page's columns will name (``Lookup.preload``)."""

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True) and rows:
            self.prefetch(list(rows))
        return count, rows


def choices(rows: Iterable[Any], *, label: Callable[[Any], str]) -> list[tuple[str, str]]:
    return [(row.code, label(row)) for row in rows]


def local_day_bounds(value: str) -> tuple[datetime, datetime] | None:
    """A local calendar day ``YYYY-MM-DD`` as its UTC start and end (None if not a day)."""
    day = date_text(value)
    if day is None:
        return None
    start = datetime.combine(day, time.min, tzinfo=LOCAL_ZONE)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


class DayFilter(BaseSQLAFilter):
    """On or after / on or before a local calendar day (the timestamp column is UTC)."""

    def __init__(self, column: Any, name: str, *, after: bool):
        super().__init__(column, name, data_type="datepicker")
        self.after = after

    def validate(self, value: Any) -> bool:
        return local_day_bounds(str(value)) is not None

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        bounds = local_day_bounds(str(value))
        assert bounds is not None
        if self.after:
            return query.filter(self.column >= bounds[0])
        return query.filter(self.column < bounds[1])

    def operation(self) -> str:
        return _("起（含）") if self.after else _("止（含）")


class SearchedLedgerView(LedgerView):
    """A ledger list with a search box whose meaning the view defines (``search_clause``:
    a document number, a lot number, an actor …) instead of LIKE over columns."""

    search_hint = _l("搜索")

    def init_search(self) -> bool:
        return True

    def search_placeholder(self) -> str:
        return str(self.search_hint)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        raise NotImplementedError

    def _apply_search(self, query, count_query, joins, count_joins, search):  # type: ignore[no-untyped-def, override]
        term = search.strip()[:64]
        if term:
            query = query.filter(self.search_clause(term))
            if count_query is not None:
                count_query = count_query.filter(self.search_clause(term))
        return query, count_query, joins, count_joins
