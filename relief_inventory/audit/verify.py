"""``relief audit verify``: walk the chain, then replay it against the audited tables.

The chain proves no entry was altered, removed or inserted; the replay proves no audited
row (a move, a lot, a money document) was changed, added or deleted behind the log's back.

Built to check a million entries in seconds: entries are read as plain text (``at`` in its
canonical UTC form, formatted by the database or sliced from SQLite's stored text), hashed
with ``chain.link_hash`` and only the ``changes`` of audited rows are parsed.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import relief_inventory.models  # noqa: F401  (registers every audited table before a replay)
from relief_inventory.audit.chain import GENESIS_HASH, canonical_value, link_hash
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.registry import AUDITED, AuditSpec
from relief_inventory.audit.services import chain_head
from relief_inventory.db import make_engine, open_session
from relief_inventory.errors import InvalidInput
from relief_inventory.timeutil import canonical_utc

MAX_ROW_PROBLEMS = 50
BATCH = 20_000
# From this many entries, a second process walks the chain while this one replays it.
PARALLEL_FROM = 200_000
_WALKER_URL = "RELIEF_VERIFY_WALKER_URL"
# SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (always 26 characters).
_SQLITE_STAMP_LENGTH = 26

# entity type -> entity id -> column -> value, as the log says the row should be now
State = dict[str, dict[str, dict[str, Any]]]
# ``changes`` is canonical JSON under the hash: no need for json.loads' whitespace handling.
_DECODER = json.JSONDecoder()


@dataclass
class Verification:
    entries: int = 0
    head: tuple[int, str] = (0, GENESIS_HASH)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_head(text: str, field: str = "head") -> tuple[int, str]:
    """A head published earlier by ``relief audit head``: ``SEQ:HASH``."""
    seq_text, _, digest = (text or "").strip().partition(":")
    digest = digest.lower()
    if (
        not seq_text.isdigit()
        or len(seq_text) > 18
        or len(digest) != 64
        or not all(c in "0123456789abcdef" for c in digest)
    ):
        raise InvalidInput("链头须为 SEQ:HASH 形式（序号:64 位十六进制哈希）", field=field)
    return int(seq_text), digest


def verify(
    session: Session,
    *,
    expected_head: tuple[int, str] | None = None,
    check_rows: bool = True,
    parallel: bool | None = None,
) -> Verification:
    """Check the chain up to the head seen when verification starts, then the tables.

    Everything is read in one snapshot, so writers may keep working meanwhile. On a large
    log (``parallel`` None: from ``PARALLEL_FROM`` entries) a child process walks the chain
    while this one replays the log against the tables: the entries up to that head never
    change, so both see the same ones.
    """
    with _gc_paused():
        _begin_snapshot(session)
        upto = chain_head(session)[0]
        if not check_rows:
            return _walk_chain(session, upto, expected_head)
        if parallel is None:
            parallel = upto >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
        url = _database_url(session) if parallel else None
        if url is None:
            result = _walk_chain(session, upto, expected_head)
            if result.ok:
                result.problems += _replay(session, upto)
            return result
        with _ChainWalker(url, upto, expected_head) as walker:
            replay_problems = _replay(session, upto)
            result = walker.result() or _walk_chain(session, upto, expected_head)
        if result.ok:
            result.problems += replay_problems
        return result


class _ChainWalker:
    """The chain walk in a child process (a fresh interpreter, not a fork: the caller may
    be a threaded server). Its answer is one line of JSON; if it fails for any reason
    ``result()`` is None and the caller walks the chain itself."""

    def __init__(self, url: str, upto: int, expected_head: tuple[int, str] | None):
        head = f"{expected_head[0]}:{expected_head[1]}" if expected_head else ""
        code = "from relief_inventory.audit.verify import walker_main; walker_main()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(upto), head],
            env={**os.environ, _WALKER_URL: url},  # not in argv, where ps would show it
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def result(self) -> Verification | None:
        output, _ = self.process.communicate()
        if self.process.returncode != 0:
            return None
        try:
            data = json.loads(output)
            return Verification(data["entries"], tuple(data["head"]), data["problems"])
        except (ValueError, KeyError, TypeError):
            return None

    def __enter__(self) -> _ChainWalker:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process.poll() is None:  # the replay failed first: do not leave it running
            self.process.kill()
            self.process.wait()


def walker_main() -> None:
    """Entry point of the child process: walk entries 1..argv[1], print the outcome."""
    upto, head = int(sys.argv[1]), sys.argv[2]
    seq_text, _, digest = head.partition(":")
    expected = (int(seq_text), digest) if head else None
    engine = make_engine(os.environ[_WALKER_URL])
    with open_session(engine) as session, _gc_paused():
        result = _walk_chain(session, upto, expected)
    engine.dispose()
    print(json.dumps({"entries": result.entries, "head": result.head, "problems": result.problems}))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Replaying builds a million small dicts and frees none: cyclic GC would only rescan
    them again and again (a tenth of the run)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _begin_snapshot(session: Session) -> None:
    """PostgreSQL: one REPEATABLE READ snapshot for every statement (SQLite's read
    transaction is one snapshot already)."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _database_url(session: Session) -> str | None:
    """Where a second process can read the same database (not an in-memory SQLite)."""
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def _entry_rows(session: Session, upto: int) -> Iterator[tuple]:
    """Entries 1..upto in order, ``at`` as canonical UTC text: no per-row datetime objects."""
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    at, at_text = _utc_text_column(session, table.c.at)
    query = (
        select(
            table.c.seq,
            at,
            table.c.actor_id,
            table.c.actor,
            table.c.action,
            table.c.entity_type,
            table.c.entity_id,
            table.c.changes,
            table.c.reason,
            table.c.prev_hash,
            table.c.hash,
        )
        .where(table.c.seq <= upto)
        .order_by(table.c.seq)
    )
    if at_text is None:
        yield from _stream(session, query)
    else:
        yield from ((row[0], at_text(row[1]), *row[2:]) for row in _stream(session, query))


