"""Who may do what: roles, scopes and segregation of duties, written once.

Every service calls these before it changes anything, so the admin UI, the API and the CLI
obey the same rules. Pure functions over an ``Actor``: no database here.
"""

from __future__ import annotations

from relief_inventory.auth.actor import Actor, Role
from relief_inventory.errors import Hidden, PermissionDenied


def require_role(actor: Actor, *roles: str) -> None:
    """Admins may do everything an office role may; auditors only read."""
    if actor.is_admin or actor.has(*roles):
        return
    names = "、".join(Role.LABELS.get(r, r) for r in roles)
    raise PermissionDenied(f"用户 {actor.username} 无权执行此操作（需要角色：{names}）")


def require_depot(actor: Actor, depot_id: int) -> None:
    """Keepers act only on the stock of their own depots; admins on every depot."""
    if actor.is_admin or (actor.has(Role.KEEPER) and depot_id in actor.depot_ids):
        return
    raise PermissionDenied(f"用户 {actor.username} 不是该仓库的保管员，无权操作其库存")


def require_county(actor: Actor, county_id: int, *, hidden: Hidden | None = None) -> None:
    """County requesters see and file only their own county's documents. With ``hidden``
    (the "not found" answer for the document in question) a refusal is answered with it,
    so another county's document and a missing one look the same."""
    if actor.is_admin or actor.has(Role.DISPATCHER, Role.AUDITOR, Role.FINANCE):
        return
    if actor.has(Role.REQUESTER) and county_id in actor.county_ids:
        return
    if hidden is not None:
        raise hidden
    raise PermissionDenied(f"用户 {actor.username} 无权查看或提交其他县市的单据")


def can_read_county(actor: Actor, county_id: int) -> bool:
    try:
        require_county(actor, county_id)
    except PermissionDenied:
        return False
    return True


def require_other_person(actor: Actor, *involved: int | None, what: str = "该单据") -> None:
    """Segregation of duties: nobody approves what they requested, released or received."""
    if actor.user_id is not None and actor.user_id in involved:
        raise PermissionDenied(f"职责分离：不能审批或核验本人经手的{what}")
