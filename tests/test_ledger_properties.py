"""Property-based tests of the stock ledger: random sequences of operations, valid and not.

A hypothesis state machine drives the real services on the small test prefecture (depots
ZX, SB, YR) and keeps its own model of every shelf balance, of what drafts hold and of each
lot's status per depot. After every step:

- every quant equals the sum of its done moves, none is negative, and every reservation is
  accounted for by a draft's hold (``check_quants``, ``check_reservations``);
- the shelves, the held quantities and the lot statuses are exactly what the model says;
- an operation the model says must be refused (too little free stock, a missing dispatch
  order, an owner-less line on a lot held by another reserve, a second line for the same
  lot, a quarantined lot, a rotation that is no swap, one's own approval, a second
  reversal...) was refused and changed nothing, and one it says must succeed did.

Steps cover: receipts, issues (explicit lot, and first-expiry-first), transfers with arrival
(in full, short) or refusal, write-offs and counts (with and without owner) entered as
drafts that hold their stock and are approved, rejected or cancelled later (so an issue of
held pieces meanwhile is refused), lot status in one of several depots holding a lot,
rotations, and reversals proposed by one person and approved by the same (refused) or by
another.

One world is built per test and the examples accumulate on it: each example starts by
rejecting whatever drafts earlier examples left open, then re-reads the model from the
database, so earlier examples are simply history. (A failure found late may therefore
replay as "flaky": the world it ran on has moved on. It is still a failure, and the printed
steps show what happened.)
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
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

from relief_inventory.allocation.check import check_reservations
from relief_inventory.auth import services as auth
from relief_inventory.auth.actor import Role
from relief_inventory.auth.models import User
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
    DepotLotStatus,
    DocKind,
    DocState,
    HoldState,
    Item,
    Lot,
    LotStatus,
    Move,
    MoveState,
    Owner,
    Quant,
    StockDocument,
    StockHold,
)
from relief_inventory.timeutil import local_today
from relief_inventory.warehouse.models import Depot, Location, LocationKind
from tests.factories import World, build_world

DEPOTS = ("ZX", "SB", "YR")
ITEMS = ("TENT-12", "RICE-10", "GEN-5")
LOTS = ("L0", "L1", "L2")
OWNER_CHOICES = (None, "CN", "532300", "532322")  # None: no owner on the line
OWN = {"ZX": "532300", "SB": "532322", "YR": "532327"}
KEEPER = {"ZX": "keeper_zx", "SB": "keeper_sb", "YR": "admin"}
# Who may act as the second person, in order of preference (admins keep every depot).
SECOND = {"ZX": ("keeper_zx2", "admin", "system", "admin2"), "SB": ("admin", "system", "admin2")}
SECOND["YR"] = ("system", "admin2")
ORDER = "楚应急发〔2026〕1号"
STATUSES = (LotStatus.QUARANTINED, LotStatus.DAMAGED, LotStatus.AVAILABLE)
# Documents are chosen by index, never by sampling the current list: the world outlives each
# example, so what a draw means may change, but the shape of the draws must not.
PICK = st.integers(0, 10**6)

Key = tuple[str, str, str, str]  # (depot, item, lot, owner)
LotAt = tuple[str, str, str]  # (depot, item, lot)

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Pending:
    number: str
    source: str
    destination: str
    creator: str
    lines: list[tuple[str, str, str, int]]  # (item, lot, owner, quantity)


@dataclass
class Done:
    number: str
    kind: str
    depots: tuple[str, ...]
    creator: str
    validator: str | None


@dataclass
class Draft:
    number: str
    kind: str
    depots: tuple[str, ...]
    author: str
    holds: dict[Key, int]  # internal shelves only (a reversal may hold transit stock too)
    effect: dict[Key, int]  # on the shelves, once approved
    involved: set[str] = field(default_factory=set)
    original: str | None = None
    counted: set[Key] = field(default_factory=set)  # a count's lines, held or not


# -- reading the database ------------------------------------------------------------------


def shelves(session: Session, column=Quant.on_hand) -> dict[Key, int]:
    """Non-zero balances (or reservations) of the depots' internal locations, by codes."""
    rows = session.execute(
        select(Depot.code, Item.code, Lot.number, Owner.code, column)
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Item, Item.id == Quant.item_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .where(Location.kind == LocationKind.INTERNAL, column != 0)
    )
    return {(d, i, lot, o): q for d, i, lot, o, q in rows}


