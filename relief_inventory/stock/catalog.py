"""Master data of the stock module: categories, items, owners. The only writers."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Role
from relief_inventory.auth.policy import require_role
from relief_inventory.db import once_per_session
from relief_inventory.errors import Conflict, InvalidInput, NotFound
from relief_inventory.master_active import master_record, switch_active
from relief_inventory.money import parse_amount
from relief_inventory.stock.lines import text as parse_text
from relief_inventory.stock.models import Category, Item, Owner, OwnerLevel, Tracking
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Depot, DepotLevel

T = TypeVar("T", Item, Owner)

UNITS = ("顶", "床", "件", "套", "袋", "桶", "箱", "台", "条", "个", "张", "双", "瓶", "把")


def _by_code(session: Session, model: type[T], code: object) -> T | None:
    return once_per_session(
        session,
        (model.__name__, str(code)),
        lambda: session.scalar(select(model).where(model.code == str(code))),  # type: ignore[attr-defined]
    )


def item_by_code(session: Session, code: object, field: str = "item") -> Item:
    item = _by_code(session, Item, code)
    if item is None or not item.active:
        raise NotFound(f"物资不存在或已停用：{code}", field=field)
    return item


def owner_by_code(session: Session, code: object, field: str = "owner") -> Owner:
    owner = _by_code(session, Owner, code)
    if owner is None:
        raise NotFound(f"储备权属不存在：{code}", field=field)
    return owner


def default_owner(session: Session, depot: Depot) -> Owner:
    """A county depot holds its county's reserve by default; the prefecture depot, the
    prefecture's."""
    if depot.level == DepotLevel.COUNTY:
        query = select(Owner).where(
            Owner.level == OwnerLevel.COUNTY, Owner.county_id == depot.county_id
        )
    else:
        query = select(Owner).where(Owner.level == OwnerLevel.PREFECTURE)
    owner = session.scalars(query.order_by(Owner.id)).first()
    if owner is None:
        raise NotFound(f"仓库 {depot.code} 没有默认储备权属，请指定 owner", field="owner")
    return owner


def create_category(uow: UnitOfWork, code: str, name: str, sort_order: int = 0) -> Category:
    require_role(uow.actor, Role.ADMIN)
    if uow.session.scalar(select(Category.id).where(Category.code == code)) is not None:
        raise Conflict(f"类别编码已存在：{code}", field="code")
    category = Category(code=code, name=name, sort_order=sort_order)
    uow.session.add(category)
    uow.session.flush()
    return category


def create_item(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    unit: str,
    category_code: str,
    unit_value: object,
    specification: str = "",
    shelf_life_days: int | None = None,
    tracking: str = Tracking.LOT,
    reusable: bool = False,
) -> Item:
    require_role(uow.actor, Role.ADMIN)
    if not code or len(code) > 32:
        raise InvalidInput("物资编码不能为空且不超过 32 位", field="code")
    if uow.session.scalar(select(Item.id).where(Item.code == code)) is not None:
        raise Conflict(f"物资编码已存在：{code}", field="code")
    if unit not in UNITS:
        raise InvalidInput(f"计量单位须为：{'、'.join(UNITS)}", field="unit")
    if tracking not in Tracking.ALL:
        raise InvalidInput("追踪方式须为 lot 或 serial", field="tracking")
    if shelf_life_days is not None and (
        isinstance(shelf_life_days, bool) or not 1 <= int(shelf_life_days) <= 36500
    ):
        raise InvalidInput("保质期天数须为 1–36500", field="shelf_life_days")
    category = uow.session.scalar(select(Category).where(Category.code == category_code))
    if category is None:
        raise NotFound(f"类别不存在：{category_code}", field="category")
    item = Item(
        code=code,
        name=name,
        unit=unit,
        category_id=category.id,
        unit_value=parse_amount(unit_value, "unit_value", allow_zero=True),
        specification=specification,
        shelf_life_days=shelf_life_days,
        tracking=tracking,
        reusable=reusable,
    )
    uow.session.add(item)
    uow.session.flush()
    return item


