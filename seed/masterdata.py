"""Counties, owners, categories, depots, items and demo users, through the services.

At ``--scale N`` the depots and items are copied N times (copy 0 is the prefecture itself);
the copies get suffixed codes (``ZX-002``, ``RICE-10-002``) and their own Faker keepers.
Counties, owners, categories and users exist once.
"""

from __future__ import annotations

from faker import Faker
from sqlalchemy import Engine

from relief_inventory.auth import services as auth
from relief_inventory.auth.actor import Actor
from relief_inventory.stock import catalog
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse import services as warehouse
from seed.reference import Reference

REASON = "演示数据初始化"


def replica_code(code: str, replica: int) -> str:
    """Codes of copy ``replica``: copy 0 keeps the real codes."""
    return code if replica == 0 else f"{code}-{replica + 1:03d}"


def create_shared(engine: Engine, system: Actor, reference: Reference) -> None:
    """What exists once whatever the scale: counties, owners, categories."""
    with UnitOfWork(engine, system, reason=REASON) as uow:
        for county in reference.counties:
            warehouse.create_county(uow, county.code, county.name, county.lat, county.lon)
        for owner in reference.owners:
            catalog.create_owner(uow, owner.code, owner.name, owner.level, owner.county)
        for category in reference.categories:
            catalog.create_category(uow, category.code, category.name, category.sort_order)


def create_replica(
    engine: Engine, system: Actor, reference: Reference, replica: int, fake: Faker
) -> None:
    """The depots and items of one copy of the prefecture."""
    with UnitOfWork(engine, system, reason=REASON) as uow:
        for depot in reference.depots:
            warehouse.create_depot(
                uow,
                code=replica_code(depot.code, replica),
                name=depot.name if replica == 0 else f"{depot.name}（{replica + 1}号分库）",
                county_code=depot.county,
                level=depot.level,
                lat=depot.lat,
                lon=depot.lon,
                address=depot.address,
                keeper_name=fake.name(),
                keeper_phone=fake.phone_number(),
            )
        for item in reference.items:
            catalog.create_item(
                uow,
                code=replica_code(item.code, replica),
                name=item.name,
                unit=item.unit,
                category_code=item.category,
                unit_value=item.unit_value,
                specification=item.specification,
                shelf_life_days=item.shelf_life_days,
                tracking=item.tracking,
                reusable=item.reusable,
            )


def create_users(engine: Engine, system: Actor, reference: Reference) -> None:
    """One demo user per role, with the printed (deterministic) demo passwords."""
    with UnitOfWork(engine, system, reason=REASON) as uow:
        for user in reference.users:
            auth.create_user(uow, user.username, user.password, display_name=user.display_name)
            for role, scope in user.grants:
                depot = scope if role == "keeper" else None
                county = scope if role == "requester" else None
                auth.grant_role(uow, user.username, role, depot_code=depot, county_code=county)