def _stream(session: Session, query: Any) -> Iterator[Any]:
    """Rows in batches (a server-side cursor on PostgreSQL), without per-row fetch calls."""
    for partition in session.execute(query.execution_options(yield_per=BATCH)).partitions():
        yield from partition


def _utc_text_column(session: Session, column: Any) -> tuple[Any, Callable[[Any], Any] | None]:
    """Select a UTC datetime column as its canonical text (plus a converter, if one is needed).

    PostgreSQL formats it itself; SQLite's stored text only needs two characters changed.
    """
    if session.get_bind().dialect.name != "sqlite":
        utc = func.timezone("UTC", column)
        return func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), None
    return type_coerce(column, String), _sqlite_stamp_text


def _sqlite_stamp_text(stamp: str | None) -> str | None:
    if stamp is None:
        return None
    if len(stamp) == _SQLITE_STAMP_LENGTH and stamp[10] == " ":
        return f"{stamp[:10]}T{stamp[11:]}Z"
    try:  # not the form SQLAlchemy writes: parse it, as reading the row would
        return canonical_utc(datetime.fromisoformat(stamp).replace(tzinfo=UTC))
    except (TypeError, ValueError):
        return f"<unreadable {stamp!r}>"


def _walk_chain(session: Session, upto: int, expected_head: tuple[int, str] | None) -> Verification:
    """Every entry links to the one before and hashes to what it says; stop at the first
    that does not, naming it."""
    result = Verification()
    prev_hash, expected_seq, seen_head = GENESIS_HASH, 1, expected_head is None
    head_seq, head_hash = expected_head if expected_head is not None else (-1, "")
    for row in _entry_rows(session, upto):
        seq, at, actor_id, actor, action, etype, eid, changes, reason, link, digest = row
        if seq != expected_seq:
            result.problems.append(
                f"审计日志第 {seq} 条：序号不连续（应为 {expected_seq}），有记录被删除或插入"
            )
            return result
        if link != prev_hash:
            result.problems.append(f"审计日志第 {seq} 条：前一条哈希不符，链条断裂")
            return result
        if link_hash(seq, at, actor_id, actor, action, etype, eid, changes, reason, link) != digest:
            result.problems.append(f"审计日志第 {seq} 条：内容与哈希不符，记录被篡改")
            return result
        if seq == head_seq:
            if digest != head_hash:
                result.problems.append(
                    f"审计日志第 {seq} 条：与此前公布的链头哈希不符，日志被整体改写"
                )
                return result
            seen_head = True
        prev_hash, expected_seq = digest, expected_seq + 1
    result.entries = expected_seq - 1
    result.head = (result.entries, prev_hash)
    if result.entries != upto:
        result.problems.append(f"审计日志第 {upto} 条之前有记录缺失")
    elif not seen_head:
        result.problems.append(f"此前公布的链头（第 {head_seq} 条）已不在日志中，日志被截短")
    return result


