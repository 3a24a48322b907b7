"""Readiness writes: standards, item contents, road distances, and turning a scenario plan
into draft dispatch requests. The only code that writes the readiness tables."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from relief_inventory import inputs
from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.models import DispatchRequest, Urgency
from relief_inventory.auth.actor import Role
from relief_inventory.auth.policy import require_role
from relief_inventory.errors import Conflict, InvalidInput
from relief_inventory.readiness import check
from relief_inventory.readiness.models import (
    CountyRisk,
    ItemContent,
    ReadinessStandard,
    RoadDistance,
    TownshipRoad,
)
from relief_inventory.readiness.standards import Basis
from relief_inventory.readiness.travel import TravelSettings
from relief_inventory.stock.catalog import item_by_code
from relief_inventory.stock.models import Category
from relief_inventory.timeutil import utcnow
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.services import county_by_code, depot_by_code, township_by_code

MAX_KM = Decimal("5000")
MAX_HOURS = Decimal("500")


def _decimal(value: Any, field: str, *, places: int, maximum: Decimal, positive: bool) -> Decimal:
    """A decimal given as text or integer (never a float: 0.1 is not exact)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidInput('须为数字文本，如 "12.5"', field=field)
    if isinstance(value, str) and not inputs.is_decimal_text(value.strip()):
        raise InvalidInput('须为数字，如 "12.5"（不接受科学计数法、符号或空格）', field=field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput('须为数字，如 "12.5"', field=field) from None
    if not number.is_finite() or number.as_tuple().exponent < -places:  # type: ignore[operator]
        raise InvalidInput(f"须为最多 {places} 位小数的数字", field=field)
    if number < 0 or (positive and number == 0) or number > maximum:
        low = "大于 0" if positive else "不小于 0"
        raise InvalidInput(f"须{low}且不超过 {maximum}", field=field)
    return number


def set_standard(
    uow: UnitOfWork,
    category: str,
    *,
    basis: str,
    amount: Any,
    measure: str,
    target_per_1000: Any = None,
    inspection_days: int | None = None,
    rotation_days: int | None = None,
) -> ReadinessStandard:
    """The bureau's standard for a category (admins and dispatchers)."""
    require_role(uow.actor, Role.DISPATCHER)
    session = uow.session
    cat = session.scalar(select(Category).where(Category.code == category))
    if cat is None or not cat.active:
        raise InvalidInput(f"物资类别不存在或已停用：{str(category)[:32]}", field="category")
    if basis not in Basis.ALL:
        raise InvalidInput("须为 per_person、per_household 或 per_person_day", field="basis")
    if not isinstance(measure, str) or not 0 < len(measure.strip()) <= 16:
        raise InvalidInput("计量单位须为 1–16 个字符", field="measure")
    for name, days in (("inspection_days", inspection_days), ("rotation_days", rotation_days)):
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650
        ):
            raise InvalidInput("天数须为 1–3650 的整数", field=name)
    row = session.scalar(select(ReadinessStandard).where(ReadinessStandard.category_id == cat.id))
    if row is None:
        row = ReadinessStandard(category_id=cat.id, basis=basis, amount=Decimal(0), measure="")
        session.add(row)
    row.basis = basis
    row.amount = _decimal(amount, "amount", places=4, maximum=Decimal(10_000), positive=False)
    row.measure = measure.strip()
    row.target_per_1000 = (
        None
        if target_per_1000 is None
        else _decimal(
            target_per_1000, "target_per_1000", places=2, maximum=Decimal(10**7), positive=False
        )
    )
    row.inspection_days = inspection_days
    row.rotation_days = rotation_days
    row.updated_at = utcnow()
    session.flush()
    return row


def set_item_content(uow: UnitOfWork, item: str, content: Any) -> ItemContent:
    """How much of its category's measure one piece of ``item`` holds."""
    require_role(uow.actor, Role.DISPATCHER)
    session = uow.session
    found = item_by_code(session, item)
    value = _decimal(content, "content", places=4, maximum=Decimal(10**6), positive=True)
    row = session.scalar(select(ItemContent).where(ItemContent.item_id == found.id))
    if row is None:
        row = ItemContent(item_id=found.id, content=value)
        session.add(row)
    else:
        row.content = value
    session.flush()
    return row


def _road_fields(km: Any, hours: Any, note: Any) -> tuple[Decimal, Decimal | None, str]:
    length = _decimal(km, "km", places=1, maximum=MAX_KM, positive=False)
    time = (
        None
        if hours is None
        else _decimal(hours, "hours", places=1, maximum=MAX_HOURS, positive=False)
    )
    if not isinstance(note, str) or len(note) > 255:
        raise InvalidInput("备注不能超过 255 个字符", field="note")
    return length, time, note.strip()


