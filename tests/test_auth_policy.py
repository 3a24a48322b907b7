"""The pure rules of auth/policy.py: each role allowed and refused where it should be."""

from __future__ import annotations

import pytest

from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import (
    can_read_county,
    require_county,
    require_depot,
    require_other_person,
    require_role,
)
from relief_inventory.errors import PermissionDenied

ZX, SB = 1, 2  # depot ids
CHUXIONG, SHUANGBAI = 10, 20  # county ids

ACTORS = {
    "admin": Actor(1, "admin", frozenset({Role.ADMIN})),
    "keeper": Actor(2, "keeper", frozenset({Role.KEEPER}), depot_ids=frozenset({ZX})),
    "dispatcher": Actor(3, "dispatcher", frozenset({Role.DISPATCHER})),
    "requester": Actor(
        4, "requester", frozenset({Role.REQUESTER}), county_ids=frozenset({SHUANGBAI})
    ),
    "finance": Actor(5, "finance", frozenset({Role.FINANCE})),
    "auditor": Actor(6, "auditor", frozenset({Role.AUDITOR})),
    "nobody": Actor(7, "nobody"),
}


def allowed(check) -> bool:
    try:
        check()
    except PermissionDenied:
        return False
    return True


# Who passes require_role(required): the role itself and admins; auditors only their own.
@pytest.mark.parametrize("required", Role.ALL)
@pytest.mark.parametrize("who", sorted(ACTORS))
def test_require_role(who, required):
    expected = who == "admin" or who == required
    assert allowed(lambda: require_role(ACTORS[who], required)) is expected


def test_auditor_is_read_only_and_refusal_names_the_role():
    with pytest.raises(PermissionDenied) as caught:
        require_role(ACTORS["auditor"], Role.KEEPER, Role.ADMIN)
    assert "仓库保管员" in caught.value.message and "auditor" in caught.value.message


def test_several_roles_add_up():
    both = Actor(8, "both", frozenset({Role.KEEPER, Role.FINANCE}), depot_ids=frozenset({SB}))
    assert allowed(lambda: require_role(both, Role.FINANCE))
    assert allowed(lambda: require_depot(both, SB))
    assert not allowed(lambda: require_depot(both, ZX))
    assert not allowed(lambda: require_role(both, Role.DISPATCHER))


@pytest.mark.parametrize(
    ("who", "depot", "expected"),
    [
        ("keeper", ZX, True),
        ("keeper", SB, False),  # another depot
        ("admin", SB, True),
        ("dispatcher", ZX, False),
        ("auditor", ZX, False),
        ("requester", ZX, False),
    ],
)
def test_require_depot(who, depot, expected):
    assert allowed(lambda: require_depot(ACTORS[who], depot)) is expected


@pytest.mark.parametrize(
    ("who", "county", "expected"),
    [
        ("requester", SHUANGBAI, True),
        ("requester", CHUXIONG, False),  # another county
        ("dispatcher", CHUXIONG, True),
        ("finance", CHUXIONG, True),
        ("auditor", CHUXIONG, True),
        ("admin", CHUXIONG, True),
        ("keeper", CHUXIONG, False),
        ("nobody", CHUXIONG, False),
    ],
)
def test_require_county(who, county, expected):
    assert allowed(lambda: require_county(ACTORS[who], county)) is expected
    assert can_read_county(ACTORS[who], county) is expected


def test_segregation_of_duties_is_one_rule_for_everyone():
    keeper = ACTORS["keeper"]
    with pytest.raises(PermissionDenied) as caught:
        require_other_person(keeper, 9, keeper.user_id, what="报废单")
    assert caught.value.message == "职责分离：不能审批或核验本人经手的报废单"
    with pytest.raises(PermissionDenied):  # admins are no exception
        require_other_person(ACTORS["admin"], ACTORS["admin"].user_id)
    require_other_person(keeper, 9, None)  # someone else, or nobody yet: allowed
    require_other_person(keeper)
    require_other_person(Actor(None, "bootstrap", frozenset({Role.ADMIN})), None)
