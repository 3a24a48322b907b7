"""A scenario check on live stock: read what the pure calculator needs, run it, and lay out
the answer per window for the API, the CLI and the reports. Reads only; reserves nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from relief_inventory import inputs
from relief_inventory.allocation.reservations import delivery_date
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import require_county
from relief_inventory.errors import InvalidInput, NotFound
from relief_inventory.readiness import coverage, queries, scenario
from relief_inventory.readiness.presets import PRESETS, WORST_2024
from relief_inventory.readiness.standards import DEFAULT_HOUSEHOLD_SIZE, needs
from relief_inventory.readiness.travel import TravelSettings
from relief_inventory.stock.ownership import OwnerLevel, dispatch_may_use
from relief_inventory.timeutil import utcnow
from relief_inventory.warehouse.models import County, Township
from relief_inventory.warehouse.services import county_by_code, depot_by_code, township_by_code

MAX_RELOCATED = 10_000_000
MAX_DAYS = 90


@dataclass(frozen=True)
class Scenario:
    county: str
    relocated: int
    days: int
    hazard: str = "earthquake"
    title: str = ""
    preset: str = ""
    cut_off: tuple[str, ...] = ()
    household_size: int = DEFAULT_HOUSEHOLD_SIZE
    allow_other_counties: bool = True
    township: str = ""  # a township of the county: the place instead of the county seat


def parse(
    *,
    preset: str | None = None,
    county: str | None = None,
    township: str | None = None,
    relocated: Any = None,
    days: Any = None,
    cut_off: Any = (),
    household_size: Any = None,
    allow_other_counties: Any = True,
    session: Session | None = None,
) -> Scenario:
    """A scenario from a preset (whose figures the other arguments may override) or from a
    place (a county, or a township of it), people to relocate and days; each bad value is
    refused naming its field."""
    base: dict[str, Any] = {}
    if preset:
        if preset == WORST_2024:
            if session is None:
                raise InvalidInput("需要数据库", field="preset")
            base = queries.worst_event(session, 2024)
        elif preset in PRESETS:
            p = PRESETS[preset]
            base = {
                "county": p.county,
                "relocated": p.relocated,
                "days": p.days,
                "hazard": p.hazard,
                "title": p.title,
            }
        else:
            names = "、".join([*PRESETS, WORST_2024])
            raise InvalidInput(f"未知预案，可选：{names}", field="preset")
        base["preset"] = preset
    if township:
        seat = _township_county(session, township)
        if county and county != seat.code:
            raise InvalidInput(f"乡镇 {township} 不属于县市 {county}", field="township")
        county = seat.code
    county = county or base.get("county")
    if not isinstance(county, str) or not county:
        raise InvalidInput("须指定县市代码或预案", field="county")
    relocated = base.get("relocated") if relocated is None else relocated
    days = base.get("days") if days is None else days
    if relocated is None:
        raise InvalidInput("须指定转移安置人数", field="relocated")
    if days is None:
        raise InvalidInput("须指定保障天数", field="days")
    cut = cut_off or ()
    if isinstance(cut, str) or not all(isinstance(c, str) and c for c in cut):
        raise InvalidInput("须为仓库代码列表", field="cut_off")
    return Scenario(
        county=county,
        relocated=inputs.parse_int(
            relocated,
            "relocated",
            minimum=1,
            maximum=MAX_RELOCATED,
            message=f"转移安置人数须为 1–{MAX_RELOCATED} 的整数",
        ),
        days=inputs.parse_int(
            days, "days", minimum=1, maximum=MAX_DAYS, message=f"保障天数须为 1–{MAX_DAYS} 的整数"
        ),
        hazard=base.get("hazard", "earthquake"),
        title=base.get("title", ""),
        preset=base.get("preset", ""),
        cut_off=tuple(dict.fromkeys(cut)),
        household_size=inputs.parse_int(
            DEFAULT_HOUSEHOLD_SIZE if household_size is None else household_size,
            "household_size",
            minimum=1,
            maximum=20,
            message="户均人数须为 1–20 的整数",
        ),
        allow_other_counties=inputs.parse_flag(allow_other_counties, "allow_other_counties"),
        township=township or "",
    )


def _township_county(session: Session | None, code: Any) -> County:
    """The county of the township a scenario names (the place's county for ownership, the
    filed request and who may check it)."""
    if not isinstance(code, str) or session is None:
        raise InvalidInput("须为乡镇代码", field="township")
    try:
        township = township_by_code(session, code)
    except NotFound as missing:
        raise InvalidInput(missing.message, field="township") from None
    return session.get_one(County, township.county_id)


def require_may_check(actor: Actor, spec: Scenario, session: Session) -> None:
    """Dispatchers, keepers, auditors and admins check any place; a county requester checks
    their own county's (the answer shows every depot's free stock, which keepers and
    dispatchers see anyway)."""
    if actor.is_admin or actor.has(Role.DISPATCHER, Role.KEEPER, Role.AUDITOR):
        return
    county = county_by_code(session, spec.county)
    require_county(actor, county.id)


def _measures(value: Decimal) -> str:
    """Measures as text: whole where whole, else one place (13.2 L)."""
    value = value.quantize(Decimal("0.1"))
    return str(value.to_integral_value()) if value == value.to_integral_value() else str(value)


def run(
    session: Session,
    spec: Scenario,
    settings: TravelSettings = TravelSettings(),
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The scenario's answer, laid out per window and category, with the depots that send."""
    at = at or utcnow()
    county = county_by_code(session, spec.county)
    cut = []
    for index, code in enumerate(spec.cut_off):
        try:
            cut.append(depot_by_code(session, code, field=f"cut_off[{index}]"))
        except NotFound as missing:
            raise InvalidInput(missing.message, field=missing.field) from None
    standards = queries.standards(session)
    needed = needs(standards, spec.relocated, spec.days, spec.household_size)
    township = township_by_code(session, spec.township) if spec.township else None
    sources = queries.sources(session, county, settings, township)
    blocked = {d.id for d in cut}
    stock, items = read_nearest(
        session, county.id, sources, blocked, needed, delivery_date(at), spec.allow_other_counties
    )
    result = scenario.check(
        county_id=county.id,
        needs=needed,
        sources=sources,
        stock=stock,
        items=items,
        cut_off=blocked,
        allow_other_counties=spec.allow_other_counties,
    )
    return layout(session, spec, county, township, result, sources, items, blocked, at)