def set_road_distance(
    uow: UnitOfWork, depot: str, county: str, *, km: Any, hours: Any = None, note: str = ""
) -> RoadDistance:
    """Record the measured road from a depot to a county seat (dispatchers and admins)."""
    require_role(uow.actor, Role.DISPATCHER)
    session = uow.session
    found_depot = depot_by_code(session, depot)
    found_county = county_by_code(session, county)
    length, time, text = _road_fields(km, hours, note)
    row = session.scalar(
        select(RoadDistance).where(
            RoadDistance.depot_id == found_depot.id, RoadDistance.county_id == found_county.id
        )
    )
    if row is None:
        row = RoadDistance(depot_id=found_depot.id, county_id=found_county.id, km=length)
        session.add(row)
    row.km, row.hours, row.note, row.updated_at = length, time, text, utcnow()
    session.flush()
    return row


def set_road(
    uow: UnitOfWork,
    depot: str,
    *,
    county: str | None = None,
    township: str | None = None,
    km: Any,
    hours: Any = None,
    note: str = "",
) -> RoadDistance | TownshipRoad:
    """The measured road from a depot to exactly one place, a county seat or a township:
    the one rule the API, the CLI and the back office share."""
    if county is not None and township is not None:
        raise InvalidInput("county 与 township 只能给出其一", field="township")
    if county is None and township is None:
        raise InvalidInput("须给出 county（县城）或 township（乡镇）之一", field="county")
    if county is not None:
        return set_road_distance(uow, depot, county, km=km, hours=hours, note=note)
    return set_township_road(uow, depot, str(township), km=km, hours=hours, note=note)


def set_township_road(
    uow: UnitOfWork, depot: str, township: str, *, km: Any, hours: Any = None, note: str = ""
) -> TownshipRoad:
    """Record the measured road from a depot or stock point to a township."""
    require_role(uow.actor, Role.DISPATCHER)
    session = uow.session
    found_depot = depot_by_code(session, depot)
    place = township_by_code(session, township)
    length, time, text = _road_fields(km, hours, note)
    row = session.scalar(
        select(TownshipRoad).where(
            TownshipRoad.depot_id == found_depot.id, TownshipRoad.township_id == place.id
        )
    )
    if row is None:
        row = TownshipRoad(depot_id=found_depot.id, township_id=place.id, km=length)
        session.add(row)
    row.km, row.hours, row.note, row.updated_at = length, time, text, utcnow()
    session.flush()
    return row


def file_requests(
    uow: UnitOfWork,
    spec: check.Scenario,
    settings: TravelSettings = TravelSettings(),
    *,
    reason: str = "",
) -> DispatchRequest:
    """Turn the scenario's plan into a draft dispatch request for the county, through the
    dispatch services (a dispatcher files it; the county submits, another dispatcher
    approves, and only then does the allocator reserve stock)."""
    require_role(uow.actor, Role.DISPATCHER)
    answer = check.run(uow.session, spec, settings)
    if not answer["plan"]:
        raise Conflict("该情景没有可调拨的物资", field="plan")
    title = spec.title or f"{answer['place_name']}转移安置{spec.relocated}人{spec.days}天"
    text = reason or f"战备情景推演：{title}；按标准测算生成调拨申请草稿"
    return dispatch.file_request(
        uow,
        county=spec.county,
        disaster_type=spec.hazard,
        urgency=Urgency.CRITICAL,
        people_affected=spec.relocated,
        lines=[{"item": line["item"], "quantity": line["quantity"]} for line in answer["plan"]],
        reason=text,
    )


def set_population_at_risk(uow: UnitOfWork, county: str, population: Any) -> CountyRisk:
    """A county's population at risk (受威胁人口), the base of its coverage target."""
    require_role(uow.actor, Role.DISPATCHER)
    session = uow.session
    target = county_by_code(session, county)
    people = inputs.parse_int(
        population,
        "population_at_risk",
        minimum=0,
        maximum=100_000_000,
        message="受威胁人口须为 0–100000000 的整数",
    )
    row = session.scalar(select(CountyRisk).where(CountyRisk.county_id == target.id))
    if row is None:
        row = CountyRisk(county_id=target.id, population_at_risk=people)
        session.add(row)
    row.population_at_risk, row.updated_at = people, utcnow()
    session.flush()
    return row
