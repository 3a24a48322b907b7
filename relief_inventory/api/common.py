"""What every API handler needs: the engine, the authenticated actor, a unit of work."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from relief_inventory import attempts, transactions
from relief_inventory.auth.actor import Actor
from relief_inventory.auth.services import actor_for_token
from relief_inventory.db import open_session
from relief_inventory.errors import Unauthenticated
from relief_inventory.idempotency import once
from relief_inventory.uow import UnitOfWork

T = TypeVar("T")


def engine() -> Engine:
    return current_app.extensions["relief_engine"]


def read_session() -> Session:
    return open_session(engine())


def report_engine() -> Engine:
    """The streaming standby when RELIEF_REPLICA_URL is set, else the primary."""
    return current_app.extensions.get("relief_replica_engine") or engine()


def report_session() -> Session:
    """For reads that decide nothing — lists, summaries, reports, dashboards — which may
    come from a hot standby a few milliseconds behind. Anything a write depends on (stock
    available to reserve, a balance to spend, the token of the caller) reads the primary
    through ``read_session`` or the unit of work."""
    return open_session(report_engine())


def actor() -> Actor:
    return g.actor


def run(work: Callable[[UnitOfWork], T], reason: str | None = None) -> T:
    """``work(uow)`` as the authenticated user, done again if the database broke a
    deadlock (``transactions.run``)."""
    return transactions.run(engine(), actor(), work, reason=reason)


def create(
    operation: Callable[..., Any], key: str | None, reason: str | None = None, /, **request: Any
) -> tuple[Any, int]:
    """A creating POST: ``operation(uow, **request)`` at most once per ``Idempotency-Key``
    (``idempotency.once``). Returns what it made and the status to answer: 201 when made
    now, 200 for a replay of the first call."""
    made, created = run(lambda uow: once(uow, key, operation, **request), reason)
    return made, 201 if created else 200


def authenticate_request() -> None:
    """Bearer token required on every route of a protected blueprint."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("缺少或无效的 Authorization: Bearer 令牌")
    with read_session() as session:
        g.actor = actor_for_token(session, token.strip())


MAX_BODY_BYTES = 2 * 1024 * 1024  # a 500-line receipt is about 100 KB


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``{"submit": false, "submit": true}`` means whatever the last parser says: refuse it."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, JSON has none


class ReliefParser(FlaskParser):
    """webargs' parser, stricter where a loose reading would act on what the client did not
    say, and answering every refusal in the common error shape:

    - a body that is not declared JSON (``curl -d approve=false``) is 415, never ignored;
    - JSON with a repeated key, ``NaN``/``Infinity``, nesting deeper than the recursion
      limit or integer literals over 4300 digits is 400 (the last two would otherwise be
      server errors); over ``MAX_BODY_BYTES`` is 413;
    - unknown query parameters are refused like unknown body fields (422), and so is a
      parameter given twice (``?depot=ZX&depot=SB`` would silently mean the first).
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }

    def _raw_load_json(self, req: Any) -> Any:
        if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
            abort(413)
        data = req.get_data(cache=True)
        if not is_json_request(req):
            if data:
                abort(415)
            return missing
        if len(data) > MAX_BODY_BYTES:
            abort(413)
        if not data:
            return missing
        try:
            text = data.decode("utf-8")
            return json.loads(
                text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constants
            )
        except _DuplicateKey as error:
            abort(400, message=f"请求体 JSON 中字段重复：{str(error)[:64]}")
        except (RecursionError, ValueError) as error:  # JSONDecodeError, UnicodeDecodeError too
            self._handle_invalid_json_error(error, req)  # type: ignore[arg-type]

    def _handle_invalid_json_error(self, error: Exception, req: Any, *args: Any, **kwargs: Any):  # type: ignore[override]
        abort(400, message="请求体不是合法的 JSON（须为 UTF-8 编码的 JSON 对象）")

    def load_querystring(self, req: Any, schema: Any) -> Any:
        repeated = sorted(key for key in req.args if len(req.args.getlist(key)) > 1)
        if repeated:
            abort(422, errors={key: ["参数重复"] for key in repeated})
        return super().load_querystring(req, schema)


class ReliefBlueprint(Blueprint):
    ARGUMENTS_PARSER = ReliefParser()


def _declared_locations() -> set[str]:
    """Where the current route reads its arguments (``query``, ``json``, ``headers``), from
    the ``@blp.arguments`` declarations flask-smorest keeps on the view method."""
    view = current_app.view_functions.get(request.endpoint or "")
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None)
    parameters = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return {parameter.get("in", "json") for parameter in parameters}


def refuse_undeclared_input() -> None:
    """A route that declares no query parameters refuses any (a mistyped filter must not
    silently return everything); a write that declares no body refuses one. Routes that
    declare them are checked by their schemas."""
    declared = _declared_locations()
    if request.args and not declared & {"query", "querystring"}:
        abort(422, errors={key: ["未知参数"] for key in sorted(request.args)})
    writes = request.method in ("POST", "PUT", "PATCH")
    if writes and "json" not in declared and request.get_data(cache=True):
        abort(422, errors={"_schema": ["此操作不接受请求体"]})


def note_attempt() -> None:
    """What this request attempts, for a ``refused`` audit entry (``attempts``)."""
    g.relief_attempt = attempts.begin(f"{request.method} {request.full_path.rstrip('?')}")


def forget_attempt(_error: BaseException | None) -> None:
    token = g.pop("relief_attempt", None)
    if token is not None:
        with suppress(ValueError):  # torn down in another context: nothing of ours is set
            attempts.end(token)


def api_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    """A blueprint of the API: undeclared query parameters and bodies are refused, and what
    each request attempts is known to the audit log."""
    blueprint = ReliefBlueprint(name, import_name, url_prefix=url_prefix, description=description)
    blueprint.before_request(note_attempt)
    blueprint.teardown_request(forget_attempt)
    return blueprint


def protected_blueprint(
    name: str, import_name: str, url_prefix: str, description: str
) -> Blueprint:
    """A blueprint whose every route needs a bearer token (all but logging in)."""
    blueprint = api_blueprint(name, import_name, url_prefix, description)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(refuse_undeclared_input)
    return blueprint
