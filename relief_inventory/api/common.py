"""What every API handler needs: the engine, the authenticated actor, a unit of work."""

from __future__ import annotations

from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor
from relief_inventory.auth.services import actor_for_token
from relief_inventory.errors import Unauthenticated
from relief_inventory.uow import UnitOfWork


def engine() -> Engine:
    return current_app.extensions["relief_engine"]


def read_session() -> Session:
    return Session(engine())


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


def protected_blueprint(
    name: str, import_name: str, url_prefix: str, description: str
) -> Blueprint:
    """A blueprint whose every route needs a bearer token (all but logging in)."""
    blueprint = Blueprint(name, import_name, url_prefix=url_prefix, description=description)
    blueprint.before_request(authenticate_request)
    return blueprint
