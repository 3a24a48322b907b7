"""Logging in over the API: a username and password buy a bearer token."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from relief_inventory.api.common import api_blueprint, engine, refuse_undeclared_input
from relief_inventory.auth import services as auth_services
from relief_inventory.auth.actor import Actor
from relief_inventory.uow import UnitOfWork
from schemas.auth import LoginSchema, TokenSchema

blp = api_blueprint("auth", __name__, "/auth", "登录与令牌（无需令牌）")
blp.before_request(refuse_undeclared_input)


@blp.route("/token")
class TokenIssue(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(201, TokenSchema)
    def post(self, body: dict) -> dict:
        """Exchange a username and password for a bearer token (shown once).

        Failed logins are limited per client address and per name from that address
        (401 while a name is locked from an address, 429 once an address has failed too
        often); see README, "Passwords, tokens, login limits"."""
        who: Actor = auth_services.authenticate(
            engine(), body["username"], body["password"], client=request.remote_addr
        )
        with UnitOfWork(engine(), who, reason="API 登录签发令牌") as uow:
            row, text = auth_services.issue_token(uow, who.username, body.get("days", 1))
        return {"token": text, "prefix": row.prefix, "expires_at": row.expires_at}
