"""The first screen (each role's work, see ``dashboards``) and the auditor's chain check."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_login import current_user

from relief_inventory.admin import dashboards
from relief_inventory.admin.base import read_session
from relief_inventory.admin.ledger import audit_readers
from relief_inventory.admin.login import current_actor
from relief_inventory.audit.services import chain_head
from relief_inventory.audit.verify import verify


class HomeView(AdminIndexView):
    def is_visible(self) -> bool:
        return current_user.is_authenticated

    def _signed_in(self):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("backoffice_auth.login", next=request.full_path))
        return None

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        if (away := self._signed_in()) is not None:
            return away
        with read_session() as session:
            panels = dashboards.panels_for(session, current_actor())
        return self.render("backoffice/home.html", panels=panels)

    @expose("/audit-check/", methods=("GET", "POST"))
    def audit_check(self):  # type: ignore[no-untyped-def]
        """Walk the hash chain and replay it against the tables (``relief audit verify``),
        for auditors: a POST, since on a large log it takes a while."""
        if (away := self._signed_in()) is not None:
            return away
        if not audit_readers(current_actor()):
            abort(403)
        result = None
        with read_session() as session:
            head = chain_head(session)
            if request.method == "POST":
                result = verify(session)
        return self.render("backoffice/audit_check.html", head=head, result=result)
