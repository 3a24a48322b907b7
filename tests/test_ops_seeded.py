"""Operations on the seeded prefecture (SQLite, one seed for the module): the seed is first
killed half-way and redone by ``seed --if-empty`` (as ``make run`` would); the backup
round trip then runs on the redone database. ``round_trip_while_writing`` is shared with
the PostgreSQL case in test_ops_backup.py."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from sqlalchemy import func, select

from relief_inventory.db import make_engine, open_session
from relief_inventory.stock.models import Lot, Move
from tests.ops_tools import api, books_balance, login, relief, relief_here, serving


@dataclass
class Seeded:
    url: str
    killed: CompletedProcess | None = None  # the seed killed half-way (SQLite)
    moves_when_killed: int = 0
    check_after_kill: CompletedProcess | None = None
    redo: CompletedProcess | None = None


def _moves(url: str) -> int:
    engine = make_engine(url)
    with open_session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Move)) or 0
    engine.dispose()
    return count


@pytest.fixture(scope="module")
def seeded(sqlite_template, tmp_path_factory) -> Seeded:
    """The demo prefecture on SQLite, its first seed killed half-way and redone."""
    path = tmp_path_factory.mktemp("ops-seed") / "relief.db"
    shutil.copy(sqlite_template, path)
    state = Seeded(f"sqlite:///{path}")
    state.killed = relief("seed", "--quiet", db_url=state.url, RELIEF_CRASH_AT="stock_move:2")
    state.moves_when_killed = _moves(state.url)
    state.check_after_kill = relief("check", db_url=state.url)
    state.redo = relief("seed", "--if-empty", "--quiet", db_url=state.url)
    assert state.redo.returncode == 0, state.redo.stderr[-3000:]
    return state


def test_a_seed_killed_half_way_is_reported_and_redone(seeded: Seeded) -> None:
    assert seeded.killed.returncode == -9, seeded.killed.stderr[-2000:]
    assert seeded.moves_when_killed > 0  # half a seed, which the ledger checks would accept
    assert seeded.check_after_kill.returncode == 1
    assert "relief seed --if-empty" in seeded.check_after_kill.stdout
    assert "重新写入" in seeded.redo.stderr and "217,300" in seeded.redo.stdout
    books_balance(seeded.url)
    again = relief("seed", "--if-empty", "--quiet", db_url=seeded.url)
    assert again.returncode == 0 and "跳过" in again.stdout


# -- backup and restore --------------------------------------------------------------------


def _receipt(number: int) -> dict:
    return {
        "depot": "ZX",
        "partner": "备份测试供应商",
        "reason": "备份期间的写入",
        "lines": [{"item": "TENT-12", "lot": f"BK-{number}", "quantity": 1}],
    }


def test_backup_of_the_seeded_prefecture_while_writing(seeded: Seeded, tmp_path) -> None:
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    round_trip_while_writing(seeded.url, target, tmp_path, ("keeper", "demo-keeper-2024"))


def round_trip_while_writing(
    source: str, target_url: str, tmp_path: Path, keeper: tuple[str, str]
) -> None:
    """Serve ``source``, keep a keeper posting receipts to depot ZX, back up in the middle,
    restore into the empty ``target_url`` and prove it; then the refusals and a failure."""
    backup_file = tmp_path / "prefecture.relief"
    written: list[int] = []
    stop = threading.Event()
    with serving(source, RELIEF_WORKERS="4") as base:
        token = login(base, *keeper)

        def write() -> None:
            while not stop.is_set():
                status, body = api(base, "POST", "/receipts", _receipt(len(written)), token)
                assert status == 201, body
                written.append(1)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while len(written) < 3:
                time.sleep(0.05)
            made = relief("backup", "-o", str(backup_file), db_url=source)
            during = len(written)
            while len(written) < during + 3:  # still writing after the copy
                time.sleep(0.05)
        finally:
            stop.set()
            writer.join()
    assert made.returncode == 0, made.stderr[-3000:]
    head = made.stdout.split("审计链头：")[1].strip()

    restored = relief_here("restore", str(backup_file), db_url=target_url)
    assert restored.returncode == 0, restored.stderr[-3000:]
    books_balance(target_url, head=head)
    assert 3 <= _lots_like(target_url, "BK-%") < len(written) == _lots_like(source, "BK-%")

    again = relief_here("restore", str(backup_file), db_url=target_url)
    assert again.returncode == 2 and "--force" in again.stderr
    forced = relief_here("restore", str(backup_file), "--force", db_url=target_url)
    assert forced.returncode == 0, forced.stderr[-3000:]

    _refusals_and_failures(backup_file, target_url, head, tmp_path)


def _lots_like(url: str, pattern: str) -> int:
    engine = make_engine(url)
    with open_session(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Lot).where(Lot.number.like(pattern))
        )
    engine.dispose()
    return count or 0


def _rewritten(backup_file: Path, out: Path, *, data: bytes | None = None, **changes) -> Path:
    """A copy of the backup with manifest fields (and the data) replaced."""
    with tarfile.open(backup_file) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
        member = manifest["member"]
        payload = data if data is not None else archive.extractfile(member).read()
    manifest.update(changes)
    with tarfile.open(out, "w") as archive:
        for name, content in (("manifest.json", json.dumps(manifest).encode()), (member, payload)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return out


def _refusals_and_failures(backup_file: Path, target_url: str, head: str, tmp_path) -> None:
    newer = _rewritten(backup_file, tmp_path / "newer.relief", revision="9999_future")
    refused = relief_here("restore", str(newer), "--force", db_url=target_url)
    assert refused.returncode == 2 and "比本程序新" in refused.stderr
    truncated = _rewritten(backup_file, tmp_path / "cut.relief", data=b"only the first bytes")
    refused = relief_here("restore", str(truncated), "--force", db_url=target_url)
    assert refused.returncode == 2 and "已损坏" in refused.stderr
    assert relief_here("audit", "head", db_url=target_url).stdout.strip() == head  # untouched

    # A restore whose result does not prove out is reported as failed and stays failed.
    wrong_head = f"{head.split(':')[0]}:{'f' * 64}"
    wrong = _rewritten(backup_file, tmp_path / "wrong.relief", head=wrong_head)
    failed = relief_here("restore", str(wrong), "--force", db_url=target_url)
    assert failed.returncode == 1 and "恢复失败" in failed.stderr
    check = relief_here("check", db_url=target_url)
    assert check.returncode == 1 and "relief restore" in check.stdout