READ_CHUNK = 64  # depots per read of free stock


def read_nearest(
    session: Session,
    county_id: int,
    sources: list[scenario.Source],
    blocked: set[int],
    needed: dict[str, int],
    on_date: date,
    allow_other_counties: bool,
) -> tuple[list[scenario.Stock], dict[int, scenario.ItemInfo]]:
    """Free stock of the nearest depots, read a chunk at a time by arrival time, until the
    county depots read so far could cover every need (or every depot is read).

    The answer is the one a read of every depot would give: the calculator tries depots
    nearest first, every depot not read is at least as far as the last one read (a chunk
    always ends with all the depots tied at its last arrival time), and the prefecture depot
    is tried after the county depots unless it is nearer than all of them, so the depots
    not read would never be reached.
    """
    order = sorted(
        (s for s in sources if s.depot_id not in blocked and s.hours <= scenario.WINDOWS[-1]),
        key=lambda s: (s.hours, s.code),
    )
    prefecture = {s.depot_id for s in order if s.prefecture}
    stock: list[scenario.Stock] = []
    items: dict[int, scenario.ItemInfo] = {}
    held: dict[str, Decimal] = defaultdict(Decimal)
    start = 0
    while start < len(order):
        end = min(start + READ_CHUNK, len(order))
        while end < len(order) and order[end].hours == order[end - 1].hours:
            end += 1
        rows = queries.free_stock(session, [s.depot_id for s in order[start:end]], on_date)
        items.update(queries.items(session, {r.item_id for r in rows} - set(items)))
        for row in rows:
            if row.depot_id not in prefecture and dispatch_may_use(
                row.owner_county_id, county_id, allow_other_counties
            ):
                item = items[row.item_id]
                held[item.category] += row.free * item.content
        stock += rows
        start = end
        if all(held[code] >= need for code, need in needed.items()):
            break
    return stock, items


