"""Who is signed in to the back office: Flask-Login over the existing users.

Logging in goes through ``auth.services.authenticate`` (the same passwords, lockout and
per-address limits as the API's token route, with the client address); every later
request rebuilds the user's ``Actor`` from the database, so a disabled user or a revoked
grant takes effect at once. The session cookie expires (``SESSION_LIFETIME``); logging in
starts a fresh session, so a session id planted before login is worthless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import Engine
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from relief_inventory import transactions
from relief_inventory.auth import services as auth_services
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.db import open_session
from relief_inventory.errors import DomainError, TooManyRequests, Unauthenticated

SESSION_LIFETIME = timedelta(hours=8)  # a working day; refreshed by each request
LOCALES = {"zh_Hans_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_Hans_CN"

bp = Blueprint(
    "backoffice_auth",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/office-static",
)
login_manager = LoginManager()
login_manager.login_view = "backoffice_auth.login"
login_manager.login_message = "请先登录"
login_manager.localize_callback = _
login_manager.session_protection = "strong"


@dataclass(frozen=True)
class OfficeUser:
    """The signed-in user as Flask-Login sees it: the actor and what the pages show."""

    actor: Actor
    display_name: str
    locale: str = DEFAULT_LOCALE  # the user's own choice (``auth.services.set_locale``)

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.actor.user_id)

    @property
    def role_labels(self) -> list[str]:
        return [_(Role.LABELS[r]) for r in Role.ALL if r in self.actor.roles]


def engine() -> Engine:
    return current_app.extensions["relief_engine"]


@login_manager.user_loader
def load_user(user_id: str) -> OfficeUser | None:
    if not user_id.isdigit():
        return None
    with open_session(engine()) as read:
        user = read.get(User, int(user_id))
        if user is None or not user.active:
            return None
        return OfficeUser(auth_services.actor_for(read, user), user.display_name, user.locale)


def current_actor() -> Actor:
    """The actor of this request (only called behind a login check)."""
    return current_user.actor  # type: ignore[no-any-return]


class LoginForm(FlaskForm):
    username = StringField(
        _l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=64)]
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=256)]
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("admin.index")
    parts = urlsplit(target)
    return target if not parts.netloc and not parts.scheme else url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            actor = auth_services.authenticate(
                engine(),
                form.username.data or "",
                form.password.data or "",
                client=request.remote_addr,
            )
        except (Unauthenticated, TooManyRequests) as refusal:
            error, status = refusal.message, refusal.status
        else:
            session.clear()  # a fresh session: no fixation
            with open_session(engine()) as read:
                user = read.get(User, actor.user_id)
                assert user is not None  # authenticate has just read it
                login_user(OfficeUser(actor, user.display_name, user.locale))
                session["locale"] = user.locale  # the login page after logout speaks it too
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("backoffice/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    chosen = locale()
    logout_user()
    session.clear()
    session["locale"] = chosen
    flash(_("已退出登录"), "info")
    return redirect(url_for("backoffice_auth.login"))


@bp.route("/locale/<code>", methods=["POST"])
def switch_locale(code: str):  # type: ignore[no-untyped-def]
    """中文 / English: stored on the signed-in user (``auth.services.set_locale``, audited),
    so the choice follows them to any browser and survives logging out and in again."""
    if not current_user.is_authenticated:
        return redirect(url_for("backoffice_auth.login"))
    try:
        transactions.run(
            engine(), current_user.actor, lambda uow: auth_services.set_locale(uow, code)
        )
    except DomainError as refusal:
        flash(refusal.message, "error")
    return redirect(_safe_next(request.form.get("next")))


def locale() -> str:
    """Flask-Babel's locale: the signed-in user's own; before login, the language of the
    last user of this browser (kept through logout), else Chinese."""
    if current_user.is_authenticated:
        return current_user.locale  # type: ignore[no-any-return]
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE
