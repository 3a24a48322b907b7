"""A small prefecture for tests: two counties, three depots, a few items, users per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine

from relief_inventory.auth import services as auth
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.stock import catalog
from relief_inventory.stock.models import OwnerLevel, Tracking
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse import services as warehouse

PASSWORD = "correct-horse-1"


@dataclass
class World:
    engine: Engine
    actors: dict[str, Actor] = field(default_factory=dict)

    def uow(self, who: str = "admin", reason: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.engine, self.actors[who], reason=reason)


def build_world(engine: Engine) -> World:
    world = World(engine)
    system = auth.system_actor(engine)
    with UnitOfWork(engine, system) as uow:
        warehouse.create_county(uow, "532301", "楚雄市", "25.03", "101.55")
        warehouse.create_county(uow, "532322", "双柏县", "24.69", "101.64")
        warehouse.create_county(uow, "532327", "永仁县", "26.05", "101.67")
        warehouse.create_depot(
            uow,
            code="ZX",
            name="州级救灾物资储备库",
            county_code="532301",
            level="prefecture",
            lat="25.03",
            lon="101.55",
        )
        warehouse.create_depot(
            uow,
            code="SB",
            name="双柏县救灾物资储备库",
            county_code="532322",
            level="county",
            lat="24.69",
            lon="101.64",
        )
        warehouse.create_depot(
            uow,
            code="YR",
            name="永仁县救灾物资储备库",
            county_code="532327",
            level="county",
            lat="26.05",
            lon="101.67",
        )
        catalog.create_owner(uow, "532300", "楚雄州州级储备", OwnerLevel.PREFECTURE)
        catalog.create_owner(uow, "CN", "中央救灾物资储备", OwnerLevel.CENTRAL)
        catalog.create_owner(uow, "532322", "双柏县县级储备", OwnerLevel.COUNTY, "532322")
        catalog.create_owner(uow, "532327", "永仁县县级储备", OwnerLevel.COUNTY, "532327")
        catalog.create_category(uow, "TENT", "帐篷", 1)
        catalog.create_category(uow, "FOOD", "大米", 4)
        catalog.create_item(
            uow,
            code="TENT-12",
            name="12平方米单帐篷",
            unit="顶",
            category_code="TENT",
            unit_value="1450.00",
            specification="3×4m",
            reusable=True,
        )
        catalog.create_item(
            uow,
            code="RICE-10",
            name="大米",
            unit="袋",
            category_code="FOOD",
            unit_value="52.00",
            specification="10kg/袋",
            shelf_life_days=365,
        )
        catalog.create_item(
            uow,
            code="GEN-5",
            name="5千瓦发电机",
            unit="台",
            category_code="TENT",
            unit_value="3800.00",
            tracking=Tracking.SERIAL,
        )
        users = {
            "admin": [(Role.ADMIN, None, None)],
            "keeper_zx": [(Role.KEEPER, "ZX", None)],
            "keeper_zx2": [(Role.KEEPER, "ZX", None)],
            "keeper_sb": [(Role.KEEPER, "SB", None)],
            "dispatcher": [(Role.DISPATCHER, None, None)],
            "dispatcher2": [(Role.DISPATCHER, None, None)],
            "requester_sb": [(Role.REQUESTER, None, "532322")],
            "finance": [(Role.FINANCE, None, None)],
            "finance2": [(Role.FINANCE, None, None)],
            "auditor": [(Role.AUDITOR, None, None)],
        }
        for username, grants in users.items():
            auth.create_user(uow, username, PASSWORD)
            for role, depot, county in grants:
                auth.grant_role(uow, username, role, depot_code=depot, county_code=county)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        for user in session.scalars(select(User)):
            world.actors[user.username] = auth.actor_for(session, user)
    return world


def receive_basic(world: World, quantity: int = 100, depot: str = "ZX") -> str:
    """Receive tents and rice into a depot as its keeper; returns the document number."""
    keeper = "keeper_zx" if depot == "ZX" else "keeper_sb"
    from relief_inventory.stock import services as stock

    with world.uow(keeper) as uow:
        document = stock.receive(
            uow,
            depot=depot,
            partner="昆明帐篷厂",
            lines=[
                {"item": "TENT-12", "lot": f"T-{depot}-1", "quantity": quantity},
                {
                    "item": "RICE-10",
                    "lot": f"R-{depot}-1",
                    "quantity": quantity,
                    "production_date": date.today().isoformat(),
                },
            ],
        )
        return document.number


def bearer(world: World, username: str, days: int = 1) -> dict[str, str]:
    """Authorization header for a user of the world, with a freshly issued token."""
    with world.uow(username) as uow:
        _row, text = auth.issue_token(uow, username, days)
    return {"Authorization": f"Bearer {text}"}


def file_dispatch_request(
    world: World,
    lines: list[dict],
    *,
    county: str = "532322",
    urgency: str = "urgent",
    who: str = "requester_sb",
    submit: bool = True,
) -> str:
    """File (and by default submit) an earthquake dispatch request; returns its number."""
    from relief_inventory.allocation import requests as dispatch

    with world.uow(who) as uow:
        request, _created = dispatch.create(
            uow,
            county=county,
            disaster_type="earthquake",
            urgency=urgency,
            people_affected=1200,
            lines=lines,
            reason="地震致房屋倒塌，群众需紧急转移安置",
            submit=submit,
        )
        return request.number
