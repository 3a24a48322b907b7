"""Users, their roles with scopes, and API tokens (stored only as hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from relief_inventory.audit.registry import audited
from relief_inventory.timeutil import utcnow


@audited(exclude=("last_login_at",), mask=("password_hash",))
class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(default="", max_length=64)
    password_hash: str = Field(default="", max_length=255)
    active: bool = True
    last_login_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # The back office's language for this user (Flask-Babel locale); Chinese by default.
    locale: str = Field(default="zh_Hans_CN", max_length=16)


@audited()
class RoleGrant(SQLModel, table=True):
    """One role of a user, optionally scoped to a depot (keepers) or a county (requesters).

    Grants are never deleted: revoking sets ``active`` false, so history stays readable.
    """

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "depot_id", "county_id", name="uq_role_grant"),
        CheckConstraint(
            "role IN ('admin','keeper','dispatcher','requester','finance','auditor')",
            name="ck_role_grant_role",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    role: str = Field(max_length=16)
    depot_id: int | None = Field(default=None, foreign_key="depot.id")
    county_id: int | None = Field(default=None, foreign_key="county.id")
    active: bool = True


@audited(mask=("token_hash",))
class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """One failed login: from which client address, for which name (as typed), when.

    The login limits count these rows in a sliding window (``auth.services``), in the
    database, so every process of a multi-process server sees the same counts. Rows older
    than the window are pruned; they are not the record of what happened — the audit log
    is (``login_failed``, ``account_locked``, ``login_rate_limited``).
    """

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_client_at", "client", "at"),
        Index("ix_login_failure_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=64)
    username: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow)
