"""Counties, townships, depots, township stock points and locations: the only code that
writes them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Role
from relief_inventory.auth.policy import require_role
from relief_inventory.db import once_per_session
from relief_inventory.errors import Conflict, InvalidInput, NotFound
from relief_inventory.master_active import master_record, switch_active
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import (
    County,
    Depot,
    DepotLevel,
    Location,
    LocationKind,
    Township,
)

COORDINATE = Decimal("0.00001")

# The shared virtual locations, one of each; counties get their own (see county_location).
VIRTUAL_LOCATIONS = {
    LocationKind.SUPPLIER: ("VIRT-SUPPLIER", "供应商/捐赠方/上级调入"),
    LocationKind.TRANSIT: ("VIRT-TRANSIT", "在途"),
    LocationKind.LOSS: ("VIRT-LOSS", "报损报废"),
    LocationKind.ADJUSTMENT: ("VIRT-ADJUST", "盘点调整"),
}


COORDINATE_TEXT = re.compile(r"-?[0-9]{1,3}([.][0-9]{1,10})?")


def _coordinate(value: object, field: str, limit: int) -> Decimal:
    """Degrees as decimal text (or an exact Decimal/integer): no float, no exponent."""
    if isinstance(value, str):
        value = value.strip()
        if not COORDINATE_TEXT.fullmatch(value):
            raise InvalidInput("坐标须为十进制数字，如 25.03", field=field)
    elif isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidInput("坐标须为十进制数字，如 25.03", field=field)
    try:
        number = Decimal(value)
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
    county = county_by_code(uow.session, county_code)
    return _add_depot(
        uow,
        Depot(
            code=_new_depot_code(uow.session, code),
            name=name,
            county_id=county.id,
            level=level,
            lat=_coordinate(lat, "lat", 90),
            lon=_coordinate(lon, "lon", 180),
            address=address,
            keeper_name=keeper_name,
            keeper_phone=keeper_phone,
        ),
    )


def _new_depot_code(session: Session, code: str) -> str:
    if not code or len(code) > 32:
        raise InvalidInput("仓库编码不能为空且不超过 32 位", field="code")
    if session.scalar(select(Depot.id).where(Depot.code == code)) is not None:
        raise Conflict(f"仓库编码已存在：{code}", field="code")
    return code


def _add_depot(uow: UnitOfWork, depot: Depot) -> Depot:
    """Store a depot or point with the internal location its stock is kept on."""
    uow.session.add(depot)
    uow.session.flush()
    uow.session.add(
        Location(
            code=f"{depot.code}-STOCK",
            name=f"{depot.name}/库存",
            kind=LocationKind.INTERNAL,
            depot_id=depot.id,
        )
    )
    uow.session.flush()
    return depot


def township_by_code(session: Session, code: str, field: str = "township") -> Township:
    township = once_per_session(
        session,
        ("Township", str(code)),
        lambda: session.scalar(select(Township).where(Township.code == code)),
    )
    if township is None or not township.active:
        raise NotFound(f"乡镇不存在或已停用：{code}", field=field)
    return township


def create_township(
    uow: UnitOfWork,
    code: str,
    name: str,
    county_code: str,
    lat: object,
    lon: object,
    *,
    high_risk: bool = False,
) -> Township:
    """A township of a county: 9-digit code beginning with the county's 6."""
    require_role(uow.actor, Role.ADMIN)
    county = county_by_code(uow.session, county_code)
    if not code or not code.isdigit() or len(code) != 9 or not code.startswith(county.code):
        raise InvalidInput(f"乡镇代码须为以 {county.code} 开头的 9 位数字", field="code")
    if uow.session.scalar(select(Township.id).where(Township.code == code)) is not None:
        raise Conflict(f"乡镇已存在：{code}", field="code")
    if high_risk is not True and high_risk is not False:
        raise InvalidInput("须为 true 或 false", field="high_risk")
    township = Township(
        code=code,
        name=_name(name, "name", 64),
        county_id=county.id,
        lat=_coordinate(lat, "lat", 90),
        lon=_coordinate(lon, "lon", 180),
        high_risk=high_risk,
    )
    uow.session.add(township)
    uow.session.flush()
    return township


