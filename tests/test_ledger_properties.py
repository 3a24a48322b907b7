"""Property-based tests of the stock ledger: random sequences of operations, valid and not.

A hypothesis state machine drives the real services on the small test prefecture (depots
ZX, SB, YR) and keeps its own model of every shelf balance. After every step:

- every quant equals the sum of its done moves and none is negative (``check_quants``);
- the shelves hold exactly what the model predicts;
- an operation the model says must be refused (too little stock, missing dispatch order,
  wrong keeper, own approval, bad quantity, expired lot...) was refused and changed nothing,
  and one it says must succeed did.

One world is built per test and the examples accumulate on it: the model is re-read from
the database when each example starts, so earlier examples are simply history. (A failure
found late may therefore replay as "flaky": the world it ran on has moved on. It is still a
failure, and the printed steps show what happened.)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from relief_inventory.errors import (
    Conflict,
    DomainError,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import (
    DocKind,
    DocState,
    Item,
    Lot,
    Move,
    MoveState,
    Owner,
    Quant,
    StockDocument,
)
from relief_inventory.timeutil import local_today
from relief_inventory.warehouse.models import Depot, Location, LocationKind
from tests.factories import World, build_world

DEPOTS = ("ZX", "SB", "YR")
ITEMS = ("TENT-12", "RICE-10", "GEN-5")
LOTS = ("L0", "L1", "L2")
OWNER_CHOICES = (None, "CN", "532300")  # None: the depot's own reserve
DEFAULT_OWNER = {"ZX": "532300", "SB": "532322", "YR": "532327"}
OWNER_RANK = {"CN": 4, "532300": 2, "532322": 1, "532327": 1}
DEPOT_RANK = {"ZX": 2, "SB": 1, "YR": 1}
KEEPER = {"ZX": "keeper_zx", "SB": "keeper_sb", "YR": "admin"}
APPROVER = {"ZX": "keeper_zx2", "SB": "admin", "YR": "system"}
ORDER = "楚应急发〔2026〕1号"
# Documents are chosen by index, never by sampling the current list: the world outlives each
# example, so what a draw means may change, but the shape of the draws must not.
PICK = st.integers(0, 10**6)

Key = tuple[str, str, str, str]  # (depot, item, lot, owner)

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Pending:
    number: str
    source: str
    destination: str
    lines: list[tuple[str, str, str, int]]  # (item, lot, owner, quantity)


def shelves(session: Session) -> dict[Key, int]:
    """Non-zero balances of the depots' internal locations, keyed by codes."""
    rows = session.execute(
        select(Depot.code, Item.code, Lot.number, Owner.code, Quant.on_hand)
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Item, Item.id == Quant.item_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .where(Location.kind == LocationKind.INTERNAL, Quant.on_hand != 0)
    )
    return {(d, i, lot, o): q for d, i, lot, o, q in rows}


def ledger_size(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Move)) or 0,
        session.scalar(select(func.count()).select_from(StockDocument)) or 0,
        session.scalar(select(func.coalesce(func.sum(Quant.on_hand), 0))) or 0,
    )


def document_effect(session: Session, number: str) -> dict[Key, int]:
    """What a document's done moves did to the depots' shelves."""
    source, target = aliased(Location), aliased(Location)
    rows = session.execute(
        select(
            source.kind,
            source.depot_id,
            target.kind,
            target.depot_id,
            Item.code,
            Lot.number,
            Owner.code,
            Move.quantity,
        )
        .join(StockDocument, StockDocument.id == Move.document_id)
        .join(source, source.id == Move.from_location_id)
        .join(target, target.id == Move.to_location_id)
        .join(Item, Item.id == Move.item_id)
        .join(Lot, Lot.id == Move.lot_id)
        .join(Owner, Owner.id == Move.owner_id)
        .where(StockDocument.number == number, Move.state == MoveState.DONE)
    )
    depots = dict(session.execute(select(Depot.id, Depot.code)).all())
    effect: dict[Key, int] = defaultdict(int)
    for from_kind, from_depot, to_kind, to_depot, item, lot, owner, qty in rows:
        if from_kind == LocationKind.INTERNAL:
            effect[(depots[from_depot], item, lot, owner)] -= qty
        if to_kind == LocationKind.INTERNAL:
            effect[(depots[to_depot], item, lot, owner)] += qty
    return effect


