"""Counties, depots and locations: the only code that writes them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Role
from relief_inventory.auth.policy import require_role
from relief_inventory.db import once_per_session
from relief_inventory.errors import Conflict, InvalidInput, NotFound
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Depot, DepotLevel, Location, LocationKind

COORDINATE = Decimal("0.00001")

# The shared virtual locations, one of each; counties get their own (see county_location).
VIRTUAL_LOCATIONS = {
    LocationKind.SUPPLIER: ("VIRT-SUPPLIER", "供应商/捐赠方/上级调入"),
    LocationKind.TRANSIT: ("VIRT-TRANSIT", "在途"),
    LocationKind.LOSS: ("VIRT-LOSS", "报损报废"),
    LocationKind.ADJUSTMENT: ("VIRT-ADJUST", "盘点调整"),
}


def _coordinate(value: object, field: str, limit: int) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput("坐标格式不正确", field=field) from None
    if not number.is_finite() or abs(number) > limit:
        raise InvalidInput("坐标超出范围", field=field)
    return number.quantize(COORDINATE)


def county_by_code(session: Session, code: str) -> County:
    county = once_per_session(
        session,
        ("County", str(code)),
        lambda: session.scalar(select(County).where(County.code == code)),
    )
    if county is None or not county.active:
        raise NotFound(f"县市不存在或已停用：{code}", field="county")
    return county


def depot_by_code(session: Session, code: str, field: str = "depot") -> Depot:
    depot = once_per_session(
        session,
        ("Depot", str(code)),
        lambda: session.scalar(select(Depot).where(Depot.code == code)),
    )
    if depot is None or not depot.active:
        raise NotFound(f"仓库不存在或已停用：{code}", field=field)
    return depot


def depot_stock_location(session: Session, depot: Depot) -> Location:
    """The depot's main internal location, where its stock is kept by default."""
    location = once_per_session(
        session,
        ("depot_stock_location", depot.id),
        lambda: session.scalar(
            select(Location)
            .where(Location.depot_id == depot.id, Location.kind == LocationKind.INTERNAL)
            .order_by(Location.id)
            .limit(1)
        ),
    )
    if location is None:
        raise NotFound(f"仓库 {depot.code} 没有库内库位", field="depot")
    return location


def virtual_location(session: Session, kind: str) -> Location:
    code, _name = VIRTUAL_LOCATIONS[kind]
    location = once_per_session(
        session,
        ("Location", code),
        lambda: session.scalar(select(Location).where(Location.code == code)),
    )
    if location is None:
        raise NotFound(f"虚拟库位缺失：{code}（请先运行 relief init-db）")
    return location


def county_location(session: Session, county: County) -> Location:
    location = once_per_session(
        session,
        ("county_location", county.id),
        lambda: session.scalar(
            select(Location).where(
                Location.county_id == county.id, Location.kind == LocationKind.COUNTY
            )
        ),
    )
    if location is None:
        raise NotFound(f"县市 {county.code} 没有接收库位")
    return location


def ensure_virtual_locations(uow: UnitOfWork) -> None:
    require_role(uow.actor, Role.ADMIN)
    for kind, (code, name) in VIRTUAL_LOCATIONS.items():
        if uow.session.scalar(select(Location.id).where(Location.code == code)) is None:
            uow.session.add(Location(code=code, name=name, kind=kind))
    uow.session.flush()


def create_county(uow: UnitOfWork, code: str, name: str, lat: object, lon: object) -> County:
    require_role(uow.actor, Role.ADMIN)
    if not code or not code.isdigit() or len(code) != 6:
        raise InvalidInput("行政区划代码须为 6 位数字", field="code")
    if uow.session.scalar(select(County.id).where(County.code == code)) is not None:
        raise Conflict(f"县市已存在：{code}", field="code")
    county = County(
        code=code,
        name=name,
        lat=_coordinate(lat, "lat", 90),
        lon=_coordinate(lon, "lon", 180),
    )
    uow.session.add(county)
    uow.session.flush()
    uow.session.add(
        Location(
            code=f"CTY-{code}",
            name=f"{name}（接收点）",
            kind=LocationKind.COUNTY,
            county_id=county.id,
        )
    )
    uow.session.flush()
    return county


