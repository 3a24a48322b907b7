"""The pure readiness calculators, by hand: needs from people and days, travel legs, arrival
windows, shortfall, cut-off depots, ownership; and Hypothesis properties (a scenario never
plans more than is free and never touches the stock it reads)."""

from __future__ import annotations

import copy
import math
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from relief_inventory.allocation.allocator import Point
from relief_inventory.readiness import scenario
from relief_inventory.readiness.standards import (
    DEFAULT_STANDARDS,
    Basis,
    Standard,
    households,
    need,
    needs,
)
from relief_inventory.readiness.travel import Leg, TravelSettings, estimated_leg, measured_leg

TENT = scenario.ItemInfo(1, "TENT-12", "帐篷", "顶", "TENT", Decimal(1))
RICE10 = scenario.ItemInfo(2, "RICE-10", "大米", "袋", "RICE", Decimal(10))
RICE25 = scenario.ItemInfo(3, "RICE-25", "大米", "袋", "RICE", Decimal(25))
ITEMS = {i.item_id: i for i in (TENT, RICE10, RICE25)}
OWN, OTHER = 7, 8  # county ids


def source(depot_id: int, hours: float, *, prefecture: bool = False) -> scenario.Source:
    return scenario.Source(
        depot_id, f"D{depot_id}", f"仓库{depot_id}", prefecture, Leg(0, hours, False)
    )


def stock(depot_id: int, item: scenario.ItemInfo, free: int, county: int | None = OWN):
    level = "county" if county else "prefecture"
    return scenario.Stock(depot_id, item.item_id, level, county, free)


def test_needs_from_people_days_and_households():
    assert households(10) == 3 and households(8) == 2 and households(9, 3) == 3
    got = needs(DEFAULT_STANDARDS, 20_000, 3)
    assert got["TENT"] == 5_000  # one per household of four
    assert got["QUILT"] == 20_000  # one per person
    assert got["RICE"] == 30_000  # 0.5 kg × 20,000 × 3 days
    assert got["WATER"] == 180_000  # 3 L × 20,000 × 3
    assert got["OIL"] == 1_500  # 25 ml × 20,000 × 3
    assert got["BLANKET"] == 10_000 and got["RESCUE"] == 1_000
    # rounded up to whole measures
    assert need(Standard("X", Basis.PER_PERSON_DAY, Decimal("0.025"), "L"), 7, 3) == 1
    assert need(Standard("X", Basis.PER_HOUSEHOLD, Decimal("1"), "顶"), 10, 1, 4) == 3


def test_estimated_and_measured_legs():
    leg = estimated_leg(Point(0.0, 0.0), Point(0.0, 1.0))  # 111.2 km straight
    assert leg == Leg(166.8, 4.2, True)  # × 1.5, at 40 km/h
    slow = estimated_leg(Point(0.0, 0.0), Point(0.0, 1.0), TravelSettings(Decimal(2), Decimal(20)))
    assert slow == Leg(222.4, 11.1, True)
    assert measured_leg(Decimal("80"), None, TravelSettings()) == Leg(80.0, 2.0, False)
    assert measured_leg(Decimal("80"), Decimal("3.5"), TravelSettings()) == Leg(80.0, 3.5, False)
    loading = scenario.Source(1, "A", "A", False, Leg(10, 2.5, False), loading_hours=1.0)
    assert loading.hours == 3.5  # arrival counts loading the trucks


def run(**kwargs):
    defaults = dict(
        county_id=OWN,
        needs={"TENT": 100},
        sources=[source(1, 1), source(2, 10), source(3, 2, prefecture=True)],
        stock=[stock(1, TENT, 30), stock(2, TENT, 50), stock(3, TENT, 40, None)],
        items=ITEMS,
    )
    return scenario.check(**{**defaults, **kwargs})


def line(result, hours, category="TENT"):
    return next(x for x in result.windows[hours] if x.category == category)


