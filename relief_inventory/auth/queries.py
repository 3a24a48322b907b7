"""Read-side queries for users (lists, exports)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.models import RoleGrant, User
from relief_inventory.warehouse.models import County, Depot


def user_rows(session: Session) -> list[dict]:
    depots = dict(session.execute(select(Depot.id, Depot.code)).all())
    counties = dict(session.execute(select(County.id, County.code)).all())
    grants: dict[int, list[str]] = {}
    for grant in session.scalars(select(RoleGrant).where(RoleGrant.active.is_(True))):
        scope = depots.get(grant.depot_id) or counties.get(grant.county_id) or ""
        grants.setdefault(grant.user_id, []).append(
            f"{grant.role}:{scope}" if scope else grant.role
        )
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "active": u.active,
            "roles": ", ".join(sorted(grants.get(u.id, []))),
        }
        for u in session.scalars(select(User).order_by(User.username))
    ]
