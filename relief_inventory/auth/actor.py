"""Who is acting: a plain value handed to every service call. No database here."""

from __future__ import annotations

from dataclasses import dataclass, field


class Role:
    ADMIN = "admin"
    KEEPER = "keeper"
    DISPATCHER = "dispatcher"
    REQUESTER = "requester"
    FINANCE = "finance"
    AUDITOR = "auditor"

    ALL = (ADMIN, KEEPER, DISPATCHER, REQUESTER, FINANCE, AUDITOR)
    LABELS = {
        ADMIN: "系统管理员",
        KEEPER: "仓库保管员",
        DISPATCHER: "调度审批员",
        REQUESTER: "县级申请人",
        FINANCE: "财务",
        AUDITOR: "审计员",
    }


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    depot_ids: frozenset[int] = field(default_factory=frozenset)
    county_ids: frozenset[int] = field(default_factory=frozenset)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


SYSTEM_USERNAME = "system"
