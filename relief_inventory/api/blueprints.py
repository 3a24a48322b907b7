"""Every API blueprint, in the order they appear in the OpenAPI document."""

from relief_inventory.api.auth import blp as auth_blp

BLUEPRINTS = [auth_blp]
