"""``GET /me``: who the bearer token belongs to, with roles and scopes."""

from __future__ import annotations

from flask.views import MethodView

from relief_inventory.api.common import actor, protected_blueprint, read_session
from relief_inventory.auth.queries import who_am_i
from schemas.audit import MeSchema

blp = protected_blueprint("me", __name__, "/me", "当前用户：用户名、角色与范围")


@blp.route("")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self) -> dict:
        """The authenticated user: username, roles, depots (keepers), counties (requesters)."""
        with read_session() as session:
            return who_am_i(session, actor())