def create_owner(
    uow: UnitOfWork, code: str, name: str, level: str, county_code: str | None = None
) -> Owner:
    require_role(uow.actor, Role.ADMIN)
    if level not in OwnerLevel.ALL:
        raise InvalidInput(f"储备级别须为 {'/'.join(OwnerLevel.ALL)}", field="level")
    if uow.session.scalar(select(Owner.id).where(Owner.code == code)) is not None:
        raise Conflict(f"储备权属编码已存在：{code}", field="code")
    county_id = None
    if level == OwnerLevel.COUNTY:
        county = uow.session.scalar(select(County).where(County.code == county_code))
        if county is None:
            raise NotFound(f"县市不存在：{county_code}", field="county")
        county_id = county.id
    owner = Owner(code=code, name=name, level=level, county_id=county_id)
    uow.session.add(owner)
    uow.session.flush()
    return owner


# -- keeping master data current (the back office's forms; admins only, audited) ----------


def update_category(uow: UnitOfWork, code: str, *, name: object, sort_order: object) -> Category:
    require_role(uow.actor, Role.ADMIN)
    category = master_record(uow.session, Category, code, "类别")
    category.name = parse_text(name, "name", max_length=64, required=True)
    if (
        isinstance(sort_order, bool)
        or not isinstance(sort_order, int)
        or not 0 <= sort_order <= 999
    ):
        raise InvalidInput("排序须为 0–999 的整数", field="sort_order")
    category.sort_order = sort_order
    uow.session.flush()
    return category


def set_category_active(uow: UnitOfWork, code: str, active: bool) -> Category:
    """A category with active items stays active (deactivate the items first)."""
    require_role(uow.actor, Role.ADMIN)
    category = master_record(uow.session, Category, code, "类别")
    return switch_active(
        uow,
        category,
        active,
        off=[
            (
                select(Item.code).where(Item.category_id == category.id, Item.active.is_(True)),
                "该类别仍有启用的物资（{}），请先停用物资",
            )
        ],
    )


def update_item(
    uow: UnitOfWork,
    code: str,
    *,
    name: object,
    specification: object = "",
    unit_value: object,
    shelf_life_days: object = None,
    reusable: object = False,
) -> Item:
    """Correct an item's name, specification, unit value, shelf life or reusability. Its
    code, unit and tracking stay: the ledger counts in them."""
    require_role(uow.actor, Role.ADMIN)
    item = master_record(uow.session, Item, code, "物资")
    item.name = parse_text(name, "name", max_length=128, required=True)
    item.specification = parse_text(specification, "specification", max_length=255)
    item.unit_value = parse_amount(unit_value, "unit_value", allow_zero=True)
    if shelf_life_days is not None and (
        isinstance(shelf_life_days, bool)
        or not isinstance(shelf_life_days, int)
        or not 1 <= shelf_life_days <= 36500
    ):
        raise InvalidInput("保质期天数须为 1–36500", field="shelf_life_days")
    item.shelf_life_days = shelf_life_days  # type: ignore[assignment]
    if reusable is not True and reusable is not False:
        raise InvalidInput("须为 true 或 false", field="reusable")
    item.reusable = reusable
    uow.session.flush()
    return item


def set_item_active(uow: UnitOfWork, code: str, active: bool) -> Item:
    """An item still on a shelf stays active: an inactive item takes no new documents."""
    from relief_inventory.stock.models import Quant

    require_role(uow.actor, Role.ADMIN)
    item = master_record(uow.session, Item, code, "物资")
    return switch_active(
        uow,
        item,
        active,
        off=[
            (
                select(Quant.id).where(Quant.item_id == item.id, Quant.on_hand > 0),
                "该物资仍有库存，不能停用",
            )
        ],
    )