def test_windows_nearest_first_prefecture_last_resort():
    result = run()
    # own depot 30 (1 h), the county depot 50 (10 h), then the prefecture's 20 (2 h)
    assert [(a.depot_id, a.pieces) for a in result.arrivals] == [(1, 30), (2, 50), (3, 20)]
    assert (line(result, 6).arrived, line(result, 6).shortfall) == (50, 50)
    assert (line(result, 12).arrived, line(result, 12).shortfall) == (100, 0)
    assert result.external == {} and result.pieces() == {TENT.item_id: 100}


def test_cut_off_depot_sends_nothing_and_the_rest_is_external():
    result = run(cut_off=[2])
    assert [(a.depot_id, a.pieces) for a in result.arrivals] == [(1, 30), (3, 40)]
    assert line(result, 72).shortfall == 30 and result.external == {"TENT": 30}


def test_beyond_the_last_window_is_unreachable():
    result = run(sources=[source(1, 1), source(2, 80), source(3, 2, prefecture=True)])
    assert 2 not in {a.depot_id for a in result.arrivals}
    assert result.unreachable == (2,) and result.external == {"TENT": 30}


def test_other_counties_reserves_only_when_allowed():
    rows = [stock(1, TENT, 30), stock(2, TENT, 50, OTHER)]
    allowed = run(stock=rows)
    assert allowed.external == {"TENT": 20}
    own_only = run(stock=rows, allow_other_counties=False)
    assert own_only.external == {"TENT": 70}


def test_measures_per_piece_round_up_and_smaller_pieces_first():
    result = run(needs={"RICE": 25}, stock=[stock(1, RICE10, 3), stock(1, RICE25, 1)])
    assert [(a.item_id, a.pieces, a.measures) for a in result.arrivals] == [(2, 3, 30)]
    assert line(result, 6, "RICE").shortfall == 0
    short = run(needs={"RICE": 55}, stock=[stock(1, RICE10, 3), stock(1, RICE25, 1)])
    assert [(a.item_id, a.pieces) for a in short.arrivals] == [(2, 3), (3, 1)]
    assert short.external == {}