def _replay(session: Session, upto: int) -> list[str]:
    """Rebuild each audited row from the log's creates and updates, then compare."""
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    query = (
        select(table.c.seq, table.c.action, table.c.entity_type, table.c.entity_id, table.c.changes)
        .where(
            table.c.seq <= upto,
            table.c.entity_type.in_(sorted(AUDITED)),
            table.c.action.in_(("create", "update")),
        )
        .order_by(table.c.seq)
    )
    states: State = {}
    parse = _DECODER.raw_decode
    for seq, action, etype, eid, changes in _stream(session, query):
        try:
            new_values = {k: v[1] for k, v in parse(changes)[0].items()}
        except (ValueError, TypeError, AttributeError, IndexError, KeyError):
            return [f"审计日志第 {seq} 条：变更内容格式错误，无法核对"]
        rows = states.setdefault(etype, {})
        if action == "create":
            rows[eid] = new_values
        else:
            rows.setdefault(eid, {}).update(new_values)
    result = Verification()
    _compare_rows(session, states, result)
    return result.problems


def _compare_rows(session: Session, states: State, result: Verification) -> None:
    for etype, spec in AUDITED.items():
        remaining = states.get(etype, {})
        for eid, snapshot in _rows(session, spec):
            logged = remaining.pop(eid, None)
            if logged is None:
                _flag(result, f"{etype} #{eid}：数据库中存在但审计日志中没有记录（绕过系统写入）")
            elif logged != snapshot:  # equal is the common case: one comparison in C
                # A column added after the row was logged has no logged value: not a change.
                changed = sorted(k for k, v in snapshot.items() if logged.get(k, v) != v)
                if changed:
                    fields = ", ".join(changed)
                    _flag(result, f"{etype} #{eid}：字段 {fields} 与审计日志不符（被篡改）")
        for eid in sorted(remaining):
            _flag(result, f"{etype} #{eid}：审计日志有记录但数据库中已不存在（被删除）")


# Column types whose values the log holds exactly as the driver returns them.
_PLAIN_TYPES = (Integer, BigInteger, SmallInteger, String, Text, Boolean, AutoString)


def _rows(session: Session, spec: AuditSpec) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each row of an audited table as the log would show it, keyed by its entity id.

    Plain columns are taken as they come; only the others (times, dates, money, masked
    secrets) go through a conversion, and times are read as text like the log's own.
    """
    table = spec.model.__table__  # type: ignore[attr-defined]
    names = spec.columns()
    keys = [c.key for c in table.primary_key.columns]
    width = len(names)
    sqlite = session.get_bind().dialect.name == "sqlite"
    selected, converters = [], []
    for index, name in enumerate(names):
        column = table.c[name]
        if name in spec.mask:
            selected.append(column)
            converters.append((index, name, partial(spec.logged_value, name)))
        elif isinstance(column.type, UTCDateTime):
            expression, converter = _utc_text_column(session, column)
            selected.append(expression)
            if converter is not None:
                converters.append((index, name, converter))
        elif sqlite and type(column.type) is Date:
            selected.append(type_coerce(column, String))  # stored as ISO text already
        else:
            selected.append(column)
            if type(column.type) not in _PLAIN_TYPES:
                converters.append((index, name, _canonical_or_marker))
    query = select(*selected, *[table.c[k] for k in keys])
    for row in _stream(session, query):
        eid = str(row[width]) if len(keys) == 1 else "-".join(str(v) for v in row[width:])
        snapshot = dict(zip(names, row, strict=False))
        for index, name, converter in converters:
            snapshot[name] = converter(row[index])
        yield eid, snapshot


def _canonical_or_marker(value: Any) -> Any:
    """A value with no canonical form can only be there by a write behind the log's back."""
    try:
        return canonical_value(value)
    except TypeError:
        return f"<unreadable {value!r}>"


def check_audit(session: Session) -> list[str]:
    """For ``relief check``: the chain is intact and every audited row matches the log.

    In a session of its own, so that it reads one snapshot even if the checks before it
    have already started a transaction on ``session``."""
    with open_session(session.get_bind()) as own:
        return verify(own).problems


def _flag(result: Verification, message: str) -> None:
    if len(result.problems) < MAX_ROW_PROBLEMS:
        result.problems.append(message)
    elif len(result.problems) == MAX_ROW_PROBLEMS:
        result.problems.append("……问题过多，其余从略")
