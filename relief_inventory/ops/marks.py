"""Marks of long operations that must not pass for done when they were interrupted.

A seed writes in hundreds of transactions; killed half-way (tried: 185,620 of 217,300
pieces) the database holds plausible data that every ledger check accepts. So the seed
commits a ``started`` mark before its first write and turns it ``completed`` after its
last: ``relief check`` reports a mark still ``started`` as a failure, and
``relief seed --if-empty`` (``make run``) redoes the seed from scratch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from relief_inventory.db import open_session
from relief_inventory.timeutil import to_local, utcnow

STARTED = "started"
COMPLETED = "completed"
LABELS = {"seed": "演示数据写入（relief seed）", "restore": "数据库恢复（relief restore）"}
REMEDIES = {
    "seed": "：运行 relief seed --if-empty 重做（make run 会自动重做）",
    "restore": "：本库内容不可信，请重新运行 relief restore（必要时加 --force）",
}


class OperationMark(SQLModel, table=True):
    """One long operation's state. Operational bookkeeping, not history: not audited."""

    __tablename__ = "operation_mark"

    name: str = Field(primary_key=True, max_length=32)
    state: str = Field(max_length=16)
    detail: str = Field(default="", max_length=400)
    started_at: datetime
    finished_at: datetime | None = None


def mark(engine: Engine, name: str, state: str, detail: str | None = None) -> None:
    """Set the mark ``name`` to ``state`` in a transaction of its own."""
    with open_session(engine) as session, session.begin():
        mark = session.get(OperationMark, name)
        now = utcnow()
        if mark is None or state == STARTED:
            mark = mark or OperationMark(name=name, state=state, started_at=now)
            mark.started_at, mark.finished_at = now, None
            session.add(mark)
        mark.state = state
        if detail is not None:
            mark.detail = detail
        if state == COMPLETED:
            mark.finished_at = now


@contextmanager
def marked(engine: Engine, name: str, detail: str = "") -> Iterator[None]:
    """Run the block between a committed ``started`` mark and a ``completed`` one. An
    exception leaves the mark ``started``: the work is as unfinished as a kill leaves it."""
    mark(engine, name, STARTED, detail)
    yield
    mark(engine, name, COMPLETED)


def unfinished(session: Session) -> list[OperationMark]:
    if not inspect(session.connection()).has_table(OperationMark.__tablename__):
        return []
    return list(session.scalars(select(OperationMark).where(OperationMark.state == STARTED)))


def is_unfinished(engine: Engine, name: str) -> bool:
    with open_session(engine) as session:
        return any(mark.name == name for mark in unfinished(session))


def check_marks(session: Session) -> list[str]:
    """``relief check``: every operation that started and never completed."""
    return [
        f"{LABELS.get(mark.name, mark.name)}开始于 "
        f"{to_local(mark.started_at):%Y-%m-%d %H:%M:%S}，未完成（进程被中断？）"
        + REMEDIES.get(mark.name, "")
        for mark in unfinished(session)
    ]
