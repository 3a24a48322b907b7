"""A test hook: kill this process with SIGKILL at the worst moment of a chosen write.

``RELIEF_CRASH_AT=<table>[:<n>]`` makes the process kill itself, with no chance to clean
up, at the *n*-th commit (default the first) of a session whose transaction wrote
``<table>``: every row of the operation has been flushed to the database, the audit
entries and COMMIT not yet (on PostgreSQL those two leave in one message). The
crash-safety tests use it to show that a receipt, an allocation, a fund release or a seed
killed there leaves the database consistent, the operation wholly absent. Unset (always,
outside those tests) it installs nothing.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from relief_inventory.audit.registry import written_tables

ENV = "RELIEF_CRASH_AT"
_FLAG = "relief_crash_wrote"
_installed = False


def install_from_env() -> None:
    global _installed
    spec = os.environ.get(ENV, "").strip()
    if not spec or _installed:
        return
    _installed = True
    table, _, nth = spec.partition(":")
    remaining = [int(nth or 1)]

    def wrote(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if table in written_tables(statement):
            connection.info[_FLAG] = True

    def before_commit(session: Session) -> None:
        session.flush()  # every row of the operation reaches the database
        connection = session.connection()
        if connection.info.pop(_FLAG, False):
            remaining[0] -= 1
            if remaining[0] == 0:
                os.kill(os.getpid(), signal.SIGKILL)

    def forget(connection: Any) -> None:
        connection.info.pop(_FLAG, None)

    event.listen(Engine, "before_cursor_execute", wrote)
    event.listen(Engine, "rollback", forget)
    # first of the commit hooks: before the audit package appends the log and commits
    event.listen(Session, "before_commit", before_commit, insert=True)
