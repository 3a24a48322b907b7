"""The 2024 history of one copy of the prefecture, planned in memory before anything is written.

Why plan first: the facts must come out exactly (217,300 pieces on hand at the end of the
year, 8,496 quilts and clothes issued to the counties) and every outgoing document must name
lots that really hold the stock at that moment. So the year is planned backwards from the
year-end balances (receipts = what is left + what went out - what came in), then replayed
forwards (seed/replay.py) to choose the lots. The executor sends the resulting documents
through the real services, which check everything again.

Everything here is pure: one ``random.Random`` and one seeded Faker, no database, no clock.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from faker import Faker

from seed.reference import CategoryRow, DepotRow, ItemRow, Reference
from seed.replay import Ledger, Replay
from seed.timeline import (
    VALID_THROUGH,
    YEAR,
    Intent,
    Key,
    Numbering,
    Step,
    Want,
    batched,
    chunks,
    day_between,
    moment,
    split,
)

LAST_RECEIPT = date(YEAR, 12, 20)  # stock-takes follow, from 23 December

# Whose stock a depot keeps, by the depot's level: (owner level, share).
OWNER_MIX = {
    "prefecture": (("central", 0.2), ("provincial", 0.2), ("prefecture", 0.6)),
    "county": (("county", 0.7), ("prefecture", 0.2), ("provincial", 0.1)),
}
# When higher-level stock is pre-positioned into county depots, by category (default: flood).
PREPOSITIONING = {
    "QUILT": ("winter",),
    "CLOTH": ("winter",),
    "BLANKET": ("winter",),
    "RICE": ("flood", "winter"),
    "OIL": ("flood", "winter"),
    "WATER": ("flood", "winter"),
}


@dataclass
class ReplicaPlan:
    steps: list[Step]
    on_hand: dict[tuple[str, str], int]  # (depot, category) -> pieces at the end of 2024
    issued: dict[str, int]  # category -> pieces issued to counties in 2024

    @property
    def moves(self) -> int:
        return sum(step.moves for step in self.steps)


# -- the planner ---------------------------------------------------------------------------


class Planner:
    def __init__(self, reference: Reference, rng: random.Random, fake: Faker):
        self.ref = reference
        self.rng = rng
        self.fake = fake
        self.items = {item.code: item for item in reference.items}
        self.owner_level = {owner.code: owner.level for owner in reference.owners}
        self.level_owner = {o.level: o.code for o in reference.owners if o.level != "county"}
        self.county_owner = {o.county: o.code for o in reference.owners if o.county}
        self.ledger = Ledger()
        self.numbering = Numbering(rng)
        self.intents: list[Intent] = []
        self.contract_numbers = itertools.count(1)
        self.transfer_refs = itertools.count(1)
        self.suppliers = [fake.company() for _ in range(8)]  # framework-contract suppliers
        self.out: dict[Key, int] = defaultdict(int)
        self.into: dict[Key, int] = defaultdict(int)
        self.receipts: dict[Key, list[datetime]] = defaultdict(list)
        self.deliveries: dict[tuple[str, str, date, date], list[date]] = {}

    # -- year-end balances -------------------------------------------------------------------

    def stocking(self, item: ItemRow) -> list[DepotRow]:
        return [d for d in self.ref.depots if item.stocked_at == "all" or d.major]

    def owner_code(self, depot: DepotRow, level: str) -> str:
        return self.county_owner[depot.county] if level == "county" else self.level_owner[level]

    def targets(self) -> dict[Key, int]:
        """Year-end pieces per (depot, item, owner): categories -> items -> depots -> owners."""
        targets: dict[Key, int] = {}
        for category in self.ref.categories:
            items = [i for i in self.ref.items if i.category == category.code]
            for item, item_total in zip(
                items, split(category.on_hand, [i.share for i in items]), strict=True
            ):
                depots = self.stocking(item)
                weights = [d.weight * self.rng.uniform(0.7, 1.3) for d in depots]
                for depot, depot_total in zip(depots, split(item_total, weights), strict=True):
                    mix = OWNER_MIX[depot.level]
                    shares = [share * self.rng.uniform(0.6, 1.4) for _, share in mix]
                    for (level, _), qty in zip(mix, split(depot_total, shares), strict=True):
                        if qty:
                            targets[(depot.code, item.code, self.owner_code(depot, level))] = qty
        return targets

    # -- outgoing documents ------------------------------------------------------------------

    def plan_issues(self, targets: dict[Key, int]) -> None:
        """Each category's 2024 issues, cut into lines and attached to disaster events."""
        by_depot_item: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        for (depot, item, owner), qty in targets.items():
            by_depot_item[(depot, item)].append((owner, qty))
        events = EventBook(self.ref, self.rng)
        documents: dict[tuple[str, int], list[Want]] = defaultdict(list)
        for category in self.ref.categories:
            items = [i for i in self.ref.items if i.category == category.code]
            for item, item_issued in zip(
                items, split(category.issued, [i.share for i in items]), strict=True
            ):
                depots = self.stocking(item)
                weights = [d.weight * (1.5 if d.level == "prefecture" else 1.0) for d in depots]
                for depot, depot_issued in zip(depots, split(item_issued, weights), strict=True):
                    owners = by_depot_item.get((depot.code, item.code)) or [
                        (self.owner_code(depot, OWNER_MIX[depot.level][-1][0]), 1)
                    ]
                    for (owner, _), qty in zip(
                        owners, split(depot_issued, [q for _, q in owners]), strict=True
                    ):
                        self.out[(depot.code, item.code, owner)] += qty
                        for piece in chunks(qty, category.issue_chunk, self.rng):
                            event = events.pick(self.county_for(depot), category)
                            documents[(depot.code, event)].append((item.code, owner, piece))
        for (depot, event_id), wants in documents.items():
            event = events.events[event_id]
            for part in batched(wants):
                self.intents.append(
                    Intent(
                        at=moment(self.rng, event.day + timedelta(days=self.rng.randrange(3))),
                        kind="issue",
                        depot=depot,
                        wants=part,
                        options={
                            "county": event.county,
                            "reason": event.reason,
                            "source_ref": event.request,
                        },
                    )
                )

    def county_for(self, depot: DepotRow) -> str:
        """County depots mostly serve their own county; the prefecture depot serves all."""
        if depot.level == "county" and self.rng.random() < 0.85:
            return depot.county
        return self.rng.choice(self.ref.counties).code

    def plan_transfers(self, targets: dict[Key, int]) -> None:
        """Pre-positioning (预置): higher-level stock moved into county depots before the
        flood season and before winter, mostly from the prefecture depot."""
        windows = {
            "flood": (date(YEAR, 4, 1), date(YEAR, 5, 31), "汛前救灾物资预置"),
            "winter": (date(YEAR, 9, 16), date(YEAR, 11, 30), "冬春救助物资前置储备"),
        }
        prefecture = self.ref.prefecture_depot
        groups: dict[tuple[str, str, str], list[Want]] = defaultdict(list)
        for (depot, item, owner), qty in targets.items():
            row = self.ref.depot(depot)
            if row.level != "county" or self.owner_level[owner] == "county":
                continue
            category = self.items[item].category
            for window in PREPOSITIONING.get(category, ("flood",)):
                if self.rng.random() > 0.75:
                    continue
                moved = int(qty * self.rng.uniform(0.05, 0.2))
                if moved == 0:
                    continue
                sources = [d for d in self.stocking(self.items[item]) if d.code != depot]
                source = (prefecture if self.rng.random() < 0.8 else self.rng.choice(sources)).code
                self.out[(source, item, owner)] += moved
                self.into[(depot, item, owner)] += moved
                groups[(source, depot, window)].append((item, owner, moved))
        for (source, depot, window), wants in groups.items():
            first, last, reason = windows[window]
            for part in batched(wants):
                self.intents.append(
                    Intent(
                        at=moment(self.rng, day_between(self.rng, first, last)),
                        kind="transfer",
                        depot=source,
                        wants=part,
                        options={"to_depot": depot, "reason": reason},
                        ref=next(self.transfer_refs),
                    )
                )

    def plan_scraps(self, targets: dict[Key, int]) -> None:
        """A few write-offs of damaged goods per depot, entered and approved by two people."""
        reasons = self.ref.phrases["scrap"]
        by_depot: dict[str, list[Key]] = defaultdict(list)
        for key, qty in targets.items():
            if qty >= 20 and not self.items[key[1]].perishable:
                by_depot[key[0]].append(key)
        for depot, keys in by_depot.items():
            for key in self.rng.sample(keys, min(len(keys), 2)):
                qty = self.rng.randint(2, 12)
                self.out[key] += qty
                self.intents.append(
                    Intent(
                        at=moment(
                            self.rng, day_between(self.rng, date(YEAR, 3, 1), date(YEAR, 11, 30))
                        ),
                        kind="scrap",
                        depot=depot,
                        wants=[(key[1], key[2], qty)],
                        options={"reason": self.rng.choice(reasons)},
                    )
                )

    def plan_counts(self, targets: dict[Key, int]) -> None:
        """The year-end stock-take of every depot; a few lines differ from the books."""
        by_depot: dict[str, list[Key]] = defaultdict(list)
        for key, qty in targets.items():
            if qty >= 10 and self.items[key[1]].tracking == "lot":
                by_depot[key[0]].append(key)
        for depot, keys in by_depot.items():
            differing = self.rng.sample(keys, min(len(keys), 3))
            wants = []
            for key in differing:
                delta = self.rng.choice((-3, -2, -1, 1, 2))
                (self.out if delta < 0 else self.into)[key] += abs(delta)
                wants.append((key[1], key[2], delta))
            self.intents.append(
                Intent(
                    at=moment(
                        self.rng, day_between(self.rng, date(YEAR, 12, 23), date(YEAR, 12, 30))
                    ),
                    kind="count",
                    depot=depot,
                    wants=wants,
                    options={"reason": "2024年度库存盘点", "extra_lines": self.rng.randint(4, 9)},
                )
            )

    def plan_rotations(self) -> None:
        for depot in self.ref.depots:
            self.intents.append(
                Intent(
                    at=moment(
                        self.rng, day_between(self.rng, date(YEAR, 11, 15), date(YEAR, 12, 12))
                    ),
                    kind="rotate",
                    depot=depot.code,
                    options={
                        "partner": self.rng.choice(self.ref.phrases["rotation_partner"]),
                        "reason": "临近保质期物资轮换（以旧换新）",
                    },
                )
            )

    # -- receipts ----------------------------------------------------------------------------

    def plan_receipts(self, targets: dict[Key, int]) -> None:
        """Receipts bring in what is left at the end plus what went out minus what came in."""
        lines: dict[tuple[str, str, date], list[dict[str, Any]]] = defaultdict(list)
        for key in sorted(set(targets) | set(self.out)):
            depot, item_code, owner = key
            item = self.items[item_code]
            category = self.ref.category(item.category)
            received = targets.get(key, 0) + self.out[key] - self.into[key]
            for day, produced, qty in self.lots_for(item, category, received, key, targets):
                lot = self.numbering.lot(item, produced)
                self.ledger.expiry[(item.code, lot)] = (
                    produced + timedelta(days=item.shelf_life_days)
                    if item.shelf_life_days
                    else None
                )
                line = {
                    "item": item.code,
                    "lot": lot,
                    "quantity": qty,
                    "owner": owner,
                    "production_date": produced.isoformat(),
                }
                lines[(depot, owner, day)].append(line)
        for (depot, owner, day), group in lines.items():
            for part in batched(group):
                at = moment(self.rng, day, 9, 12)
                for line in part:
                    self.receipts[(depot, line["item"], owner)].append(at)
                self.intents.append(
                    Intent(
                        at=at,
                        kind="receive",
                        depot=depot,
                        lines=part,
                        options=self.receipt_options(owner, depot),
                        mistake=self.rng.random() < 0.02
                        and all(self.items[line["item"]].tracking == "lot" for line in part),
                    )
                )
        for times in self.receipts.values():
            times.sort()

    def lots_for(
        self,
        item: ItemRow,
        category: CategoryRow,
        received: int,
        key: Key,
        targets: dict[Key, int],
    ) -> list[tuple[date, date, int]]:
        """(receipt day, production day, quantity) of each lot received for one balance.

        Perishables: an old lot early in the year (rotated out before it expires), and about
        half of what stays at year end arrives fresh in December, so much of the food and
        water is still good two years later. Serial-numbered equipment: one lot per unit.
        """
        if received <= 0:
            return []
        if item.tracking == "serial":
            return [self.durable_lot(key, category) for _ in range(received)]
        if not item.perishable:
            return [
                (*self.durable_lot(key, category)[:2], qty)
                for qty in chunks(received, category.lot_size, self.rng)
            ]
        assert item.shelf_life_days is not None
        shelf = timedelta(days=item.shelf_life_days)
        december = (targets.get(key, 0) - self.into[key]) // 2
        early = received - december
        result = []
        if item.shelf_life_days <= 730 and early >= 2 * category.lot_size:
            old = int(early * self.rng.uniform(0.1, 0.25))
            expires = day_between(self.rng, date(YEAR + 1, 1, 10), date(YEAR + 1, 3, 25))
            produced = expires - shelf
            arrival = max(produced + timedelta(days=10), date(YEAR, 1, 3))
            result.append((arrival, produced, old))
            early -= old
        for qty in chunks(early, category.lot_size, self.rng):
            day = self.delivery_day(key, category, date(YEAR, 1, 3), date(YEAR, 10, 31))
            result.append((day, self.fresh_production(day, shelf), qty))
        for qty in chunks(december, category.lot_size, self.rng):
            day = self.delivery_day(key, category, date(YEAR, 12, 2), LAST_RECEIPT)
            result.append((day, day - timedelta(days=self.rng.randrange(4)), qty))
        return result

    def durable_lot(self, key: Key, category: CategoryRow) -> tuple[date, date, int]:
        """Half of the durable goods arrive in the first weeks of the year."""
        last = date(YEAR, 2, 15) if self.rng.random() < 0.5 else date(YEAR, 9, 30)
        day = self.delivery_day(key, category, date(YEAR, 1, 3), last)
        return day, day - timedelta(days=self.rng.randint(10, 120)), 1

    def delivery_day(self, key: Key, category: CategoryRow, first: date, last: date) -> date:
        """Deliveries come on a few days per depot and reserve, many lots at once, so one
        receipt document carries many lines."""
        calendar = self.deliveries.setdefault(
            (key[0], key[2], first, last),
            sorted(day_between(self.rng, first, last) for _ in range(self.rng.randint(2, 5))),
        )
        return self.rng.choice(calendar)

    def fresh_production(self, day: date, shelf: timedelta) -> date:
        """Produced shortly before arrival, and never so early it would expire within 2024."""
        produced = day - timedelta(days=self.rng.randint(3, 40))
        return max(produced, VALID_THROUGH + timedelta(days=1) - shelf)

    def receipt_options(self, owner: str, depot: str) -> dict[str, Any]:
        """Another reserve's stock (pre-positioned prefecture stock bought straight into a
        county depot, say) is received on its level's order."""
        options = self.receipt_kind(owner)
        if "authority_order" not in options and not self.ref.is_own_reserve(depot, owner):
            options["authority_order"] = self.numbering.order(self.owner_level[owner])
        return options

    def receipt_kind(self, owner: str) -> dict[str, Any]:
        level = self.owner_level[owner]
        if level in ("central", "provincial"):
            return {
                "origin": "allocation",
                "partner": self.ref.phrases[level][0],
                "authority_order": self.numbering.order(level),
                "reason": "上级下拨救灾物资入库",
            }
        if self.rng.random() < 0.12:
            donor = (
                self.rng.choice(self.ref.phrases["donor"])
                if self.rng.random() < 0.5
                else self.fake.company()
            )
            return {"origin": "donation", "partner": donor, "reason": "社会捐赠救灾物资入库"}
        return {
            "origin": "purchase",
            "partner": self.rng.choice(self.suppliers),
            "reason": "2024年度救灾物资采购入库",
            "source_ref": f"CG2024-{next(self.contract_numbers):04d}",
        }

    # -- all together ------------------------------------------------------------------------

    def plan(self) -> ReplicaPlan:
        targets = self.targets()
        self.plan_issues(targets)
        self.plan_transfers(targets)
        self.plan_scraps(targets)
        self.plan_counts(targets)
        self.plan_rotations()
        self.plan_receipts(targets)
        replay = Replay(self.ref, self.rng, self.ledger, self.numbering, self.receipts)
        steps = replay.run(self.intents)
        for key, qty in targets.items():
            assert self.ledger.total(key) == qty, (key, qty, self.ledger.total(key))
        on_hand: dict[tuple[str, str], int] = defaultdict(int)
        for (depot, item, _), qty in targets.items():
            on_hand[(depot, self.items[item].category)] += qty
        return ReplicaPlan(steps, dict(on_hand), dict(replay.issued))


