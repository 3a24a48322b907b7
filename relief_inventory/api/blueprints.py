"""Every API blueprint, in the order they appear in the OpenAPI document."""

from relief_inventory.api.audit import blp as audit_blp
from relief_inventory.api.auth import blp as auth_blp
from relief_inventory.api.dispatch import blp as dispatch_blp
from relief_inventory.api.funds import blp as funds_blp
from relief_inventory.api.master import blp as master_blp
from relief_inventory.api.me import blp as me_blp
from relief_inventory.api.printing import blp as printing_blp
from relief_inventory.api.readiness import blp as readiness_blp
from relief_inventory.api.reports import blp as reports_blp
from relief_inventory.api.stock import blp as stock_blp

BLUEPRINTS = [
    auth_blp,
    me_blp,
    master_blp,
    stock_blp,
    dispatch_blp,
    funds_blp,
    readiness_blp,
    audit_blp,
    printing_blp,
    reports_blp,
]
