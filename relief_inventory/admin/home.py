"""The first screen: each role's work, not a menu of tables (see ``dashboards``)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_login import current_user

from relief_inventory.admin import dashboards
from relief_inventory.admin.base import read_session
from relief_inventory.admin.login import current_actor


class HomeView(AdminIndexView):
    def is_visible(self) -> bool:
        return current_user.is_authenticated

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        if not current_user.is_authenticated:
            return redirect(url_for("backoffice_auth.login", next=request.full_path))
        with read_session() as session:
            panels = dashboards.panels_for(session, current_actor())
        return self.render("backoffice/home.html", panels=panels)
