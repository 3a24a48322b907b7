"""Replaying the planned year in an in-memory ledger, to choose the lots of every document.

The intents (receipts with their lots, issues/transfers/write-offs/counts/rotations that
only know item, owner and quantity) run in time order. Outgoing documents take lots first
expiry first, exactly as a keeper would; one whose stock has not arrived yet waits until
just after the next receipt of what it lacks. Receipts always cover everything that goes out
(the planner made them so), so every intent eventually runs.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from seed.reference import Reference
from seed.timeline import LEVEL_RANK, Intent, Key, Numbering, Step

ROTATE_IF_EXPIRING_BY = date(2025, 3, 31)  # rotated out in the last weeks of 2024


class Ledger:
    """Balances per (depot, item, owner) and lot, as the database will hold them."""

    def __init__(self) -> None:
        self.stock: dict[Key, dict[str, int]] = defaultdict(dict)
        self.expiry: dict[tuple[str, str], date | None] = {}

    def add(self, key: Key, lot: str, quantity: int) -> None:
        lots = self.stock[key]
        lots[lot] = lots.get(lot, 0) + quantity

    def take(self, key: Key, lot: str, quantity: int) -> None:
        lots = self.stock[key]
        lots[lot] -= quantity
        assert lots[lot] >= 0, (key, lot)

    def total(self, key: Key) -> int:
        return sum(self.stock[key].values())

    def lots_in_order(self, key: Key) -> list[str]:
        """First expiry first; lots that never expire by age (their numbers start with it)."""
        item = key[1]
        return sorted(
            (lot for lot, qty in self.stock[key].items() if qty > 0),
            key=lambda lot: (self.expiry[(item, lot)] or date.max, lot),
        )

    def pick(self, key: Key, quantity: int) -> list[tuple[str, int]] | None:
        picks = []
        for lot in self.lots_in_order(key):
            take = min(quantity, self.stock[key][lot])
            picks.append((lot, take))
            quantity -= take
            if quantity == 0:
                return picks
        return None


class Replay:
    def __init__(
        self,
        reference: Reference,
        rng: random.Random,
        ledger: Ledger,
        numbering: Numbering,
        receipts: dict[Key, list[datetime]],
    ):
        self.ref = reference
        self.rng = rng
        self.ledger = ledger
        self.numbering = numbering
        self.receipts = receipts  # when each balance receives stock, in order
        self.items = {item.code: item for item in reference.items}
        self.owner_level = {owner.code: owner.level for owner in reference.owners}
        self.issued: dict[str, int] = defaultdict(int)  # category -> pieces to counties

    def run(self, intents: Sequence[Intent]) -> list[Step]:
        queue = [(intent.at, n, intent) for n, intent in enumerate(intents)]
        heapq.heapify(queue)
        serial = itertools.count(len(queue))
        steps: list[Step] = []
        while queue:
            _, _, intent = heapq.heappop(queue)
            step = getattr(self, f"resolve_{intent.kind}")(intent)
            if step is None:
                intent.at = self.retry_time(intent)
                heapq.heappush(queue, (intent.at, next(serial), intent))
                continue
            if step.kind == "transfer":
                heapq.heappush(queue, (step.at, next(serial), self.arrival_of(step)))
            if step.lines:
                steps.append(step)
        return steps

    def retry_time(self, intent: Intent) -> datetime:
        later = [
            t
            for item, owner, _ in intent.wants
            for t in self.receipts[(intent.depot, item, owner)]
            if t > intent.at
        ]
        if not later:
            raise RuntimeError(f"seed plan cannot be met: {intent.kind} {intent.depot}")
        return min(later) + timedelta(minutes=30 + self.rng.randrange(240))

    # -- outgoing documents --------------------------------------------------------------------

    def take_all(self, intent: Intent) -> list[dict[str, Any]] | None:
        """Explicit lots for every wanted line, or None (and nothing taken) if short."""
        needed: dict[Key, int] = defaultdict(int)
        for item, owner, qty in intent.wants:
            needed[(intent.depot, item, owner)] += qty
        if any(self.ledger.total(key) < qty for key, qty in needed.items()):
            return None
        lines = []
        for item, owner, qty in intent.wants:
            key = (intent.depot, item, owner)
            for lot, take in self.ledger.pick(key, qty) or []:
                self.ledger.take(key, lot, take)
                lines.append({"item": item, "lot": lot, "quantity": take, "owner": owner})
        return lines

    def authority_order(self, depots: Sequence[str], owners: Sequence[str]) -> str:
        """Stock of a reserve other than a depot's own moves on its level's order (the
        highest such level signs it): the one rule of ``stock.ownership``."""
        foreign = [
            self.owner_level[owner]
            for owner in owners
            for depot in depots
            if not self.ref.is_own_reserve(depot, owner)
        ]
        if not foreign:
            return ""
        return self.numbering.order(max(foreign, key=LEVEL_RANK.__getitem__))

    def outgoing(
        self, intent: Intent, kind: str, lines: list[dict[str, Any]], **extra: Any
    ) -> Step:
        depots = [intent.depot, *([intent.options["to_depot"]] if kind == "transfer" else [])]
        order = self.authority_order(depots, [line["owner"] for line in lines])
        options = {**intent.options, **extra}
        if order:
            options["authority_order"] = order
        return Step(intent.at, kind, intent.depot, lines, options, moves=len(lines), ref=intent.ref)

    def resolve_issue(self, intent: Intent) -> Step | None:
        lines = self.take_all(intent)
        if lines is None:
            return None
        for line in lines:
            self.issued[self.items[line["item"]].category] += line["quantity"]
        return self.outgoing(intent, "issue", lines)

    def resolve_scrap(self, intent: Intent) -> Step | None:
        lines = self.take_all(intent)
        return None if lines is None else self.outgoing(intent, "scrap", lines)

    def resolve_transfer(self, intent: Intent) -> Step | None:
        lines = self.take_all(intent)
        return None if lines is None else self.outgoing(intent, "transfer", lines)

    def arrival_of(self, shipment: Step) -> Intent:
        """The receiving depot books the goods in one to three days later."""
        return Intent(
            at=shipment.at + timedelta(days=self.rng.randint(1, 3), hours=self.rng.randint(0, 3)),
            kind="arrive",
            depot=shipment.options["to_depot"],
            lines=shipment.lines,
            ref=shipment.ref,
        )

    # -- incoming documents --------------------------------------------------------------------

    def book_in(self, depot: str, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            self.ledger.add((depot, line["item"], line["owner"]), line["lot"], line["quantity"])

    def resolve_receive(self, intent: Intent) -> Step:
        self.book_in(intent.depot, intent.lines)
        return Step(
            intent.at,
            "receive",
            intent.depot,
            intent.lines,
            intent.options,
            moves=len(intent.lines) * (3 if intent.mistake else 1),
            mistake=intent.mistake,
        )

    def resolve_arrive(self, intent: Intent) -> Step:
        self.book_in(intent.depot, intent.lines)
        return Step(
            intent.at, "arrive", intent.depot, intent.lines, moves=len(intent.lines), ref=intent.ref
        )

    # -- stock-takes and rotations ---------------------------------------------------------------

    def resolve_count(self, intent: Intent) -> Step:
        """The planned differences (wants carry signed deltas), then lines that agree."""
        lines: list[dict[str, Any]] = []
        counted: set[tuple[str, str, str]] = set()
        moves = 0
        for item, owner, delta in intent.wants:
            key = (intent.depot, item, owner)
            if delta > 0:
                lot = max(self.ledger.lots_in_order(key), key=lambda n: self.ledger.stock[key][n])
                picks = [(lot, -delta)]
            else:
                picks = self.ledger.pick(key, -delta) or []
                assert sum(q for _, q in picks) == -delta, key
            for lot, loss in picks:
                book = self.ledger.stock[key][lot]
                lines.append({"item": item, "lot": lot, "owner": owner, "counted": book - loss})
                counted.add((item, lot, owner))
                if loss > 0:
                    self.ledger.take(key, lot, loss)
                else:
                    self.ledger.add(key, lot, -loss)
                moves += 1
        keys = [k for k in self.ledger.stock if k[0] == intent.depot and self.ledger.total(k)]
        for key in self.rng.sample(keys, min(len(keys), intent.options["extra_lines"])):
            lot = self.rng.choice(self.ledger.lots_in_order(key))
            if (key[1], lot, key[2]) not in counted:
                counted.add((key[1], lot, key[2]))
                book = self.ledger.stock[key][lot]
                lines.append({"item": key[1], "lot": lot, "owner": key[2], "counted": book})
        options = {"reason": intent.options["reason"]}
        order = self.authority_order([intent.depot], [owner for _, owner, _ in intent.wants])
        if order:  # a difference in another reserve's stock is booked on its order
            options["authority_order"] = order
        return Step(intent.at, "count", intent.depot, lines, options, moves)

    def resolve_rotate(self, intent: Intent) -> Step:
        """Every lot of the depot expiring by the end of March goes out, a fresh one comes in."""
        out_lines, in_lines = [], []
        for key in [k for k in self.ledger.stock if k[0] == intent.depot]:
            item = self.items[key[1]]
            for lot in self.ledger.lots_in_order(key):
                expiry = self.ledger.expiry[(item.code, lot)]
                if expiry is None or expiry > ROTATE_IF_EXPIRING_BY:
                    continue
                qty = self.ledger.stock[key][lot]
                produced = intent.at.date() - timedelta(days=self.rng.randint(3, 15))
                fresh = self.numbering.lot(item, produced)
                assert item.shelf_life_days is not None
                self.ledger.expiry[(item.code, fresh)] = produced + timedelta(
                    days=item.shelf_life_days
                )
                self.ledger.take(key, lot, qty)
                self.ledger.add(key, fresh, qty)
                out_lines.append({"item": item.code, "lot": lot, "quantity": qty, "owner": key[2]})
                in_lines.append(
                    {
                        "item": item.code,
                        "lot": fresh,
                        "quantity": qty,
                        "owner": key[2],
                        "production_date": produced.isoformat(),
                    }
                )
        if not out_lines:
            return Step(intent.at, "rotate", intent.depot, [])
        step = self.outgoing(intent, "rotate", out_lines, in_lines=in_lines)
        step.moves = 2 * len(out_lines)
        return step
