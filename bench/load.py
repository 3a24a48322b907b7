"""Load: 50 concurrent API clients for 60 s against ``relief serve`` (127.0.0.1 only),
mixing reads, receipts, dispatch requests, their approval (allocation) and fund releases.

The server runs as production would (``relief serve``, waitress threads, JSON logs) on the
seeded prefecture. Each client thread keeps one HTTP/1.1 connection and picks its next
request by weight. Afterwards the books are checked: every ``relief check`` invariant
(stock = ledger, reservations = allocations, no over-reservation), the funds
reconciliation and the audit chain. Reports p50/p95/p99 per kind, 5xx count, and whether
the p95 target (reads 200 ms, writes 500 ms) is met.

    python -m bench --only load --pg-url postgresql://postgres@127.0.0.1:5432/test
    python -m bench --only load --load-clients 50 --load-seconds 60
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from bench.common import temporary_database

TARGET_P95_MS = {"read": 200, "write": 500}
# kind -> (weight, read or write)
MIX = {
    "read stock": (30, "read"),
    "read dispatch list": (15, "read"),
    "read releases list": (10, "read"),
    "read stock summary": (5, "read"),
    "receipt": (15, "write"),
    "dispatch request": (10, "write"),
    "approve (allocate)": (8, "write"),
    "fund release": (7, "write"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--load-clients", default="50", help="Concurrent clients; several (1,50) run in turn."
    )
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--load-workers", type=int, default=8, help="relief serve threads")
    parser.add_argument("--load-processes", type=int, default=1, help="relief serve processes")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """One persistent connection; ``call`` returns (status, body, seconds)."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any, float]:
        payload = None if body is None else json.dumps(body)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            self.connection.request(method, f"/api/v1{path}", payload, headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 599, None, time.perf_counter() - started
        elapsed = time.perf_counter() - started
        return response.status, json.loads(data) if data else None, elapsed


def _tokens(url: str) -> dict[str, str]:
    """Bearer tokens for the demo users the mix acts as (issued through the service)."""
    from relief_inventory.auth import services as auth
    from relief_inventory.db import make_engine
    from relief_inventory.uow import UnitOfWork

    engine = make_engine(url)
    tokens = {}
    for name in ("keeper", "requester", "dispatcher", "auditor"):
        with UnitOfWork(engine, auth.system_actor(engine)) as uow:
            tokens[name] = auth.issue_token(uow, name, 1)[1]
    engine.dispose()
    return tokens


def analyze(url: str) -> None:
    from relief_inventory.db import make_engine
    from relief_inventory.ops.backup import analyze_tables

    engine = make_engine(url)
    analyze_tables(engine)
    engine.dispose()


def _appropriation(url: str) -> str:
    """A fresh appropriation to the requester's county (双柏县 532322) for the releases to
    draw on (the seeded year's are spent), booked by the demo finance user."""
    from relief_inventory.auth.services import actor_for, user_by_name
    from relief_inventory.db import make_engine, open_session
    from relief_inventory.funds import services as funds
    from relief_inventory.funds.models import FundKind, FundLevel
    from relief_inventory.uow import UnitOfWork

    engine = make_engine(url)
    with open_session(engine) as session:
        finance = actor_for(session, user_by_name(session, "finance"))
    with UnitOfWork(engine, finance) as uow:
        source = funds.create_source(
            uow,
            level=FundLevel.PROVINCIAL,
            kind=FundKind.WINTER_SPRING,
            year=2025,
            document_number="云财社〔2025〕900号（压力测试）",
            amount="10000000.00",
        )
        number = funds.appropriate(
            uow,
            source=source.number,
            county="532322",
            document_number="楚财社〔2025〕900号（压力测试）",
            amount="5000000.00",
        ).number
    engine.dispose()
    return number


class Load:
    def __init__(self, port: int, tokens: dict[str, str], appropriation: str, seconds: float):
        self.port, self.tokens, self.appropriation = port, tokens, appropriation
        self.deadline = time.monotonic() + seconds
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.submitted: Queue[str] = Queue()
        self.lock = threading.Lock()

    def client(self, index: int) -> None:
        rng = random.Random(index)
        client = Client(self.port)
        kinds, weights = list(MIX), [w for w, _ in MIX.values()]
        sequence = 0
        while time.monotonic() < self.deadline:
            kind = rng.choices(kinds, weights)[0]
            sequence += 1
            request = self.request(kind, index, sequence)
            if request is None:
                continue
            status, body, seconds = client.call(*request)
            with self.lock:
                self.latencies[kind].append(seconds)
                self.statuses[kind][status] += 1
            if kind == "dispatch request" and status == 201:
                self.submitted.put(body["number"])

    def request(self, kind: str, index: int, sequence: int) -> tuple | None:
        t = self.tokens
        if kind == "read stock":
            depot = ("ZX", "CXS", "SB", "LF")[sequence % 4]
            return "GET", f"/stock?depot={depot}&per_page=50", t["auditor"]
        if kind == "read dispatch list":
            return "GET", "/dispatch-requests?per_page=20", t["auditor"]
        if kind == "read releases list":
            return "GET", "/funds/releases?per_page=20", t["auditor"]
        if kind == "read stock summary":
            return "GET", "/stock/summary", t["auditor"]
        if kind == "receipt":
            body = {
                "depot": "ZX",
                "partner": "压力测试供应商",
                "lines": [
                    {"item": "TENT-12", "lot": f"LOAD-{uuid.uuid4().hex[:12]}", "quantity": 10}
                ],
            }
            return "POST", "/receipts", t["keeper"], body
        if kind == "dispatch request":
            body = {
                "county": "532322",
                "disaster_type": "earthquake",
                "urgency": "urgent",
                "people_affected": 300,
                "reason": "压力测试：地震受灾群众转移安置",
                "submit": True,
                "lines": [{"item": "TENT-12", "quantity": 3}, {"item": "QUILT-2", "quantity": 5}],
            }
            return "POST", "/dispatch-requests", t["requester"], body
        if kind == "approve (allocate)":
            try:
                number = self.submitted.get_nowait()
            except Empty:
                return None
            return "POST", f"/dispatch-requests/{number}/approve", t["dispatcher"], {}
        body = {
            "appropriation": self.appropriation,
            "purpose": "living_aid",
            "amount": "100.00",
            "beneficiaries": 2,
            "evidence": "压力测试花名册",
            "submit": True,
        }
        return "POST", "/funds/releases", t["requester"], body


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _books(url: str) -> list[str]:
    from relief_inventory.audit.verify import verify
    from relief_inventory.checks import run_checks
    from relief_inventory.db import make_engine, open_session
    from relief_inventory.funds.reconcile import reconcile

    engine = make_engine(url)
    with open_session(engine) as session:
        problems = [p for found in run_checks(session).values() for p in found]
        problems += reconcile(session).problems
    with open_session(engine) as session:
        problems += verify(session).problems
    engine.dispose()
    return problems


def run(args: argparse.Namespace) -> list[dict]:
    phases = [int(n) for n in str(getattr(args, "load_clients", "50")).split(",")]
    seconds = int(getattr(args, "load_seconds", 60))
    workers = int(getattr(args, "load_workers", 8))
    processes = int(getattr(args, "load_processes", 1))
    engine_name = "postgresql" if args.pg_url else "sqlite"
    with temporary_database(args.pg_url, "load") as (url, engine):
        engine.dispose()
        relief = str(Path(sys.executable).with_name("relief"))
        env = {**os.environ, "RELIEF_DATABASE_URL": url}
        print("seeding the prefecture…", file=sys.stderr, flush=True)
        subprocess.run([relief, "seed", "--quiet"], env=env, check=True, stdout=subprocess.DEVNULL)
        analyze(url)  # as autovacuum would soon after a bulk load: planner statistics
        tokens, appropriation = _tokens(url), _appropriation(url)
        port = _free_port()
        env.update(RELIEF_PORT=str(port), RELIEF_WORKERS=str(workers))
        env.update(RELIEF_PROCESSES=str(processes))
        server = subprocess.Popen(
            [relief, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        results = []
        try:
            _wait_until_up(port)
            for clients in phases:
                print(f"{clients} clients for {seconds} s…", file=sys.stderr, flush=True)
                results.append((clients, *_phase(port, tokens, appropriation, seconds, clients)))
        finally:
            server.terminate()
            server.wait(timeout=30)
        problems = _books(url)
    rows = []
    for clients, load, wall in results:
        rows += _rows(load, wall, clients, f"{processes}×{workers}", engine_name, problems)
    return rows


def _phase(
    port: int, tokens: dict[str, str], appropriation: str, seconds: int, clients: int
) -> tuple[Load, float]:
    load = Load(port, tokens, appropriation, seconds)
    threads = [threading.Thread(target=load.client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load, time.perf_counter() - started


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("relief serve did not start")


def _rows(load: Load, wall: float, clients: int, workers: str, engine: str, problems: list[str]):
    rows = []
    for kind, (_weight, nature) in MIX.items():
        values = load.latencies.get(kind, [])
        if not values:
            continue
        statuses = load.statuses[kind]
        target = TARGET_P95_MS[nature]
        p95 = _percentile(values, 0.95) * 1000
        rows.append(
            {
                "benchmark": "load",
                "case": f"{engine} {clients} client(s), {workers} threads: {kind}",
                "requests": len(values),
                "per_s": round(len(values) / wall, 1),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(p95, 1),
                "p99_ms": round(_percentile(values, 0.99) * 1000, 1),
                "statuses": " ".join(f"{s}×{n}" for s, n in sorted(statuses.items())),
                "target_p95_ms": target,
                "meets_target": p95 <= target and not any(s >= 500 for s in statuses),
            }
        )
    total = sum(len(v) for v in load.latencies.values())
    errors = sum(n for s in load.statuses.values() for code, n in s.items() if code >= 500)
    books = "consistent" if not problems else "; ".join(problems[:3])
    rows.append(
        {
            "benchmark": "load",
            "case": f"{engine} {clients} client(s), all kinds; books after: {books}",
            "requests": total,
            "per_s": round(total / wall, 1),
            "statuses": f"5xx×{errors}",
            "meets_target": errors == 0 and not problems,
        }
    )
    return rows
