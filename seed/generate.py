"""``relief seed``: fill an empty database with the demo prefecture and its 2024 history.

Everything is written through the services, as the ``system`` actor, so the seeded database
is one the application could have produced itself: audited, checked by ``relief check``.
The content depends only on ``random_seed`` and ``scale`` (no clock): the same arguments give
the same depots, items, lots, documents and balances.

Other modules add their own demo data by appending a seeder to ``EXTRA_SEEDERS`` (see below);
seeders run after the stock history, in list order.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faker import Faker
from sqlalchemy import Engine, MetaData, func, select, text
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import SYSTEM_USERNAME, Actor
from relief_inventory.auth.models import User
from relief_inventory.auth.services import actor_for, system_actor, user_by_name
from relief_inventory.bootstrap import init_database
from relief_inventory.db import is_sqlite, open_session
from relief_inventory.errors import Conflict
from relief_inventory.ops.marks import marked
from relief_inventory.stock.models import (
    Category,
    Item,
    Lot,
    Move,
    Owner,
    Quant,
    StockDocument,
)
from relief_inventory.stock.queries import county_receipts
from relief_inventory.timeutil import LOCAL_ZONE
from relief_inventory.warehouse.models import County, Depot, Location, LocationKind
from seed.execute import Executor
from seed.funds import seed_funds
from seed.masterdata import create_replica, create_shared, create_users
from seed.plan import YEAR, plan_replica
from seed.points import seed_points
from seed.readiness import seed_readiness
from seed.reference import Reference, UserRow, load_reference

DEFAULT_SEED = 2024
# FACTS.md: 8,496 pieces of quilts and (cotton) clothing were issued to the counties in 2024.
WINTER_RELIEF_CATEGORIES = ("QUILT", "CLOTH")

Seeder = Callable[[Engine, random.Random, int], None]

# ---------------------------------------------------------------------------------------------
# Hook for other modules: append a callable ``(engine, rng, scale) -> None``. It runs after the
# stock history, with its own ``random.Random`` derived from the seed and its qualified name,
# and must write through the services as ``seed.generate`` does (e.g. the funds seeder).
EXTRA_SEEDERS: list[Seeder] = [seed_points, seed_funds, seed_readiness]
# ---------------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]  # (documents written, documents planned)


@dataclass(frozen=True)
class SeedReport:
    random_seed: int
    scale: int
    seconds: float
    depots: int
    points: int  # township stock points below the depots
    categories: int
    items: int
    lots: int
    documents: int
    moves: int
    on_hand: int  # pieces on the depots' shelves
    winter_relief_issued: int  # quilts and clothing issued to counties in 2024
    users: tuple[UserRow, ...]  # the demo users, with their demo passwords
    other_users: tuple[str, ...]  # users the extra seeders created


# -- empty, reset --------------------------------------------------------------------------------


def database_is_empty(engine: Engine) -> bool:
    """No master data, no documents, no user but ``system`` (what ``init-db`` leaves)."""
    with open_session(engine) as session:
        for model in (County, Depot, Owner, Category, Item, StockDocument):
            if session.scalar(select(model.id).limit(1)) is not None:
                return False
        users = session.scalar(
            select(func.count()).select_from(User).where(User.username != SYSTEM_USERNAME)
        )
        return not users


def reset_database(engine: Engine) -> None:
    """Drop every table (their guard triggers go with them) and migrate from scratch.

    Dropping is the only way past the append-only guards, which is the point: a reset is a
    new database, not an edit of the old one's history.
    """
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        if is_sqlite(engine):
            for table in reversed(metadata.sorted_tables):
                table.drop(connection)
        else:
            names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
            if names:
                connection.execute(text(f"DROP TABLE IF EXISTS {names} CASCADE"))
    engine.dispose()
    init_database(engine)


# -- seeding -------------------------------------------------------------------------------------


def seed_database(
    engine: Engine,
    *,
    random_seed: int = DEFAULT_SEED,
    scale: int = 1,
    progress: Progress | None = None,
) -> SeedReport:
    """Seed an empty, initialised database; refuses one that already holds data."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    init_database(engine)
    if not database_is_empty(engine):
        raise Conflict("数据库已有数据：演示数据只能写入空库（如需重建请用 --reset）")
    started = time.perf_counter()
    reference = load_reference()
    system = system_actor(engine)
    # An interrupted seed stays marked "started": relief check reports it, --if-empty redoes it.
    with marked(engine, "seed", f"random_seed={random_seed} scale={scale}"):
        create_shared(engine, system, reference)
        for replica in range(scale):
            create_replica(engine, system, reference, replica, _faker(random_seed, replica))
        create_users(engine, system, reference)
        approver = _approvers(engine, reference)
        _write_history(engine, system, approver, reference, random_seed, scale, progress)
        for seeder in EXTRA_SEEDERS:
            name = f"{seeder.__module__}.{seeder.__qualname__}"
            seeder(engine, random.Random(f"relief-seed:{random_seed}:{name}"), scale)
    return _report(engine, reference, random_seed, scale, time.perf_counter() - started)


