"""What the running application adds for operations: request ids, access log, body limit,
security headers, 503 for a database that is busy or away, ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from relief_inventory.config import Settings
from relief_inventory.ops.engines import replica_engine
from relief_inventory.ops.logs import REQUEST_ID, new_request_id
from relief_inventory.ops.schema import schema_state

access_log = logging.getLogger("relief.access")
log = logging.getLogger("relief.ops")
RETRY_AFTER_SECONDS = 5

# The API and the verification page use no inline script or style; the back office
# (Flask-Admin) does, so it gets 'unsafe-inline' for those two and nothing else.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

bp = Blueprint("operations", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving (no database access: a liveness probe)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int] | Response:
    """Ready for traffic: the database answers and its schema is at this code's head."""
    from flask import current_app

    engine = current_app.extensions["relief_engine"]
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            state = schema_state(connection)
    except DBAPIError as error:
        log.warning("readiness: database unreachable: %s", error.orig)
        return _unavailable("数据库无法连接")
    problem = state.problem()
    if problem:
        return _unavailable(problem, revision=state.revision)
    return jsonify(status="ready", revision=state.revision)


def _unavailable(message: str, **extra: object) -> tuple[Response, int]:
    body = {"code": "unavailable", "status": 503, "message": message, "errors": {}, **extra}
    response = jsonify(body)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, 503


def database_unavailable(error: Exception) -> tuple[Response, int]:
    """A lock held past the timeout (SQLite), a dropped or refused connection, a pool with
    no free connection: the request may succeed shortly, so 503 + Retry-After, not 500."""
    orig = getattr(error, "orig", error)
    log.warning("database unavailable: %s: %s", type(orig).__name__, orig)
    return _unavailable("数据库暂时繁忙或无法连接，请稍后重试")


def init_operations(app: Flask, settings: Settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    if settings.behind_tls:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    replica = replica_engine(settings)
    if replica is not None:  # lists, summaries and reports read here (api.common.report_session)
        app.extensions["relief_replica_engine"] = replica
    app.register_blueprint(bp)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)

    @app.before_request
    def _start() -> None:
        g.relief_started = time.perf_counter()
        g.relief_request_token = REQUEST_ID.set(new_request_id(request.headers.get("X-Request-ID")))
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            from werkzeug.exceptions import RequestEntityTooLarge

            raise RequestEntityTooLarge()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = REQUEST_ID.get()
        if request_id:
            response.headers["X-Request-ID"] = request_id
            _stamp_error_body(response, request_id)
        _security_headers(response, settings)
        elapsed = time.perf_counter() - g.get("relief_started", time.perf_counter())
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 1),
                "remote": request.remote_addr,
            },
        )
        return response

    @app.teardown_request
    def _forget(_error: BaseException | None) -> None:
        token = g.pop("relief_request_token", None)
        if token is not None:
            REQUEST_ID.reset(token)


def _stamp_error_body(response: Response, request_id: str) -> None:
    """Every error body in the common shape names its request id."""
    if response.status_code < 400 or not response.is_json:
        return
    body = response.get_json(silent=True)
    if isinstance(body, dict) and "code" in body and "request_id" not in body:
        body["request_id"] = request_id
        response.set_data(jsonify(body).get_data())


def _security_headers(response: Response, settings: Settings) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    # The back office (relief_inventory.admin) replaces this with its nonce-based policy.
    headers.setdefault("Content-Security-Policy", CSP)
    if settings.behind_tls:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