def statuses(session: Session) -> dict[LotAt, str]:
    rows = session.execute(
        select(Depot.code, Item.code, Lot.number, DepotLotStatus.status)
        .join(Depot, Depot.id == DepotLotStatus.depot_id)
        .join(Lot, Lot.id == DepotLotStatus.lot_id)
        .join(Item, Item.id == Lot.item_id)
    )
    return {(d, i, lot): s for d, i, lot, s in rows if s != LotStatus.AVAILABLE}


def ledger_size(session: Session) -> tuple:
    """Everything a refusal must leave as it was."""
    return (
        session.scalar(select(func.count()).select_from(Move)) or 0,
        session.scalar(select(func.count()).select_from(StockDocument)) or 0,
        session.scalar(select(func.coalesce(func.sum(Quant.on_hand), 0))) or 0,
        session.scalar(select(func.coalesce(func.sum(Quant.reserved), 0))) or 0,
        session.scalar(select(func.count()).select_from(StockHold)) or 0,
        sorted(session.execute(select(StockDocument.number, StockDocument.state)).all()),
        sorted(statuses(session).items()),
    )


def document_effect(session: Session, number: str, state: str = MoveState.DONE) -> dict[Key, int]:
    """What a document's moves (done, or draft) do to the depots' shelves."""
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
        .where(StockDocument.number == number, Move.state == state)
    )
    depots = dict(session.execute(select(Depot.id, Depot.code)).all())
    effect: dict[Key, int] = defaultdict(int)
    for from_kind, from_depot, to_kind, to_depot, item, lot, owner, qty in rows:
        if from_kind == LocationKind.INTERNAL:
            effect[(depots[from_depot], item, lot, owner)] -= qty
        if to_kind == LocationKind.INTERNAL:
            effect[(depots[to_depot], item, lot, owner)] += qty
    return {k: v for k, v in effect.items() if v}