@dataclass(frozen=True)
class Event:
    day: date
    county: str
    reason: str
    request: str  # the county's request for relief goods


class EventBook:
    """The year's disasters: each county's events, created as issues need them."""

    def __init__(self, reference: Reference, rng: random.Random):
        self.ref = reference
        self.rng = rng
        self.events: list[Event] = []
        self.by_county: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.requests: dict[str, int] = defaultdict(int)

    def pick(self, county: str, category: CategoryRow) -> int:
        known = [e for h in category.hazards for e in self.by_county[(county, h)]]
        if known and self.rng.random() < 0.95:
            return self.rng.choice(known)
        hazards = [self.ref.hazard(code) for code in category.hazards]
        hazard = self.rng.choices(hazards, weights=[h.weight for h in hazards])[0]
        month = self.rng.choice(hazard.months)
        day = date(YEAR, month, self.rng.randint(1, 28))
        self.requests[county] += 1
        name = next(c.name for c in self.ref.counties if c.code == county)
        self.events.append(
            Event(
                day,
                county,
                f"{name}{hazard.reason}",
                f"{name[:2]}应急请〔2024〕{self.requests[county]}号",
            )
        )
        self.by_county[(county, hazard.code)].append(len(self.events) - 1)
        return len(self.events) - 1


def plan_replica(reference: Reference, random_seed: int, replica: int) -> ReplicaPlan:
    """The history of copy number ``replica`` (0 is the prefecture itself)."""
    rng = random.Random(f"relief-seed:{random_seed}:{replica}")
    fake = Faker("zh_CN")
    fake.seed_instance(f"relief-seed:{random_seed}:{replica}")
    return Planner(reference, rng, fake).plan()