def layout(
    session: Session,
    spec: Scenario,
    county: Any,
    township: Township | None,
    result: scenario.Result,
    sources: list[scenario.Source],
    items: dict[int, scenario.ItemInfo],
    blocked: set[int],
    at: datetime,
) -> dict[str, Any]:
    standards = queries.standards(session)
    names = queries.category_names(session)
    by_id = {s.depot_id: s for s in sources}

    def depots_of(arrivals: tuple[scenario.Arrival, ...]) -> list[dict[str, Any]]:
        grouped: dict[int, list[scenario.Arrival]] = defaultdict(list)
        for arrival in arrivals:
            grouped[arrival.depot_id].append(arrival)
        out = []
        for depot_id, group in grouped.items():
            source = by_id[depot_id]
            per_item: dict[int, int] = defaultdict(int)
            for a in group:
                per_item[a.item_id] += a.pieces
            out.append(
                {
                    "depot": source.code,
                    "depot_name": source.name,
                    "km": source.leg.km,
                    "hours": source.hours,
                    "estimated": source.leg.estimated,
                    "measures": _measures(sum((a.measures for a in group), Decimal(0))),
                    "higher_level_pieces": sum(
                        a.pieces
                        for a in group
                        if a.owner_level in (OwnerLevel.PROVINCIAL, OwnerLevel.CENTRAL)
                    ),
                    "items": [
                        {
                            "item": items[i].code,
                            "item_name": items[i].name,
                            "unit": items[i].unit,
                            "quantity": q,
                        }
                        for i, q in sorted(per_item.items(), key=lambda e: items[e[0]].code)
                    ],
                }
            )
        return sorted(out, key=lambda d: (d["hours"], d["depot"]))

    def category(code: str) -> dict[str, Any]:
        s = standards[code]
        return {
            "category": code,
            "category_name": names.get(code, code),
            "measure": s.measure,
            "standard": queries.standard_text(s),
        }

    # A depot's goods all arrive at once, so a window's senders are those of the whole plan
    # that arrive by then: laid out once per category, filtered per window.
    senders = {
        line.category: depots_of(line.arrivals) for line in result.windows[max(result.windows)]
    }
    windows = []
    for hours, lines in result.windows.items():
        windows.append(
            {
                "hours": hours,
                "lines": [
                    {
                        **category(line.category),
                        "needed": line.needed,
                        "arrived": _measures(line.arrived),
                        "shortfall": line.shortfall,
                        "covered_percent": (
                            100
                            if line.needed == 0
                            else min(100, int(line.arrived * 100 / line.needed))
                        ),
                        "depots": [d for d in senders[line.category] if d["hours"] <= hours],
                    }
                    for line in lines
                ],
            }
        )
    plan = sorted(result.pieces().items(), key=lambda e: items[e[0]].code)
    return {
        "county": county.code,
        "county_name": county.name,
        "township": township.code if township else None,
        "township_name": township.name if township else None,
        "place_name": f"{county.name}{township.name}" if township else county.name,
        "title": spec.title,
        "preset": spec.preset,
        "hazard": spec.hazard,
        "relocated": spec.relocated,
        "days": spec.days,
        "household_size": spec.household_size,
        "allow_other_counties": spec.allow_other_counties,
        "cut_off": [by_id[d].code for d in sorted(blocked, key=lambda d: by_id[d].code)],
        "computed_at": at,
        "windows": windows,
        "external": [
            {**category(code), "quantity": quantity} for code, quantity in result.external.items()
        ],
        "plan": [
            {
                "item": items[i].code,
                "item_name": items[i].name,
                "unit": items[i].unit,
                "category": items[i].category,
                "quantity": q,
            }
            for i, q in plan
        ],
        "sources": [
            {
                "depot": s.code,
                "depot_name": s.name,
                "km": s.leg.km,
                "drive_hours": s.leg.hours,
                "hours": s.hours,
                "estimated": s.leg.estimated,
                "cut_off": s.depot_id in blocked,
                "reachable": s.depot_id not in blocked and s.hours <= max(result.windows),
            }
            for s in sorted(sources, key=lambda s: (s.hours, s.code))
        ],
    }


def coverage_report(
    session: Session, settings: TravelSettings = TravelSettings(), *, at: datetime | None = None
) -> dict[str, Any]:
    """Coverage of every county with a population at risk: target, held, gap per category,
    and the transfer that would close each gap best."""
    at = at or utcnow()
    standards = queries.standards(session)
    names = queries.category_names(session)
    counties = queries.counties_at_risk(session)
    depots = queries.depot_sites(session)
    stock = queries.free_stock(session, [d.depot_id for d in depots], delivery_date(at))
    items = queries.items(session, {row.item_id for row in stock})
    holdings = coverage.holdings(stock, items, depots)
    hours = {}
    for county in counties:
        place = session.get(County, county.county_id)
        for source in queries.sources(session, place, settings):
            hours[(source.depot_id, county.county_id)] = source.hours
    lines = coverage.coverage(
        counties, standards, queries.coverage_targets(session), holdings, hours
    )
    # A transfer closing a gap goes to the county's depot (its first by code), not a point.
    own_depot = {d.county_id: d.code for d in reversed(depots) if not d.prefecture and not d.point}
    by_county: dict[str, list[dict[str, Any]]] = defaultdict(list)
    codes = {item.code: item for item in items.values()}
    for line in lines:
        standard = standards[line.category]
        transfer = line.transfer
        by_county[line.county].append(
            {
                "category": line.category,
                "category_name": names.get(line.category, line.category),
                "measure": standard.measure,
                "target": line.target,
                "held": _measures(line.held),
                "gap": line.gap,
                "covered_percent": line.percent,
                "transfer": None
                if transfer is None
                else {
                    "from_depot": transfer.from_depot,
                    "item": transfer.item,
                    "item_name": codes[transfer.item].name,
                    "unit": codes[transfer.item].unit,
                    "quantity": transfer.pieces,
                    "measures": _measures(transfer.measures),
                    "hours": transfer.hours,
                },
            }
        )
    return {
        "computed_at": at,
        "share": str(coverage.DEFAULT_SHARE),
        "days": coverage.DEFAULT_DAYS,
        "counties": [
            {
                "county": c.code,
                "county_name": c.name,
                "population_at_risk": c.population_at_risk,
                "depot": own_depot.get(c.county_id),
                "short_categories": sum(1 for x in by_county[c.code] if x["gap"]),
                "lines": by_county[c.code],
            }
            for c in counties
        ],
    }
