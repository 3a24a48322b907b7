"""Read-side queries for users (lists, exports, who am I)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor
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


def who_am_i(session: Session, actor: Actor) -> dict:
    """The acting user as clients need it: roles and the depots and counties they cover."""
    user = session.get(User, actor.user_id)
    depots = dict(session.execute(select(Depot.id, Depot.code)).all())
    counties = dict(session.execute(select(County.id, County.code)).all())
    grants = session.scalars(
        select(RoleGrant)
        .where(RoleGrant.user_id == actor.user_id, RoleGrant.active.is_(True))
        .order_by(RoleGrant.role, RoleGrant.id)
    ).all()
    return {
        "username": actor.username,
        "display_name": user.display_name if user else actor.username,
        "roles": sorted(actor.roles),
        "depots": sorted(depots[d] for d in actor.depot_ids if d in depots),
        "counties": sorted(counties[c] for c in actor.county_ids if c in counties),
        "grants": [
            {
                "role": g.role,
                "depot": depots.get(g.depot_id) if g.depot_id else None,
                "county": counties.get(g.county_id) if g.county_id else None,
            }
            for g in grants
        ],
    }