def create_depot(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    county_code: str,
    level: str,
    lat: object,
    lon: object,
    address: str = "",
    keeper_name: str = "",
    keeper_phone: str = "",
) -> Depot:
    """A depot comes with its main internal location."""
    require_role(uow.actor, Role.ADMIN)
    if level not in DepotLevel.ALL:
        raise InvalidInput(f"仓库级别须为 {'/'.join(DepotLevel.ALL)}", field="level")
    if not code or len(code) > 32:
        raise InvalidInput("仓库编码不能为空且不超过 32 位", field="code")
    if uow.session.scalar(select(Depot.id).where(Depot.code == code)) is not None:
        raise Conflict(f"仓库编码已存在：{code}", field="code")
    county = county_by_code(uow.session, county_code)
    depot = Depot(
        code=code,
        name=name,
        county_id=county.id,
        level=level,
        lat=_coordinate(lat, "lat", 90),
        lon=_coordinate(lon, "lon", 180),
        address=address,
        keeper_name=keeper_name,
        keeper_phone=keeper_phone,
    )
    uow.session.add(depot)
    uow.session.flush()
    uow.session.add(
        Location(
            code=f"{code}-STOCK", name=f"{name}/库存", kind=LocationKind.INTERNAL, depot_id=depot.id
        )
    )
    uow.session.flush()
    return depot


# -- keeping master data current (the back office's forms; admins only, audited) ----------


def _any(session: Session, model: type, code: str, what: str) -> Any:
    """A county or depot by code, active or not (master data can be re-enabled)."""
    row = session.scalar(select(model).where(model.code == code))  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"{what}不存在：{code}", field="code")
    return row


def _name(value: object, field: str, max_length: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > max_length or "\x00" in text:
        raise InvalidInput(f"不能为空且不超过 {max_length} 个字符", field=field)
    return text


def _optional_text(value: object, field: str, max_length: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > max_length or "\x00" in text:
        raise InvalidInput(f"不超过 {max_length} 个字符", field=field)
    return text


def update_county(uow: UnitOfWork, code: str, *, name: object, lat: object, lon: object) -> County:
    """Correct a county's name or seat coordinates (the allocator's distances)."""
    require_role(uow.actor, Role.ADMIN)
    county = _any(uow.session, County, code, "县市")
    county.name = _name(name, "name", 64)
    county.lat = _coordinate(lat, "lat", 90)
    county.lon = _coordinate(lon, "lon", 180)
    uow.session.flush()
    return county


def set_county_active(uow: UnitOfWork, code: str, active: bool) -> County:
    """A county with active depots stays active (deactivate the depots first)."""
    require_role(uow.actor, Role.ADMIN)
    county = _any(uow.session, County, code, "县市")
    if active is not True and active is not False:
        raise InvalidInput("须为 true 或 false", field="active")
    if not active:
        depots = uow.session.scalar(
            select(Depot.code).where(Depot.county_id == county.id, Depot.active.is_(True))
        )
        if depots is not None:
            raise Conflict(f"该县市仍有启用的仓库（{depots}），请先停用仓库", field="active")
    county.active = active
    uow.session.flush()
    return county


def update_depot(
    uow: UnitOfWork,
    code: str,
    *,
    name: object,
    address: object = "",
    keeper_name: object = "",
    keeper_phone: object = "",
    lat: object,
    lon: object,
) -> Depot:
    """Correct a depot's name, address, keeper or coordinates; its code and county stay."""
    require_role(uow.actor, Role.ADMIN)
    depot = _any(uow.session, Depot, code, "仓库")
    depot.name = _name(name, "name", 128)
    depot.address = _optional_text(address, "address", 255)
    depot.keeper_name = _optional_text(keeper_name, "keeper_name", 64)
    depot.keeper_phone = _optional_text(keeper_phone, "keeper_phone", 32)
    depot.lat = _coordinate(lat, "lat", 90)
    depot.lon = _coordinate(lon, "lon", 180)
    uow.session.flush()
    return depot


def set_depot_active(uow: UnitOfWork, code: str, active: bool) -> Depot:
    """A depot holding stock stays active (move or write it off first): an inactive
    depot is left out of allocation and of new documents."""
    from relief_inventory.stock.models import Quant  # the ledger sits above the warehouse

    require_role(uow.actor, Role.ADMIN)
    depot = _any(uow.session, Depot, code, "仓库")
    if active is not True and active is not False:
        raise InvalidInput("须为 true 或 false", field="active")
    if not active:
        held = uow.session.scalar(
            select(Quant.id)
            .join(Location, Location.id == Quant.location_id)
            .where(Location.depot_id == depot.id, Quant.on_hand > 0)
            .limit(1)
        )
        if held is not None:
            raise Conflict("该仓库仍有库存，不能停用（请先调出或报废）", field="active")
    depot.active = active
    uow.session.flush()
    return depot