stock_rows = st.lists(
    st.builds(
        scenario.Stock,
        depot_id=st.integers(1, 5),
        item_id=st.sampled_from([1, 2, 3]),
        owner_level=st.sampled_from(["county", "prefecture", "central"]),
        owner_county_id=st.sampled_from([OWN, OTHER, None]),
        free=st.integers(0, 60),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    rows=stock_rows,
    hours=st.lists(st.floats(0, 100, allow_nan=False), min_size=5, max_size=5),
    tents=st.integers(0, 400),
    rice=st.integers(0, 2000),
    cut=st.sets(st.integers(1, 5)),
    others=st.booleans(),
)
def test_never_plans_more_than_free_and_touches_nothing(rows, hours, tents, rice, cut, others):
    sources = [source(i + 1, h, prefecture=i == 0) for i, h in enumerate(hours)]
    before = copy.deepcopy(rows)
    result = scenario.check(
        county_id=OWN,
        needs={"TENT": tents, "RICE": rice},
        sources=sources,
        stock=rows,
        items=ITEMS,
        cut_off=cut,
        allow_other_counties=others,
    )
    assert rows == before  # it reads the stock and changes nothing
    free: dict[tuple[int, int], int] = {}
    for row in rows:
        free[(row.depot_id, row.item_id)] = free.get((row.depot_id, row.item_id), 0) + row.free
    planned: dict[tuple[int, int], int] = {}
    for a in result.arrivals:
        assert a.depot_id not in cut and a.hours <= 72 and a.pieces > 0
        planned[(a.depot_id, a.item_id)] = planned.get((a.depot_id, a.item_id), 0) + a.pieces
    assert all(q <= free[key] for key, q in planned.items())
    for category, needed in (("TENT", tents), ("RICE", rice)):
        got = sum(a.measures for a in result.arrivals if a.category == category)
        # never more than one piece beyond the need; short only by what is external
        assert got < needed + 25
        assert result.external.get(category, 0) == max(0, math.ceil(needed - got))
        windows = [line(result, h, category).shortfall for h in scenario.WINDOWS]
        assert windows == sorted(windows, reverse=True)


def test_coverage_targets_gaps_and_the_best_transfer():
    from relief_inventory.readiness import coverage as cov

    tents = {"TENT": DEFAULT_STANDARDS["TENT"]}
    counties = [cov.CountyAtRisk(1, "A", "甲县", 4000), cov.CountyAtRisk(2, "B", "乙县", 800)]
    # 10 % of 4,000 = 400 people = 100 households -> 100 tents; 乙县: 80 people -> 20 tents
    assert cov.target(tents["TENT"], 4000, None) == 100
    assert cov.target(tents["TENT"], 4000, Decimal("12.5")) == 50  # the bureau's per 1,000

    def holding(depot, county, pieces, *, prefecture=False, item="TENT-12", content=1):
        return cov.Holding(
            depot, f"D{depot}", county, prefecture, depot, item, "TENT", Decimal(content), pieces
        )

    holdings = [
        holding(1, 1, 60),  # 甲县 holds 60 of 100
        holding(2, 2, 50),  # 乙县 holds 50 of 20: 30 to spare
        holding(3, 1, 25, prefecture=True, item="TENT-36", content=3),  # 75 tents' worth
    ]
    hours = {(2, 1): 2.0, (3, 1): 1.0}
    lines = {line.county: line for line in cov.coverage(counties, tents, {}, holdings, hours)}
    a, b = lines["A"], lines["B"]
    assert (a.target, a.held, a.gap, a.percent) == (100, 60, 40, 60)
    assert (b.target, b.held, b.gap, b.percent) == (20, 50, 0, 250) and b.transfer is None
    # the prefecture's 36 m² tents close all 40 (14 pieces = 42); 乙县's spare 30 would not
    assert a.transfer == cov.Transfer("D3", "TENT-36", 14, Decimal(42), 1.0)
    without = [h for h in holdings if not h.prefecture]
    only = {x.county: x for x in cov.coverage(counties, tents, {}, without, hours)}
    assert only["A"].transfer == cov.Transfer("D2", "TENT-12", 30, Decimal(30), 2.0)


def test_rotation_due_actions_and_inspections():
    from datetime import date

    from relief_inventory.readiness import rotation as rot

    today = date(2026, 6, 1)

    def lot(lot_id, expiry, category="RICE", quantity=10):
        return rot.LotOnHand(1, lot_id, 1, 1, category, expiry, quantity)

    lots = [
        lot(1, date(2026, 5, 31)),  # expired yesterday: scrap
        lot(2, date(2026, 6, 20)),  # 19 days: donate
        lot(3, date(2026, 9, 1)),  # 92 days, inside the 120-day window: rotate out
        lot(4, date(2026, 10, 1)),  # 122 days: not yet due
        lot(5, None, "TENT"),  # no expiry: never due
    ]
    due = rot.due(lots, {"RICE": 120, "TENT": None}, today)
    assert [(d.lot.lot_id, d.days_left, d.action, d.replacement) for d in due] == [
        (1, -1, "scrap", 10),
        (2, 19, "donate", 10),
        (3, 92, "rotate_out", 10),
    ]
    checks = rot.inspections(
        [(1, "TENT"), (1, "RICE"), (2, "RICE")],
        {(1, "TENT"): date(2026, 1, 1), (1, "RICE"): date(2026, 5, 1)},
        {"TENT": 90, "RICE": 90},
        today,
    )
    assert [(c.depot_id, c.category, c.due_on, c.overdue_days) for c in checks] == [
        (1, "TENT", date(2026, 4, 1), 61),
        (2, "RICE", today, 0),  # never inspected: due today
        (1, "RICE", date(2026, 7, 30), 0),
    ]
