"""Imports every table so that SQLModel's metadata is complete (Alembic, checks)."""

import relief_inventory.funds.models  # noqa: F401  (fund tables)
from relief_inventory.allocation.models import DispatchLine, DispatchRequest, Reservation
from relief_inventory.audit.models import AuditEntry
from relief_inventory.auth.models import ApiToken, LoginFailure, RoleGrant, User
from relief_inventory.idempotency import IdempotentRequest
from relief_inventory.ops.marks import OperationMark
from relief_inventory.readiness.models import (
    CountyRisk,
    DisasterReport,
    InspectionRecord,
    ItemContent,
    ReadinessStandard,
    RoadDistance,
    RotationPlan,
    RotationPlanLine,
)
from relief_inventory.stock.models import (
    Category,
    CountLine,
    DepotLotStatus,
    DocumentSequence,
    Item,
    Lot,
    Move,
    Owner,
    Quant,
    StockDocument,
    StockHold,
)
from relief_inventory.warehouse.models import County, Depot, Location

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Category",
    "CountLine",
    "County",
    "CountyRisk",
    "Depot",
    "DepotLotStatus",
    "DisasterReport",
    "DispatchLine",
    "DispatchRequest",
    "DocumentSequence",
    "IdempotentRequest",
    "InspectionRecord",
    "Item",
    "ItemContent",
    "Location",
    "LoginFailure",
    "Lot",
    "Move",
    "OperationMark",
    "Owner",
    "Quant",
    "ReadinessStandard",
    "Reservation",
    "RoadDistance",
    "RoleGrant",
    "RotationPlan",
    "RotationPlanLine",
    "StockDocument",
    "StockHold",
    "User",
]
