"""The pure allocator: nearest depots first, prefecture depot last, FEFO inside a depot,
ownership, fewest depots on ties, shortages never dropped. No database."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from relief_inventory.allocation.allocator import (
    Candidate,
    DepotSite,
    Need,
    Point,
    allocate,
    depot_tiers,
    straight_line_km,
)
from relief_inventory.stock.ownership import dispatch_may_use
from relief_inventory.stock.removal import LotStock

TODAY = date(2025, 6, 1)
HOME = 1  # the requesting county's id
OTHER = 2

# Chuxiong seat (prefecture depot), Shuangbai (home county), Mouding, Yongren.
CHUXIONG = Point(25.03, 101.55)
SHUANGBAI = Point(24.69, 101.64)
MOUDING = Point(25.31, 101.54)
YONGREN = Point(26.05, 101.67)
SITES = [
    DepotSite(10, "ZX", CHUXIONG, prefecture=True),
    DepotSite(11, "SB", SHUANGBAI, prefecture=False),
    DepotSite(12, "MD", MOUDING, prefecture=False),
    DepotSite(13, "YR", YONGREN, prefecture=False),
]
_quant_ids = iter(range(1, 10**9))


def stock(
    depot: int,
    available: int,
    *,
    item: int = 1,
    expires: date | None = None,
    lot: str | None = None,
    owner_county: int | None = None,
    owner: int = 100,
) -> Candidate:
    quant = next(_quant_ids)
    return Candidate(
        depot,
        item,
        owner_county,
        LotStock(quant, quant, lot or f"L{quant}", owner, expires, available),
    )


def run(needs, candidates, *, destination=SHUANGBAI, sites=SITES, **options):
    return allocate(
        needs,
        county_id=HOME,
        destination=destination,
        sites=sites,
        candidates=candidates,
        delivery_date=TODAY + timedelta(days=1),
        **options,
    )


def depot_quantities(plan) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for pick in plan.picks:
        totals[pick.depot_id] += pick.quantity
    return dict(totals)


def test_straight_line_distance_is_plausible():
    assert straight_line_km(CHUXIONG, CHUXIONG) == 0
    assert 35 < straight_line_km(CHUXIONG, SHUANGBAI) < 42  # about 38 km


def test_depots_in_distance_order_with_the_prefecture_depot_last():
    tiers = depot_tiers(SITES, SHUANGBAI)
    assert [[s.code for s in tier] for tier in tiers] == [["SB"], ["MD"], ["YR"], ["ZX"]]


def test_prefecture_depot_comes_first_when_it_is_the_nearest():
    far_counties = [s for s in SITES if s.code in ("ZX", "YR")]
    tiers = depot_tiers(far_counties, CHUXIONG)
    assert [tier[0].code for tier in tiers] == ["ZX", "YR"]


def test_prefecture_depot_tying_with_a_county_depot_is_still_last():
    sites = [*SITES, DepotSite(14, "CX", CHUXIONG, prefecture=False)]
    tiers = depot_tiers(sites, CHUXIONG)
    assert tiers[0][0].code == "CX"
    assert tiers[-1][0].code == "ZX"


def test_the_requesting_countys_own_points_come_first_nearest_first():
    far_point = DepotSite(20, "SBEJ", Point(24.42, 101.25), prefecture=False, point_of_county=HOME)
    near_point = DepotSite(21, "SBDZ", Point(24.66, 101.50), prefecture=False, point_of_county=HOME)
    other_point = DepotSite(22, "MDPM", MOUDING, prefecture=False, point_of_county=OTHER)
    sites = [*SITES, far_point, near_point, other_point]
    tiers = depot_tiers(sites, SHUANGBAI, county_id=HOME)
    assert [tier[0].code for tier in tiers][:4] == ["SBDZ", "SBEJ", "SB", "MD"]
    assert [tier[0].code for tier in tiers][-1] == "ZX"
    assert depot_tiers(sites, SHUANGBAI)[0][0].code == "SB"  # no county: distance alone


def test_distance_function_is_replaceable():
    road = {"SB": 0, "MD": 300, "YR": 100, "ZX": 50}
    by_point = {s.point: s.code for s in SITES}
    tiers = depot_tiers(SITES, SHUANGBAI, lambda a, b: road[by_point[a]])
    assert [tier[0].code for tier in tiers] == ["SB", "YR", "MD", "ZX"]


def test_nearest_depot_serves_first_then_the_next():
    plan = run([Need(1, 1, 50)], [stock(11, 30), stock(12, 100), stock(10, 100)])
    assert depot_quantities(plan) == {11: 30, 12: 20}
    assert plan.shortages == ()


def test_prefecture_depot_is_the_reserve_of_last_resort():
    # 双柏's own depot holds some: the far county depot 永仁 serves before the prefecture's
    plan = run([Need(1, 1, 50)], [stock(11, 10), stock(10, 100), stock(13, 30)])
    assert depot_quantities(plan) == {11: 10, 13: 30, 10: 10}
    assert [p.depot_id for p in plan.picks] == [11, 13, 10]


def test_prefecture_depot_first_when_nearer_than_every_county_depot_holding_the_item():
    plan = run([Need(1, 1, 50)], [stock(10, 100), stock(13, 30)])
    assert depot_quantities(plan) == {10: 50}


def test_first_expiry_first_out_within_a_depot_and_expired_lots_skipped():
    late = stock(11, 10, expires=TODAY + timedelta(days=300), lot="LATE")
    early = stock(11, 10, expires=TODAY + timedelta(days=30), lot="EARLY")
    expiring = stock(11, 10, expires=TODAY, lot="EXPIRES-TODAY")  # gone by delivery
    plan = run([Need(1, 1, 15)], [late, early, expiring])
    taken = {p.quant_id: p.quantity for p in plan.picks}
    assert taken == {early.stock.quant_id: 10, late.stock.quant_id: 5}


def test_other_counties_reserves_only_when_allowed():
    theirs = stock(12, 100, owner_county=OTHER)
    ours = stock(13, 5, owner_county=HOME)
    prefecture = stock(10, 5)
    plan = run([Need(1, 1, 20)], [theirs, ours, prefecture])
    assert depot_quantities(plan) == {13: 5, 10: 5}
    assert plan.shortages[0].quantity == 10
    allowed = run([Need(1, 1, 20)], [theirs, ours, prefecture], allow_other_counties=True)
    assert depot_quantities(allowed) == {10: 5, 12: 15}  # 牟定 before far 永仁


def test_may_use_rule():
    assert dispatch_may_use(None, HOME, False)
    assert dispatch_may_use(HOME, HOME, False)
    assert not dispatch_may_use(OTHER, HOME, False)
    assert dispatch_may_use(OTHER, HOME, True)


def test_shortage_is_reported_never_dropped():
    plan = run([Need(1, 1, 40), Need(2, 2, 5)], [stock(11, 25)])
    assert plan.picked(1) == 25
    assert {(s.line_id, s.quantity) for s in plan.shortages} == {(1, 15), (2, 5)}


def test_fewest_depots_when_distances_tie():
    twin_a = DepotSite(20, "A", MOUDING, prefecture=False)
    twin_b = DepotSite(21, "B", MOUDING, prefecture=False)
    plan = run(
        [Need(1, 1, 40)],
        [stock(20, 30), stock(21, 45)],
        sites=[twin_a, twin_b],
    )
    assert depot_quantities(plan) == {21: 40}


def test_tie_prefers_a_depot_already_serving_the_request():
    twin_a = DepotSite(20, "A", MOUDING, prefecture=False)
    twin_b = DepotSite(21, "B", MOUDING, prefecture=False)
    candidates = [
        stock(20, 10, item=1),
        stock(21, 50, item=1),
        stock(20, 20, item=2),
        stock(21, 100, item=2),
    ]
    plan = run([Need(1, 1, 10), Need(2, 2, 20)], candidates, sites=[twin_a, twin_b])
    assert plan.depots == {21}  # B serves both lines; A would add a second depot


def test_one_quant_is_never_taken_twice_across_lines():
    shared = stock(11, 10, item=1)
    plan = run([Need(1, 1, 8), Need(2, 1, 8)], [shared])
    assert plan.picked(1) + plan.picked(2) == 10
    assert sum(s.quantity for s in plan.shortages) == 6


def test_stock_in_depots_not_listed_is_ignored():
    plan = run([Need(1, 1, 5)], [stock(99, 100)])
    assert plan.picks == ()


@st.composite
def scenarios(draw):
    candidates = draw(
        st.lists(
            st.builds(
                lambda depot, qty, item, days, county: stock(
                    depot,
                    qty,
                    item=item,
                    expires=None if days is None else TODAY + timedelta(days=days),
                    owner_county=county,
                ),
                st.sampled_from([10, 11, 12, 13]),
                st.integers(1, 60),
                st.integers(1, 3),
                st.none() | st.integers(-5, 400),
                st.none() | st.sampled_from([HOME, OTHER]),
            ),
            max_size=25,
        )
    )
    items = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True))
    needs = [Need(i, item, draw(st.integers(1, 200))) for i, item in enumerate(items)]
    return needs, candidates, draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_properties(scenario):
    needs, candidates, allow_others = scenario
    plan = run(needs, candidates, allow_other_counties=allow_others)
    by_quant = {c.stock.quant_id: c for c in candidates}
    delivery = TODAY + timedelta(days=1)

    def serves(c: Candidate, item_id: int) -> bool:
        """Stock of this item the request may use and that is still good on delivery."""
        return (
            c.item_id == item_id
            and dispatch_may_use(c.owner_county_id, HOME, allow_others)
            and (c.stock.expiry_date is None or c.stock.expiry_date >= delivery)
        )

    taken: dict[int, int] = defaultdict(int)
    for pick in plan.picks:
        source = by_quant[pick.quant_id]
        taken[pick.quant_id] += pick.quantity
        assert pick.quantity > 0 and source.depot_id == pick.depot_id
        assert serves(source, pick.item_id)
    for quant_id, quantity in taken.items():
        assert quantity <= by_quant[quant_id].stock.available  # never over-picked
    shortages = {s.line_id: s.quantity for s in plan.shortages}
    for need in needs:
        assert plan.picked(need.line_id) + shortages.get(need.line_id, 0) == need.quantity
        left = {
            c.stock.quant_id: c.stock.available - taken.get(c.stock.quant_id, 0)
            for c in candidates
            if serves(c, need.item_id)
        }
        if need.line_id in shortages:  # short only when every usable piece was taken
            assert sum(left.values()) == 0
        # nearest first: a farther tier (of the depots holding what the line may use) only
        # once the nearer tiers are exhausted
        holding = [
            s
            for s in SITES
            if any(serves(c, need.item_id) and c.depot_id == s.depot_id for c in candidates)
        ]
        rank = {
            s.depot_id: r for r, tier in enumerate(depot_tiers(holding, SHUANGBAI)) for s in tier
        }
        used = [rank[p.depot_id] for p in plan.picks if p.line_id == need.line_id]
        for c in candidates:
            if used and serves(c, need.item_id) and rank[c.depot_id] < max(used):
                assert left[c.stock.quant_id] == 0