def _faker(random_seed: int, replica: int) -> Faker:
    fake = Faker("zh_CN")
    fake.seed_instance(f"relief-seed:{random_seed}:{replica}:people")
    return fake


def _approvers(engine: Engine, reference: Reference) -> Callable[[str], Actor]:
    """Who approves a depot's write-offs and counts: its demo keeper, else the demo admin."""
    with open_session(engine) as session:
        actors = {
            user.username: actor_for(session, user_by_name(session, user.username))
            for user in reference.users
        }
        depot_ids = dict(session.execute(select(Depot.code, Depot.id)).all())
    keepers = [a for a in actors.values() if "keeper" in a.roles]
    admin = next(a for a in actors.values() if a.is_admin)

    def approver(depot: str) -> Actor:
        return next((k for k in keepers if depot_ids[depot] in k.depot_ids), admin)

    return approver


def _write_history(
    engine: Engine,
    system: Actor,
    approver: Callable[[str], Actor],
    reference: Reference,
    random_seed: int,
    scale: int,
    progress: Progress | None,
) -> None:
    """Plan and write one copy at a time, so memory stays flat at any scale."""
    counter = _Counter(progress)
    for replica in range(scale):
        plan = plan_replica(reference, random_seed, replica)
        if replica == 0:
            counter.total = len(plan.steps) * scale  # the copies are all about as long
        Executor(engine, system, approver, replica).run(plan.steps, counter.advance)
    counter.finish()


class _Counter:
    """Documents written so far, reported to the progress callback."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.done = 0
        self.total = 0

    def advance(self, count: int) -> None:
        self.done = min(self.done + count, self.total)
        if self.progress:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.progress:
            self.progress(self.total, self.total)


# -- what was seeded -----------------------------------------------------------------------------


def issued_to_counties(session: Session, categories: Sequence[str], year: int) -> int:
    """Pieces of these categories that reached the counties in ``year`` (net of reversals)."""
    start = datetime(year, 1, 1, tzinfo=LOCAL_ZONE)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_ZONE)
    wanted = set(session.scalars(select(Category.id).where(Category.code.in_(categories))))
    return sum(
        n for category, n in county_receipts(session, start, end).items() if category in wanted
    )


def shelf_total(session: Session) -> int:
    """Pieces on the depots' shelves (internal locations)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Quant.on_hand), 0))
        .join(Location, Location.id == Quant.location_id)
        .where(Location.kind == LocationKind.INTERNAL)
    )
    return int(total or 0)


def _count(session: Session, model: type, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _report(
    engine: Engine, reference: Reference, random_seed: int, scale: int, seconds: float
) -> SeedReport:
    with open_session(engine) as session:
        return SeedReport(
            random_seed=random_seed,
            scale=scale,
            seconds=seconds,
            depots=_count(session, Depot, Depot.parent_id.is_(None)),
            points=_count(session, Depot, Depot.parent_id.is_not(None)),
            categories=_count(session, Category),
            items=_count(session, Item),
            lots=_count(session, Lot),
            documents=_count(session, StockDocument),
            moves=_count(session, Move),
            on_hand=shelf_total(session),
            winter_relief_issued=issued_to_counties(session, WINTER_RELIEF_CATEGORIES, YEAR),
            users=reference.users,
            other_users=tuple(
                session.scalars(
                    select(User.username)
                    .where(
                        User.username.not_in([u.username for u in reference.users]),
                        User.username != SYSTEM_USERNAME,
                    )
                    .order_by(User.username)
                )
            ),
        )