def create_point(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    parent_code: str,
    township_code: str,
    address: str = "",
    keeper_name: str = "",
    keeper_phone: str = "",
) -> Depot:
    """A township stock point (乡镇/村组预置点) below a county depot, in one of that county's
    townships and at its coordinates. It holds the county's reserve, so county stock moves
    there by an ordinary transfer without a dispatch order."""
    require_role(uow.actor, Role.ADMIN)
    parent = depot_by_code(uow.session, parent_code, field="parent")
    if parent.level != DepotLevel.COUNTY or parent.is_point:
        raise InvalidInput("预置点须设在县级仓库之下", field="parent")
    township = township_by_code(uow.session, township_code)
    if township.county_id != parent.county_id:
        raise InvalidInput("乡镇不属于上级仓库所在县市", field="township")
    return _add_depot(
        uow,
        Depot(
            code=_new_depot_code(uow.session, code),
            name=_name(name, "name", 128),
            county_id=parent.county_id,
            level=DepotLevel.COUNTY,
            lat=township.lat,
            lon=township.lon,
            address=_optional_text(address, "address", 255),
            keeper_name=_optional_text(keeper_name, "keeper_name", 64),
            keeper_phone=_optional_text(keeper_phone, "keeper_phone", 32),
            parent_id=parent.id,
            township_id=township.id,
        ),
    )


# -- keeping master data current (the back office's forms; admins only, audited) ----------


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
    county = master_record(uow.session, County, code, "县市")
    county.name = _name(name, "name", 64)
    county.lat = _coordinate(lat, "lat", 90)
    county.lon = _coordinate(lon, "lon", 180)
    uow.session.flush()
    return county


def set_county_active(uow: UnitOfWork, code: str, active: bool) -> County:
    """A county with active depots stays active (deactivate the depots first)."""
    require_role(uow.actor, Role.ADMIN)
    county = master_record(uow.session, County, code, "县市")
    return switch_active(
        uow,
        county,
        active,
        off=[
            (
                select(Depot.code).where(Depot.county_id == county.id, Depot.active.is_(True)),
                "该县市仍有启用的仓库（{}），请先停用仓库",
            )
        ],
    )


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
    depot = master_record(uow.session, Depot, code, "仓库")
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
    depot is left out of allocation and of new documents. A depot's points go first, and a
    point comes back only below an active depot."""
    from relief_inventory.stock.models import Quant  # the ledger sits above the warehouse

    require_role(uow.actor, Role.ADMIN)
    depot = master_record(uow.session, Depot, code, "仓库")
    return switch_active(
        uow,
        depot,
        active,
        off=[
            (
                select(Depot.code).where(Depot.parent_id == depot.id, Depot.active.is_(True)),
                "该仓库仍有启用的预置点（{}），请先停用预置点",
            ),
            (
                select(Quant.id)
                .join(Location, Location.id == Quant.location_id)
                .where(Location.depot_id == depot.id, Quant.on_hand > 0),
                "该仓库仍有库存，不能停用（请先调出或报废）",
            ),
        ],
        on=[
            (
                select(Depot.code).where(Depot.id == depot.parent_id, Depot.active.is_(False)),
                "上级仓库已停用，不能启用其预置点",
            )
        ],
    )


def update_township(
    uow: UnitOfWork, code: str, *, name: object, lat: object, lon: object, high_risk: object
) -> Township:
    """Correct a township's name or coordinates (the scenario's place), or its risk mark."""
    require_role(uow.actor, Role.ADMIN)
    township = master_record(uow.session, Township, code, "乡镇")
    if high_risk is not True and high_risk is not False:
        raise InvalidInput("须为 true 或 false", field="high_risk")
    township.name = _name(name, "name", 64)
    township.lat = _coordinate(lat, "lat", 90)
    township.lon = _coordinate(lon, "lon", 180)
    township.high_risk = high_risk
    uow.session.flush()
    return township


def set_township_active(uow: UnitOfWork, code: str, active: bool) -> Township:
    """A township served by an active stock point stays active (deactivate the point first)."""
    require_role(uow.actor, Role.ADMIN)
    township = master_record(uow.session, Township, code, "乡镇")
    return switch_active(
        uow,
        township,
        active,
        off=[
            (
                select(Depot.code).where(Depot.township_id == township.id, Depot.active.is_(True)),
                "该乡镇仍有启用的预置点（{}），请先停用预置点",
            )
        ],
    )
