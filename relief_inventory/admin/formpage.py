"""The page of a document's create form, one for every family (stock documents, dispatch
requests and returns, fund sources, appropriations and releases): who may open it, the
posted header and lines handed to the service in a unit of work, the new document's page
on success, and the form again — with what was typed and the service's message — on a
refusal (422), so nothing half-done is ever shown as saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, redirect, request, url_for
from flask_babel import gettext as _

from relief_inventory.admin import choices
from relief_inventory.admin.base import try_service
from relief_inventory.admin.forms import (
    DocForm,
    new_form_key,
    parse_header,
    parse_lines,
    rows_for_display,
)
from relief_inventory.admin.login import current_actor
from relief_inventory.idempotency import once
from relief_inventory.uow import UnitOfWork

# (unit of work, the form's idempotency key, the parsed values) -> the new document
Submit = Callable[[UnitOfWork, str | None, dict[str, Any]], Any]


def _once(form: DocForm) -> Submit:
    """The form's service, booked once per form key (a double click books nothing twice)."""

    def submit(uow: UnitOfWork, key: str | None, values: dict[str, Any]) -> Any:
        return once(uow, key, form.build(values), **values)[0]

    return submit


def form_page(
    view: Any,
    form: DocForm,
    *,
    cancel_url: str,
    roles: tuple[str, ...] | None = None,
    submit: Submit | None = None,
    opened_to: Callable[[Any], str] | None = None,
    initial_rows: dict[str, list[dict[str, str]]] | None = None,
    keyed: bool = True,
) -> Any:
    """GET: the empty form (``initial_rows`` prefilled); POST: the service call, then the
    new document's page (``opened_to(document)``, by default this view's page of its
    number). Opened by ``roles`` (the form's own by default; admins always)."""
    actor = current_actor()
    allowed = form.roles if roles is None else roles
    if allowed and not (actor.is_admin or actor.has(*allowed)):
        abort(403)
    posted = request.form if request.method == "POST" else None
    if posted is not None:
        values = parse_header(form, posted)
        for table in form.tables:
            values[table.name] = parse_lines(table, posted)
        key = posted.get("form_key") or None
        call = submit or _once(form)
        made = try_service(
            lambda uow: call(uow, key, values),
            what=f"新建{form.title}",
            done=_("%(title)s已保存", title=form.title),
        )
        if made is not None:
            target = opened_to(made) if opened_to else url_for(".view", number=made.number)
            return redirect(target)
    rows = {t.name: rows_for_display(t, posted) for t in form.tables}
    if posted is None and initial_rows:
        rows.update(initial_rows)
    form_key = ((posted.get("form_key") if posted else None) or new_form_key()) if keyed else ""
    return view.render(
        "backoffice/doc_form.html",
        form=form,
        posted=posted,
        rows=rows,
        form_key=form_key,
        cancel_url=cancel_url,
        depot_select_max=choices.DEPOT_SELECT_MAX,
    ), (422 if posted is not None else 200)