class LedgerMachine(RuleBasedStateMachine):
    world: World  # set by the test before running
    serial = itertools.count(1)  # fresh lot numbers for rotations, across examples

    def __init__(self) -> None:
        super().__init__()
        self._close_open_drafts()
        with Session(self.world.engine) as session:
            self.model: dict[Key, int] = defaultdict(int, shelves(session))
            self.status: dict[LotAt, str] = defaultdict(
                lambda: LotStatus.AVAILABLE, statuses(session)
            )
            self.lots = set(
                session.execute(
                    select(Item.code, Lot.number).join(Item, Item.id == Lot.item_id)
                ).all()
            )
            self.pending = self._pending(session)
            self.done = self._done(session)
        self.drafts: list[Draft] = []

    def _close_open_drafts(self) -> None:
        """Reject what earlier examples left as drafts (a second person rejects)."""
        with Session(self.world.engine) as session:
            drafts = session.execute(
                select(StockDocument.number, User.username)
                .join(User, User.id == StockDocument.created_by_id)
                .where(StockDocument.state == DocState.DRAFT)
            ).all()
        for number, author in drafts:
            who = "admin2" if author != "admin2" else "system"
            with self.world.uow(who) as uow:
                stock.reject(uow, number, "新一轮测试开始")

    def _done(self, session: Session) -> list[Done]:
        creator, validator = aliased(User), aliased(User)
        depot, dest = aliased(Depot), aliased(Depot)
        rows = session.execute(
            select(
                StockDocument.number,
                StockDocument.kind,
                depot.code,
                dest.code,
                creator.username,
                validator.username,
            )
            .join(creator, creator.id == StockDocument.created_by_id)
            .outerjoin(validator, validator.id == StockDocument.validated_by_id)
            .outerjoin(depot, depot.id == StockDocument.depot_id)
            .outerjoin(dest, dest.id == StockDocument.dest_depot_id)
            .where(StockDocument.state == DocState.DONE)
            .order_by(StockDocument.id)
        )
        return [
            Done(number, kind, tuple(d for d in (a, b) if d), who, checked)
            for number, kind, a, b, who, checked in rows
        ]

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
            author = session.get(User, document.created_by_id)
            assert source is not None and destination is not None and author is not None
            lines = [
                (key[1], key[2], key[3], -qty)
                for key, qty in document_effect(session, document.number).items()
            ]
            pending.append(
                Pending(document.number, source.code, destination.code, author.username, lines)
            )
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

    def held(self, key: Key, *, besides: Draft | None = None) -> int:
        return sum(d.holds.get(key, 0) for d in self.drafts if d is not besides)

    def undecided(self, key: Key) -> bool:
        """A draft holds some of this stock, or a draft count has counted it."""
        return any(d.holds.get(key, 0) > 0 or key in d.counted for d in self.drafts)

    def free(self, key: Key) -> int:
        return self.model[key] - self.held(key)

    def holders(self, depot: str, item: str, lot: str) -> set[str]:
        return {k[3] for k, q in self.model.items() if k[:3] == (depot, item, lot) and q > 0}

    def line_owner(self, depot: str, item: str, lot: str, choice: str | None):
        """The owner an outgoing line means, or the refusal (the services' rule)."""
        if choice:
            return choice, None
        others = self.holders(depot, item, lot) - {OWN[depot]}
        return OWN[depot], (InvalidInput if others else None)

    def outgoing_refusal(
        self,
        depot: str,
        item: str,
        lot: str,
        owner_choice: str | None,
        qty: int,
        order: bool,
        *,
        any_status: bool = False,
        destination: str | None = None,
    ) -> tuple[str, type[DomainError] | None]:
        """(owner, what an explicit-lot outgoing line runs into, in the services' order)."""
        if (item, lot) not in self.lots:
            return OWN[depot], NotFound
        owner, refusal = self.line_owner(depot, item, lot, owner_choice)
        if refusal:
            return owner, refusal
        if not any_status and self.status[(depot, item, lot)] != LotStatus.AVAILABLE:
            return owner, InvalidInput
        if not order and owner != OWN[depot]:
            return owner, InvalidInput
        if destination and not order and owner != OWN[destination]:
            return owner, InvalidInput
        if self.free((depot, item, lot, owner)) < qty:
            return owner, InsufficientStock
        return owner, None

    def apply(self, effect: dict[Key, int]) -> None:
        for key, qty in effect.items():
            self.model[key] += qty

    def effect_of(self, number: str, state: str = MoveState.DONE) -> dict[Key, int]:
        with Session(self.world.engine) as session:
            return document_effect(session, number, state)

    def second_person(self, depots: tuple[str, ...], involved: set[str]) -> str:
        return next(p for p in SECOND[depots[0]] if p not in involved)

    # -- receipts, issues, transfers -------------------------------------------------------------

    @initialize()
    def stock_every_depot(self):
        """Each example starts by receiving some of every item everywhere, so the random
        operations find stock to move rather than mostly unknown lots."""
        for depot in DEPOTS:
            for item, lot in (("TENT-12", "L0"), ("TENT-12", "L1"), ("RICE-10", "L0")):
                self.receive_lot(depot, item, lot, None, 30, False)
            self.receive_lot(depot, "GEN-5", "L0", None, 1, False)

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 40),
        order=st.booleans(),
    )
    def receive(self, depot, item, lot, owner, qty, order):
        self.receive_lot(depot, item, lot, owner, qty, order)

    def receive_lot(self, depot, item, lot, owner, qty, order) -> None:
        line = {"item": item, "lot": lot, "quantity": qty}
        if owner:
            line["owner"] = owner
        if item == "RICE-10":
            line["production_date"] = (local_today() - timedelta(days=LOTS.index(lot))).isoformat()
        code = owner or OWN[depot]
        expected = None
        if item == "GEN-5" and qty != 1:
            expected = InvalidInput
        elif code != OWN[depot] and not order:
            expected = InvalidInput  # another reserve's stock comes in on its order only
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.receive(
                uow, depot=depot, lines=[line], authority_order=ORDER if order else ""
            ),
            expected,
        )
        if document is not None:
            self.model[(depot, item, lot, code)] += qty
            self.lots.add((item, lot))
            self.done.append(Done(document.number, "receipt", (depot,), KEEPER[depot], None))

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 40),
        order=st.booleans(),
    )
    def issue(self, depot, item, lot, owner, qty, order):
        line = {"item": item, "lot": lot, "quantity": qty}
        if owner:
            line["owner"] = owner
        code, expected = self.outgoing_refusal(depot, item, lot, owner, qty, order)
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.issue(
                uow,
                depot=depot,
                county="532322",
                lines=[line],
                authority_order=ORDER if order else "",
            ),
            expected,
        )
        if document is not None:
            self.model[(depot, item, lot, code)] -= qty
            self.done.append(Done(document.number, "issue", (depot,), KEEPER[depot], None))

    @rule(depot=st.sampled_from(DEPOTS), item=st.sampled_from(ITEMS), qty=st.integers(1, 60))
    def issue_first_expiry_first(self, depot, item, qty):
        """Without lot and owner the depot's own reserve goes, first expiry first, from its
        available lots only; the rest of the shelf is not touched."""
        free = sum(
            self.free(k)
            for k in self.model
            if k[0] == depot
            and k[1] == item
            and k[3] == OWN[depot]
            and self.status[k[:3]] == LotStatus.AVAILABLE
        )
        expected = None if free >= qty else InsufficientStock
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.issue(
                uow, depot=depot, county="532327", lines=[{"item": item, "quantity": qty}]
            ),
            expected,
        )
        if document is not None:
            effect = self.effect_of(document.number)
            assert all(k[3] == OWN[depot] for k in effect)
            self.apply(effect)
            self.done.append(Done(document.number, "issue", (depot,), KEEPER[depot], None))

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
        line = {"item": item, "lot": lot, "quantity": qty}
        if owner:
            line["owner"] = owner
        code, expected = self.outgoing_refusal(
            source, item, lot, owner, qty, order, destination=destination
        )
        if source == destination:
            expected = InvalidInput
        document = self.attempt(
            KEEPER[source],
            lambda uow: stock.transfer(
                uow,
                from_depot=source,
                to_depot=destination,
                lines=[line],
                authority_order=ORDER if order else "",
            ),
            expected,
        )
        if document is not None:
            self.model[(source, item, lot, code)] -= qty
            self.pending.append(
                Pending(
                    document.number, source, destination, KEEPER[source], [(item, lot, code, qty)]
                )
            )

    def _shipment(self, pick: int) -> Pending | None:
        return self.pending[pick % len(self.pending)] if self.pending else None

    def _reversal_pending(self, number: str) -> bool:
        return any(d.original == number for d in self.drafts)

    @rule(pick=PICK, short=st.integers(0, 3))
    def complete_transfer(self, pick, short):
        """The receiving depot books it in, in full or short (the rest to VIRT-LOSS)."""
        shipment = self._shipment(pick)
        if shipment is None:
            return
        item, lot, owner, shipped = shipment.lines[0]
        short = min(short, shipped)
        lines = [{"item": item, "lot": lot, "received": shipped - short}] if short else None
        note = "途中短少" if short else ""
        if KEEPER[shipment.source] not in ("admin", KEEPER[shipment.destination]):
            self.attempt(  # only the receiving depot books it in
                KEEPER[shipment.source],
                lambda uow: stock.complete_transfer(uow, shipment.number),
                PermissionDenied,
            )
        expected = Conflict if self._reversal_pending(shipment.number) else None
        document = self.attempt(
            KEEPER[shipment.destination],
            lambda uow: stock.complete_transfer(uow, shipment.number, lines=lines, note=note),
            expected,
        )
        if document is None:
            return
        self.model[(shipment.destination, item, lot, owner)] += shipped - short
        self.pending.remove(shipment)
        self.done.append(
            Done(
                shipment.number,
                "transfer",
                (shipment.source, shipment.destination),
                shipment.creator,
                KEEPER[shipment.destination],
            )
        )

    @rule(pick=PICK)
    def refuse_transfer(self, pick):
        """The receiving depot refuses the goods: they go back to the sending depot."""
        shipment = self._shipment(pick)
        if shipment is None:
            return
        receiver = KEEPER[shipment.destination]
        expected = None
        if receiver == shipment.creator:
            expected = PermissionDenied
        elif self._reversal_pending(shipment.number):
            expected = Conflict
        document = self.attempt(
            receiver, lambda uow: stock.reject(uow, shipment.number, "到货不符，拒收"), expected
        )
        if document is not None:
            for item, lot, owner, qty in shipment.lines:
                self.model[(shipment.source, item, lot, owner)] += qty
            self.pending.remove(shipment)

    # -- drafts: write-offs and counts hold their stock ------------------------------------------

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 30),
    )
    def write_off(self, depot, item, lot, owner, qty):
        line = {"item": item, "lot": lot, "quantity": qty}
        if owner:
            line["owner"] = owner
        code, expected = self.outgoing_refusal(depot, item, lot, owner, qty, True, any_status=True)
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.propose_scrap(
                uow, depot=depot, reason="受潮霉变", authority_order=ORDER, lines=[line]
            ),
            expected,
        )
        if document is not None:
            key = (depot, item, lot, code)
            self.drafts.append(
                Draft(document.number, "scrap", (depot,), KEEPER[depot], {key: qty}, {key: -qty})
            )

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        counted=st.integers(0, 60),
        order=st.booleans(),
        twice=st.booleans(),
    )
    def count(self, depot, item, lot, owner, counted, order, twice):
        """Per (lot, owner); without owner the lot as a whole where one owner holds it. The
        draft holds the free stock and approval books counted minus the book at entry."""
        line = {"item": item, "lot": lot, "counted": counted}
        if owner:
            line["owner"] = owner
        code, expected = owner or OWN[depot], None
        if (item, lot) not in self.lots:
            expected = NotFound
        elif owner is None:
            held = self.holders(depot, item, lot)
            code = next(iter(held)) if len(held) == 1 else code
            expected = None if len(held) == 1 else InvalidInput
        key = (depot, item, lot, code)
        book = self.model[key]
        if expected is None and twice:
            expected = InvalidInput  # the same (lot, owner) counted on two lines
        if expected is None and counted != book and code != OWN[depot] and not order:
            expected = InvalidInput
        if expected is None and self.undecided(key):
            expected = Conflict  # a draft still waits on this stock: decide it first
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.propose_count(
                uow,
                depot=depot,
                lines=[line, line] if twice else [line],
                authority_order=ORDER if order else "",
            ),
            expected,
        )
        if document is not None:
            free = self.free(key)
            holds = {key: free} if free > 0 else {}
            effect = {key: counted - book} if counted != book else {}
            self.drafts.append(
                Draft(
                    document.number, "count", (depot,), KEEPER[depot], holds, effect, counted={key}
                )
            )

    @rule(pick=PICK, decision=st.sampled_from(("approve", "reject", "cancel")))
    def decide_draft(self, pick, decision):
        """A second person approves or rejects; the author may only cancel their own."""
        if not self.drafts:
            return
        draft = self.drafts[pick % len(self.drafts)]
        involved = {draft.author} | draft.involved
        other = self.second_person(draft.depots, involved)
        if decision == "cancel":
            self.attempt(
                other, lambda uow: stock.cancel(uow, draft.number, "撤回"), PermissionDenied
            )
            self.attempt(draft.author, lambda uow: stock.cancel(uow, draft.number, "撤回"), None)
            self.drafts.remove(draft)
            return
        if decision == "reject":
            self.attempt(
                draft.author,
                lambda uow: stock.reject(uow, draft.number, "不同意"),
                PermissionDenied,
            )
            self.attempt(other, lambda uow: stock.reject(uow, draft.number, "不同意"), None)
            self.drafts.remove(draft)
            return
        for who in sorted(involved):  # segregation of duties: none of them approves
            self.attempt(who, lambda uow: stock.approve(uow, draft.number), PermissionDenied)
        short = any(
            self.model[key] - self.held(key, besides=draft) < -delta
            for key, delta in draft.effect.items()
            if delta < 0
        )
        done = self.attempt(
            other,
            lambda uow: stock.approve(uow, draft.number),
            (Conflict if draft.kind == "count" else InsufficientStock) if short else None,
        )
        if done is None:
            return
        self.drafts.remove(draft)
        self.apply(draft.effect)
        if draft.original is not None:
            self.pending = [p for p in self.pending if p.number != draft.original]
        self.done.append(Done(draft.number, draft.kind, draft.depots, draft.author, other))

    # -- lot status, rotation, reversal ----------------------------------------------------------

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(ITEMS),
        lot=st.sampled_from(LOTS),
        status=st.sampled_from(STATUSES),
    )
    def lot_status(self, depot, item, lot, status):
        """Quarantine, damage or release in one depot; the lot elsewhere is untouched."""
        expected = None
        if (item, lot) not in self.lots:
            expected = NotFound
        elif not self.holders(depot, item, lot) or (
            status != LotStatus.AVAILABLE
            and any(self.held(k) for k in self.model if k[:3] == (depot, item, lot))
        ):
            expected = Conflict
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.set_lot_status(
                uow, item=item, lot=lot, status=status, reason="抽检", depot=depot
            ),
            expected,
        )
        if document is not None:
            self.status[(depot, item, lot)] = status

    @rule(
        depot=st.sampled_from(DEPOTS),
        item=st.sampled_from(("TENT-12", "RICE-10")),
        lot=st.sampled_from(LOTS),
        owner=st.sampled_from(OWNER_CHOICES),
        qty=st.integers(1, 30),
        swap=st.sampled_from(("same", "declared", "undeclared", "other_item")),
    )
    def rotate(self, depot, item, lot, owner, qty, swap):
        """Fresh stock of the same item and owner in, as much as went out unless declared."""
        fresh = f"N{next(self.serial)}-{depot}"
        line = {"item": item, "lot": lot, "quantity": qty}
        if owner:
            line["owner"] = owner
        code, expected = self.outgoing_refusal(depot, item, lot, owner, 0, True, any_status=True)
        came_in = qty + (5 if swap in ("declared", "undeclared") else 0)
        incoming = {
            "item": "RICE-10" if swap == "other_item" and item == "TENT-12" else item,
            "lot": fresh,
            "quantity": came_in,
        }
        if swap == "other_item" and item == "RICE-10":
            incoming["item"] = "TENT-12"
        if incoming["item"] == "RICE-10":
            incoming["expiry_date"] = (local_today() + timedelta(days=900)).isoformat()
        differences = (
            [{"item": item, "owner": code, "quantity": 5, "reason": "供货方多补"}]
            if swap == "declared"
            else None
        )
        if expected is None and swap in ("other_item", "undeclared"):
            expected = InvalidInput
        if expected is None and self.free((depot, item, lot, code)) < qty:
            expected = InsufficientStock
        document = self.attempt(
            KEEPER[depot],
            lambda uow: stock.rotate(
                uow,
                depot=depot,
                out_lines=[line],
                in_lines=[incoming],
                authority_order=ORDER,
                differences=differences,
            ),
            expected,
        )
        if document is not None:
            self.model[(depot, item, lot, code)] -= qty
            self.model[(depot, item, fresh, code)] += came_in
            self.lots.add((item, fresh))
            self.done.append(Done(document.number, "rotation", (depot,), KEEPER[depot], None))

    @rule(pick=PICK)
    def reverse(self, pick):
        """A reversal is proposed and holds what it takes back; approved later (not by its
        proposer, nor the original's creator or validator), or rejected."""
        candidates = [d.number for d in self.done] + [p.number for p in self.pending]
        if not candidates:
            return
        number = candidates[pick % len(candidates)]
        done = next((d for d in self.done if d.number == number), None)
        shipment = next((p for p in self.pending if p.number == number), None)
        if done is not None:
            depots, creator, validator, kind = done.depots, done.creator, done.validator, done.kind
        else:
            assert shipment is not None
            depots = (shipment.source, shipment.destination)
            creator, validator, kind = shipment.creator, None, DocKind.TRANSFER
        proposer = KEEPER[depots[0]]
        effect = {k: -q for k, q in self.effect_of(number).items()}
        expected = None
        if kind == DocKind.REVERSAL or self._reversal_pending(number) or self._reversed(number):
            expected = Conflict
        elif any(self.free(k) < -q for k, q in effect.items() if q < 0):
            expected = InsufficientStock
        document = self.attempt(
            proposer, lambda uow: stock.reverse(uow, number, reason="录入错误"), expected
        )
        if document is None:
            return
        holds = {k: -q for k, q in effect.items() if q < 0}
        self.drafts.append(
            Draft(
                document.number,
                "reversal",
                depots,
                proposer,
                holds,
                effect,
                involved={creator, *([validator] if validator else [])},
                original=number,
            )
        )

    def _reversed(self, number: str) -> bool:
        """Whether an approved reversal already undid ``number`` (read back)."""
        with Session(self.world.engine) as session:
            original = select(StockDocument.id).where(StockDocument.number == number)
            found = session.scalar(
                select(StockDocument.number).where(
                    StockDocument.reverses_id == original.scalar_subquery(),
                    StockDocument.state == DocState.DONE,
                )
            )
        return found is not None

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

    @rule(days=st.integers(1, 400), field=st.sampled_from(["expiry", "future", "tent"]))
    def bad_dates(self, days, field):
        """An expired lot, a production date in the future, an expiry on goods without a
        shelf life: refused."""
        line = {"item": "RICE-10", "lot": f"BAD-{days}", "quantity": 1}
        if field == "expiry":
            line["expiry_date"] = (local_today() - timedelta(days=days)).isoformat()
        elif field == "future":
            line["production_date"] = (local_today() + timedelta(days=days)).isoformat()
        else:
            line = {"item": "TENT-12", "lot": f"BAD-{days}", "quantity": 1}
            line["expiry_date"] = (local_today() + timedelta(days=days)).isoformat()
        self.attempt(
            "keeper_zx", lambda uow: stock.receive(uow, depot="ZX", lines=[line]), InvalidInput
        )

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def books_balance(self):
        with Session(self.world.engine) as session:
            assert check_quants(session) == []
            assert check_reservations(session) == []
            negative = select(func.count()).where((Quant.on_hand < 0) | (Quant.reserved < 0))
            assert session.scalar(negative) == 0
            assert shelves(session) == {k: q for k, q in self.model.items() if q}
            held = {k: self.held(k) for k in self.model}
            assert shelves(session, Quant.reserved) == {k: q for k, q in held.items() if q}
            assert statuses(session) == {
                k: s for k, s in self.status.items() if s != LotStatus.AVAILABLE
            }
            open_holds = select(func.count()).where(StockHold.state == HoldState.HELD)
            assert (session.scalar(open_holds) or 0) >= sum(1 for d in self.drafts if d.holds)


@pytest.fixture
def world(engine):
    world = build_world(engine)
    with world.uow("system") as uow:
        auth.create_user(uow, "admin2", "correct-horse-2")
        auth.grant_role(uow, "admin2", Role.ADMIN)
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == "admin2"))
        world.actors["admin2"] = auth.actor_for(session, user)
    return world


def test_random_operations_keep_the_ledger_balanced(world):
    LedgerMachine.world = world
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)
