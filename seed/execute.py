"""Sending the planned documents through the stock services, many per unit of work.

The history is written as the ``system`` actor (an import of the 2024 paper records), in
units of work of about a thousand moves: each unit is one transaction whose audit entries
are chained at commit, so batching is what makes seeding fast. Write-offs, stock counts and
reversals need a second person: the draft is entered by ``system`` and approved, right
after its batch, by the depot's demo keeper (or the demo admin where no demo keeper is
posted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from relief_inventory.auth.actor import Actor
from relief_inventory.stock import services as stock
from relief_inventory.uow import UnitOfWork
from seed.masterdata import replica_code
from seed.plan import Step

REASON = "导入2024年储备物资台账"
BATCH_MOVES = 1000
DRAFTS = ("scrap", "count")
Approval = tuple[str, str, datetime]  # draft number, depot code, when it is approved


class Executor:
    def __init__(
        self,
        engine: Engine,
        system: Actor,
        approver: Callable[[str], Actor],
        replica: int,
        batch_moves: int = BATCH_MOVES,
    ):
        self.engine = engine
        self.system = system
        self.approver = approver
        self.replica = replica
        self.batch_moves = batch_moves
        self.transfers: dict[int, str] = {}  # plan ref -> transfer document number

    def run(self, steps: Sequence[Step], advance: Callable[[int], None] | None = None) -> None:
        batch: list[Step] = []
        moves = 0

        def flush() -> None:
            nonlocal batch, moves
            if batch:
                self.run_batch(batch)
                if advance:
                    advance(len(batch))
            batch, moves = [], 0

        for step in steps:
            if step.kind == "count" and any(s.mistake for s in batch):
                # A stock-take is entered on settled books: the reversals of the batch's
                # mistyped receipts are approved first (the services refuse to count stock
                # a draft still holds).
                flush()
            batch.append(step)
            moves += step.moves
            if step.kind in DRAFTS or moves >= self.batch_moves:
                flush()
        flush()

    def run_batch(self, batch: Sequence[Step]) -> None:
        """One unit of work; the drafts it entered are approved right after, each by
        another person."""
        approvals: list[Approval] = []
        with UnitOfWork(self.engine, self.system, reason=REASON) as uow:
            for step in batch:
                approvals.extend(getattr(self, step.kind)(uow, step) or ())
        for number, depot, at in approvals:
            with UnitOfWork(self.engine, self.approver(depot), reason=REASON) as uow:
                stock.approve(uow, number, at=at)

    # -- naming --------------------------------------------------------------------------------

    def depot(self, code: str) -> str:
        return replica_code(code, self.replica)

    def lines(self, lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**line, "item": replica_code(line["item"], self.replica)} for line in lines]

    # -- one method per step kind ----------------------------------------------------------------

    def receive(self, uow: UnitOfWork, step: Step) -> list[Approval]:
        lines = self.lines(step.lines)
        depot = self.depot(step.depot)
        approvals = []
        if step.mistake:  # a typo (one digit too many), corrected by a reversal
            wrong = [{**line, "quantity": line["quantity"] * 10} for line in lines]
            document = stock.receive(
                uow, depot=depot, lines=wrong, at=step.at - timedelta(hours=1), **step.options
            )
            reversal = stock.reverse(
                uow,
                document.number,
                reason="数量录入错误（多录一位），冲销后重新入库",
                at=step.at - timedelta(minutes=30),
            )
            approvals.append((reversal.number, depot, step.at - timedelta(minutes=20)))
        stock.receive(uow, depot=depot, lines=lines, at=step.at, **step.options)
        return approvals

    def transfer(self, uow: UnitOfWork, step: Step) -> None:
        options = dict(step.options)
        to_depot = self.depot(options.pop("to_depot"))
        document = stock.transfer(
            uow,
            from_depot=self.depot(step.depot),
            to_depot=to_depot,
            lines=self.lines(step.lines),
            at=step.at,
            **options,
        )
        self.transfers[step.ref] = document.number

    def arrive(self, uow: UnitOfWork, step: Step) -> None:
        stock.complete_transfer(uow, self.transfers.pop(step.ref), at=step.at)

    def issue(self, uow: UnitOfWork, step: Step) -> None:
        stock.issue(
            uow,
            depot=self.depot(step.depot),
            lines=self.lines(step.lines),
            at=step.at,
            **step.options,
        )

    def rotate(self, uow: UnitOfWork, step: Step) -> None:
        options = dict(step.options)
        in_lines = self.lines(options.pop("in_lines"))
        stock.rotate(
            uow,
            depot=self.depot(step.depot),
            out_lines=self.lines(step.lines),
            in_lines=in_lines,
            at=step.at,
            **options,
        )

    def scrap(self, uow: UnitOfWork, step: Step) -> list[Approval]:
        depot = self.depot(step.depot)
        document = stock.propose_scrap(
            uow, depot=depot, lines=self.lines(step.lines), at=step.at, **step.options
        )
        return [(document.number, depot, step.at + timedelta(hours=2))]

    def count(self, uow: UnitOfWork, step: Step) -> list[Approval]:
        depot = self.depot(step.depot)
        document = stock.propose_count(
            uow, depot=depot, lines=self.lines(step.lines), at=step.at, **step.options
        )
        return [(document.number, depot, step.at + timedelta(hours=2))]