class LedgerMachine(RuleBasedStateMachine):
    world: World  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        with Session(self.world.engine) as session:
            self.model: dict[Key, int] = defaultdict(int, shelves(session))
            self.lots = set(
                session.execute(
                    select(Item.code, Lot.number).join(Item, Item.id == Lot.item_id)
                ).all()
            )
            self.pending = self._pending(session)
            self.done = list(
                session.scalars(
                    select(StockDocument.number).where(StockDocument.state == DocState.DONE)
                )
            )

    def _pending(self, session: Session) -> list[Pending]:
        pending = []
        for document in session.scalars(
            select(StockDocument).where(
                StockDocument.kind == DocKind.TRANSFER,
                StockDocument.state == DocState.IN_TRANSIT,
            )
        ):
            source = session.get(Depot, document.depot_id)
            destination = session.get(Depot, document.dest_depot_id)
            assert source is not None and destination is not None
            lines = [
                (key[1], key[2], key[3], -qty)
                for key, qty in document_effect(session, document.number).items()
            ]
            pending.append(Pending(document.number, source.code, destination.code, lines))
        return pending

    # -- helpers -----------------------------------------------------------------------------

    def attempt(self, who: str, action, expected: type[DomainError] | None):
        """Run ``action(uow)``; a refusal must be the expected one and change nothing."""
        with Session(self.world.engine) as session:
            before = ledger_size(session)
        try:
            with self.world.uow(who) as uow:
                result = action(uow)
        except DomainError as error:
            assert expected is not None, f"refused unexpectedly: {error.as_dict()}"
            assert isinstance(error, expected), (type(error), expected, error.as_dict())
            with Session(self.world.engine) as session:
                assert ledger_size(session) == before
            return None
        assert expected is None, f"accepted although {expected.__name__} was expected"
        return result

    @staticmethod
    def owner(depot: str, choice: str | None) -> str:
        return choice or DEFAULT_OWNER[depot]

    @staticmethod
    def needs_order(depot: str, owner: str, order: bool) -> bool:
        return OWNER_RANK[owner] > DEPOT_RANK[depot] and not order

    def outgoing_refusal(
        self, depot: str, item: str, lot: str, owner: str, qty: int, order: bool
    ) -> type[DomainError] | None:
        """What an explicit-lot outgoing line must run into, in the services' order."""
        if (item, lot) not in self.lots:
            return NotFound
        if self.needs_order(depot, owner, order):
            return InvalidInput
        if self.model[(depot, item, lot, owner)] < qty:
            return InsufficientStock
        return None

    # -- operations the model predicts ---------------------------------------------------------

    @initialize()
    def stock_every_depot(self):
        """Each example starts by receiving some of every item everywhere, so the random
        operations find stock to move rather than mostly unknown lots."""
        for depot in DEPOTS:
            for item, lot in (("TENT-12", "L0"), ("TENT-12", "L1"), ("RICE-10", "L0")):
                self.receive_lot(depot, item, lot, None, 30)
            self.receive_lot(depot, "GEN-5", "L0", None, 1)

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 40),
    )
    def receive(self, depot, item, lot, owner, qty):
        self.receive_lot(depot, item, lot, owner, qty)

    def receive_lot(self, depot: str, item: str, lot: str, owner: str | None, qty: int) -> None:
        line = {"item": item, "lot": lot, "quantity": qty}
        if owner:
            line["owner"] = owner
        if item == "RICE-10":
            line["production_date"] = (local_today() - timedelta(days=LOTS.index(lot))).isoformat()
        expected = InvalidInput if item == "GEN-5" and qty != 1 else None
        document = self.attempt(
            KEEPER[depot], lambda uow: stock.receive(uow, depot=depot, lines=[line]), expected
        )
        if document is not None:
            self.model[(depot, item, lot, self.owner(depot, owner))] += qty
            self.lots.add((item, lot))
            self.done.append(document.number)

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 40),
        order=st.booleans(),
    )
    def issue(self, depot, item, lot, owner, qty, order):
        code = self.owner(depot, owner)
        line = {"item": item, "lot": lot, "quantity": qty, "owner": code}
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.issue(
                uow,
                depot=depot,
                county="532322",
                lines=[line],
                authority_order=ORDER if order else "",
            ),
            self.outgoing_refusal(depot, item, lot, code, qty, order),
        )
        if document is not None:
            self.model[(depot, item, lot, code)] -= qty
            self.done.append(document.number)

    @rule(depot=st.sampled_from(DEPOTS), item=st.sampled_from(ITEMS), qty=st.integers(1, 60))
    def issue_first_expiry_first(self, depot, item, qty):
        """Without a lot the service picks lots; it may only refuse for a real reason."""
        free = sum(q for k, q in self.model.items() if k[0] == depot and k[1] == item)
        with Session(self.world.engine) as session:
            before = shelves(session)
        try:
            with self.world.uow(KEEPER[depot]) as uow:
                number = stock.issue(
                    uow,
                    depot=depot,
                    county="532327",
                    lines=[{"item": item, "quantity": qty}],
                    authority_order=ORDER,
                ).number
        except InsufficientStock:
            assert free < qty
            with Session(self.world.engine) as session:
                assert shelves(session) == before
            return
        assert free >= qty
        self.apply(number)
        self.done.append(number)

    @rule(
        source=st.sampled_from(DEPOTS),
        destination=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 40),
        order=st.booleans(),
    )
    def transfer(self, source, destination, item, lot, owner, qty, order):
        code = self.owner(source, owner)
        expected = self.outgoing_refusal(source, item, lot, code, qty, order)
        if source == destination:
            expected = InvalidInput
        document = self.attempt(
            KEEPER[source],
            lambda uow: stock.transfer(
                uow,
                from_depot=source,
                to_depot=destination,
                lines=[{"item": item, "lot": lot, "quantity": qty, "owner": code}],
                authority_order=ORDER if order else "",
            ),
            expected,
        )
        if document is not None:
            self.model[(source, item, lot, code)] -= qty
            self.pending.append(
                Pending(document.number, source, destination, [(item, lot, code, qty)])
            )

    @rule(pick=PICK)
    def complete_transfer(self, pick):
        if not self.pending:
            return
        shipment = self.pending[pick % len(self.pending)]
        if KEEPER[shipment.source] not in ("admin", KEEPER[shipment.destination]):
            self.attempt(  # only the receiving depot books it in
                KEEPER[shipment.source],
                lambda uow: stock.complete_transfer(uow, shipment.number),
                PermissionDenied,
            )
        self.attempt(
            KEEPER[shipment.destination],
            lambda uow: stock.complete_transfer(uow, shipment.number),
            None,
        )
        for item, lot, owner, qty in shipment.lines:
            self.model[(shipment.destination, item, lot, owner)] += qty
        self.pending.remove(shipment)
        self.done.append(shipment.number)

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 30),
    )
    def write_off(self, depot, item, lot, owner, qty):
        code = self.owner(depot, owner)
        number = self.attempt(
            KEEPER[depot],
            lambda uow: (
                stock.propose_scrap(
                    uow,
                    depot=depot,
                    reason="受潮霉变",
                    authority_order=ORDER,
                    lines=[{"item": item, "lot": lot, "quantity": qty, "owner": code}],
                ).number
            ),
            self.outgoing_refusal(depot, item, lot, code, qty, True),
        )
        if number is None:
            return
        self.attempt(  # segregation of duties: the author may not approve
            KEEPER[depot], lambda uow: stock.approve(uow, number), PermissionDenied
        )
        self.attempt(APPROVER[depot], lambda uow: stock.approve(uow, number), None)
        self.model[(depot, item, lot, code)] -= qty
        self.done.append(number)

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        counted=st.integers(0, 60),
    )
    def count(self, depot, item, lot, owner, counted):
        code = self.owner(depot, owner)
        line = {"item": item, "lot": lot, "owner": code, "counted": counted}
        number = self.attempt(
            KEEPER[depot],
            lambda uow: stock.propose_count(uow, depot=depot, lines=[line]).number,
            None if (item, lot) in self.lots else NotFound,
        )
        if number is None:
            return
        self.attempt(APPROVER[depot], lambda uow: stock.approve(uow, number), None)
        self.model[(depot, item, lot, code)] = counted
        self.done.append(number)

    @rule(pick=PICK)
    def reverse(self, pick):
        """Reversal needs the goods back where they came from; either way the books hold."""
        candidates = self.done + [p.number for p in self.pending]
        if not candidates:
            return
        number = candidates[pick % len(candidates)]
        with Session(self.world.engine) as session:
            before = ledger_size(session)
        try:
            with self.world.uow("admin") as uow:
                reversal = stock.reverse(uow, number, reason="录入错误").number
        except (InsufficientStock, Conflict):
            with Session(self.world.engine) as session:
                assert ledger_size(session) == before
            return
        self.apply(reversal)
        self.pending = [p for p in self.pending if p.number != number]
        if number in self.done:
            self.done.remove(number)
        self.attempt(  # a document is reversed once only
            "admin", lambda uow: stock.reverse(uow, number, reason="再次冲销"), Conflict
        )

    def apply(self, number: str) -> None:
        with Session(self.world.engine) as session:
            for key, qty in document_effect(session, number).items():
                self.model[key] += qty

    # -- operations that must always be refused ------------------------------------------------

    @rule(
        depot=st.sampled_from(DEPOTS),
        quantity=st.sampled_from([0, -5, 2.5, "7", None, True, 10**9]),
    )
    def bad_quantity(self, depot, quantity):
        self.attempt(
            KEEPER[depot],
            lambda uow: stock.issue(
                uow,
                depot=depot,
                county="532322",
                lines=[{"item": "TENT-12", "lot": "L0", "quantity": quantity}],
            ),
            InvalidInput,
        )

    @rule(item=st.sampled_from(["NOPE", "", "TENT-12 "]))
    def unknown_item(self, item):
        self.attempt(
            "keeper_zx",
            lambda uow: stock.receive(
                uow, depot="ZX", lines=[{"item": item, "lot": "X", "quantity": 1}]
            ),
            NotFound,
        )

    @rule(depot=st.sampled_from(["ZX", "YR"]))
    def other_depots_keeper(self, depot):
        self.attempt(
            "keeper_sb",
            lambda uow: stock.receive(
                uow, depot=depot, lines=[{"item": "TENT-12", "lot": "L0", "quantity": 1}]
            ),
            PermissionDenied,
        )

    @rule(days=st.integers(1, 400))
    def expired_lot(self, days):
        expired = (local_today() - timedelta(days=days)).isoformat()
        self.attempt(
            "keeper_zx",
            lambda uow: stock.receive(
                uow,
                depot="ZX",
                lines=[
                    {"item": "RICE-10", "lot": f"EXP-{days}", "quantity": 1, "expiry_date": expired}
                ],
            ),
            InvalidInput,
        )

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def books_balance(self):
        with Session(self.world.engine) as session:
            assert check_quants(session) == []
            negative = select(func.count()).where((Quant.on_hand < 0) | (Quant.reserved < 0))
            assert session.scalar(negative) == 0
            assert shelves(session) == {k: q for k, q in self.model.items() if q}


@pytest.fixture
def world(engine):
    return build_world(engine)


def test_random_operations_keep_the_ledger_balanced(world):
    LedgerMachine.world = world
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)
