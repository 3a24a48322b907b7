"""Domain errors: what went wrong and, where it applies, which field.

Every adapter (API, admin UI, CLI) turns these into its own form of message; the service
layer raises them before anything is written, so a refused operation changes nothing.
Messages are in Chinese because staff read them; codes and field names are stable English.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the service layer makes on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors: dict[str, list[str]] = dict(errors or {})
        if field and field not in self.errors:
            self.errors[field] = [message]

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "errors": self.errors}


class InvalidInput(DomainError):
    """Input that breaks a rule of the domain (422)."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """Wrong state for the action, or a concurrent change got there first (409)."""

    status = 409
    code = "conflict"


class Hidden(NotFound, PermissionDenied):
    """A refusal answered exactly as "not found" (404): someone who may not see a document
    must not learn that it exists. Still a refusal underneath, so the unit of work logs it."""


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class TooManyRequests(DomainError):
    """Refused before any work is done: too many recent failures from one place (429)."""

    status = 429
    code = "too_many_requests"
