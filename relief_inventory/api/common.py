"""What every API handler needs: the engine, the authenticated actor, a unit of work."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser

from relief_inventory.auth.actor import Actor
from relief_inventory.auth.services import actor_for_token
from relief_inventory.db import open_session
from relief_inventory.errors import Unauthenticated
from relief_inventory.uow import UnitOfWork


def engine() -> Engine:
    return current_app.extensions["relief_engine"]


def read_session() -> Session:
    return open_session(engine())


def actor() -> Actor:
    return g.actor


def write(reason: str | None = None) -> UnitOfWork:
    return UnitOfWork(engine(), actor(), reason=reason)


def authenticate_request() -> None:
    """Bearer token required on every route of a protected blueprint."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("缺少或无效的 Authorization: Bearer 令牌")
    with read_session() as session:
        g.actor = actor_for_token(session, token.strip())


class ReliefParser(FlaskParser):
    """webargs' parser, also answering 400 for JSON that Python's decoder gives up on with
    something other than a decode error: nesting deeper than the recursion limit, integer
    literals longer than 4300 digits. Without this they would be server errors."""

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise  # webargs' own handling: an empty body is "missing", the rest 400
        except (RecursionError, ValueError) as error:
            self._handle_invalid_json_error(error, req)  # type: ignore[arg-type]


class ReliefBlueprint(Blueprint):
    ARGUMENTS_PARSER = ReliefParser()


def protected_blueprint(
    name: str, import_name: str, url_prefix: str, description: str
) -> Blueprint:
    """A blueprint whose every route needs a bearer token (all but logging in)."""
    blueprint = ReliefBlueprint(name, import_name, url_prefix=url_prefix, description=description)
    blueprint.before_request(authenticate_request)
    return blueprint
