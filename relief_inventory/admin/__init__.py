"""The back office (后台): Flask-Admin mounted at ``/``, in Chinese, for keepers,
dispatchers, county officers, finance and auditors.

Every page acts as the signed-in user's ``Actor`` through the service layer: lists read
through the services' scope clauses, every write is a service call in a unit of work
(``base.run_service``). Flask-Admin supplies the frame (menu, list pages, search, filters,
export); its model CRUD is switched off everywhere.
"""

from __future__ import annotations

import secrets

from flask import Flask, g, render_template, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import scoped_session
from werkzeug.exceptions import HTTPException

from relief_inventory.admin import login
from relief_inventory.config import Settings
from relief_inventory.db import session_factory
from relief_inventory.errors import DomainError

csrf = CSRFProtect()
NOT_OURS = ("/api/", "/verify")  # the API (bearer tokens, JSON) and the public page


def _ours() -> bool:
    return not request.path.startswith(NOT_OURS)


def _csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="relief_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=login.SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=True,  # idle for the lifetime: signed out
        REMEMBER_COOKIE_DURATION=0,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked below, for the back office only
        WTF_CSRF_TIME_LIMIT=int(login.SESSION_LIFETIME.total_seconds()),
        BABEL_DEFAULT_LOCALE=login.DEFAULT_LOCALE,
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        FLASK_ADMIN_SWATCH="default",
    )


def _protect(app: Flask) -> None:
    @app.before_request
    def check_csrf() -> None:
        """Every POST of the back office carries the session's CSRF token (the API
        authenticates with bearer tokens instead, which a browser never sends by itself)."""
        if request.method not in ("GET", "HEAD", "OPTIONS") and _ours():
            csrf.protect()

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        if _ours():
            nonce = _csp_nonce()
            # Runs after the operations layer's headers (relief_inventory.ops.web), which
            # set nosniff, frame denial, referrer policy and a strict default policy.
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                f"script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'; "
                "frame-ancestors 'none'; form-action 'self'"
            )
            if "text/html" in response.content_type:
                response.headers.setdefault("Cache-Control", "no-store")
        return response


def _wants_page() -> bool:
    """A back-office path asked for by a browser (which accepts HTML): answered with a page.
    The API, and any client that does not accept HTML (curl, probes), get the API's JSON
    error shape, with its request id."""
    return _ours() and request.accept_mimetypes.accept_html


def _html_errors(app: Flask) -> None:
    """The API answers errors as JSON (``api.ReliefApi``); the back office with a page."""
    handlers = app.error_handler_spec[None][None]
    api_http = handlers.get(HTTPException)
    api_domain = handlers.get(DomainError)

    def page(status: int, message: str):  # type: ignore[no-untyped-def]
        return render_template("backoffice/error.html", status=status, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):  # type: ignore[no-untyped-def]
        message = _("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试")
        if not _wants_page() and api_domain is not None:
            return api_domain(DomainError(message, field="csrf_token"))
        return page(400, message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if not _wants_page() and api_http is not None:
            return api_http(error)
        messages = {403: _("无权访问此页面"), 404: _("页面不存在"), 405: _("不支持此请求方法")}
        status = error.code or 500
        return page(status, messages.get(status, error.description or _("请求无法处理")))

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        if not _wants_page() and api_domain is not None:
            return api_domain(error)
        return page(error.status, error.message)

    for refusal in (IntegrityError, DataError):
        api_handler = handlers.get(refusal)

        def database_refused(error: Exception, _api=api_handler):  # type: ignore[no-untyped-def]
            """A value the database could not take (NUL in a search, …): the user's 4xx."""
            if not _wants_page() and _api is not None:
                return _api(error)
            return page(422, _("输入的内容无法处理，请检查后重试"))

        app.register_error_handler(refusal, database_refused)


def init_backoffice(app: Flask, settings: Settings) -> Admin:
    _configure(app, settings)
    csrf.init_app(app)
    Babel(app, locale_selector=login.locale, timezone_selector=lambda: "Asia/Shanghai")
    login.login_manager.init_app(app)
    app.register_blueprint(login.bp)
    _protect(app)
    _html_errors(app)

    engine = app.extensions["relief_engine"]
    # Flask-Admin's list pages read through a session without an actor: it can never
    # write an audited row (the audit hooks refuse such a flush).
    views_session = scoped_session(session_factory(engine))
    app.teardown_appcontext(lambda _error: views_session.remove())

    from relief_inventory.admin import home, views

    admin = Admin(
        app,
        name=_l("楚雄州救灾物资管理"),
        url="/",
        index_view=home.HomeView(name=_l("首页"), url="/", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="backoffice/master.html", fluid=True),
        static_url_path="/admin-static",
        csp_nonce_generator=_csp_nonce,
    )
    views.register(admin, views_session)
    app.jinja_env.globals["csp_nonce"] = _csp_nonce
    return admin
