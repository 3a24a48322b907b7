"""Master data in the back office: admins update and deactivate depots, items, categories,
counties and users through the services (audited); everyone else reads, scoped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from relief_inventory.audit.models import AuditEntry
from relief_inventory.auth.models import RoleGrant, User
from relief_inventory.db import open_session
from relief_inventory.stock.models import Item
from relief_inventory.warehouse.models import Depot
from tests.backoffice_tools import Office, csrf_token, make_office, office_url, post_form
from tests.conftest import BACKENDS
from tests.factories import receive_basic


def prepare(world) -> dict:
    receive_basic(world, 10, "ZX")
    return {}


@pytest.fixture(scope="module", params=BACKENDS)
def office(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Office]:
    url = office_url(request, tmp_path_factory.mktemp("master"))
    yield from make_office(url, prepare)


def row(office: Office, model, **where):
    with open_session(office.world.engine) as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query)


def test_admin_updates_a_depot_and_the_change_is_audited(office: Office) -> None:
    admin = office.client("admin")
    response = post_form(
        admin,
        "/master/depots/edit/YR",
        "/master/depots/edit/YR",
        name="永仁县救灾物资储备库（新址）",
        address="永仁县永定镇",
        keeper_name="李四",
        keeper_phone="0878-6000000",
        lat="26.05",
        lon="101.67",
    )
    assert response.status_code == 302
    depot = row(office, Depot, code="YR")
    assert depot.name.endswith("（新址）") and depot.keeper_name == "李四"
    entry = row(office, AuditEntry, entity_type="depot", entity_id=str(depot.id), action="update")
    assert entry is not None and entry.actor == "admin"


def test_bad_values_are_refused_with_the_services_message(office: Office) -> None:
    admin = office.client("admin")
    response = post_form(
        admin,
        "/master/items/edit/TENT-12",
        "/master/items/edit/TENT-12",
        name="帐篷",
        unit_value="12.345",
        shelf_life_days="",
    )
    assert response.status_code == 200 and "unit_value" in response.text
    assert row(office, Item, code="TENT-12").name == "12平方米单帐篷"


def test_a_depot_with_stock_cannot_be_deactivated_an_empty_one_can(office: Office) -> None:
    admin = office.client("admin")
    refused = post_form(admin, "/master/depots/edit/ZX", "/master/depots/active/ZX", active="false")
    assert refused.status_code == 302
    assert row(office, Depot, code="ZX").active is True
    post_form(admin, "/master/depots/edit/SB", "/master/depots/active/SB", active="false")
    assert row(office, Depot, code="SB").active is False
    post_form(admin, "/master/depots/edit/SB", "/master/depots/active/SB", active="true")
    assert row(office, Depot, code="SB").active is True


def test_only_admins_edit_master_data(office: Office) -> None:
    keeper = office.client("keeper_zx")
    assert keeper.get("/master/depots/edit/ZX").status_code == 403
    token = csrf_token(keeper.get("/").text)
    assert (
        keeper.post("/master/depots/active/ZX", data={"csrf_token": token, "active": "false"})
    ).status_code == 403
    assert keeper.get("/master/users/").status_code == 403
    assert "/master/items/edit/" not in keeper.get("/master/items/").text


def test_requester_sees_only_their_county_in_master_lists(office: Office) -> None:
    county = office.client("requester_sb")
    depots = county.get("/master/depots/").text
    assert "双柏县救灾物资储备库" in depots and "州级救灾物资储备库" not in depots
    counties = county.get("/master/counties/export/csv/").text
    assert "双柏县" in counties and "永仁县" not in counties


def test_admin_grants_revokes_and_disables_a_user(office: Office) -> None:
    admin = office.client("admin")
    page = "/master/users/edit/keeper_sb"
    post_form(admin, page, "/master/users/act/keeper_sb/grant", role="keeper", depot="YR")
    user = row(office, User, username="keeper_sb")
    with open_session(office.world.engine) as session:
        roles = session.scalars(
            select(RoleGrant.depot_id).where(RoleGrant.user_id == user.id, RoleGrant.active)
        ).all()
    assert len(roles) == 2
    post_form(admin, page, "/master/users/act/keeper_sb/revoke", role="keeper", depot="YR")
    with open_session(office.world.engine) as session:
        roles = session.scalars(
            select(RoleGrant.depot_id).where(RoleGrant.user_id == user.id, RoleGrant.active)
        ).all()
    assert len(roles) == 1
    signed_in = office.client("keeper_sb")
    post_form(admin, page, "/master/users/act/keeper_sb/disable")
    assert row(office, User, username="keeper_sb").active is False
    assert signed_in.get("/").status_code == 302  # a disabled user's session ends at once
    post_form(admin, page, "/master/users/act/keeper_sb/enable")
    assert row(office, User, username="keeper_sb").active is True
