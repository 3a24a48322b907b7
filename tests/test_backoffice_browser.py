"""The back office in a real browser: Debian's Chromium, driven by Playwright, against
``relief serve`` on 127.0.0.1 — the issue's daily work from receipt to audit, one server
and one browser for the whole module. Screenshots of each step are left under
``build/test-artifacts/backoffice/`` (git-ignored); README shows a few of them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine
from relief_inventory.stock import services as stock
from tests.conftest import IN_CI
from tests.factories import PASSWORD, build_world
from tests.funds_factories import make_appropriation, make_source

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts" / "backoffice"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists() and not IN_CI:
    pytest.skip(
        "Debian's chromium is not installed (make test installs it: scripts/ensure-browser)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare(url: str) -> dict[str, str]:
    engine = make_engine(url)
    init_database(engine)
    world = build_world(engine)
    with world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            partner="昆明帐篷厂",
            lines=[
                {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 200},
                {
                    "item": "RICE-10",
                    "lot": "R-ZX-1",
                    "quantity": 300,
                    "production_date": date.today().isoformat(),
                },
            ],
        )
    money = make_appropriation(world, make_source(world), "80000.00", county="532327")
    engine.dispose()
    return {"appropriation": money}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[dict]:
    path = tmp_path_factory.mktemp("browser") / "relief.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    facts = _prepare(url)
    port = _free_port()
    env = {
        **os.environ,
        "RELIEF_DATABASE_URL": url,
        "RELIEF_PORT": str(port),
        "RELIEF_HOST": "127.0.0.1",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "server.log").open("w")  # the server logs every request: never a pipe
    process = subprocess.Popen(
        [sys.executable, "-c", "from relief_inventory.cli import main; main()", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("relief serve did not answer")
        yield {"base": base, **facts}
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(server: dict) -> Iterator:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Desk:
    """One person at their browser: a context of their own, logged in through the form."""

    def __init__(self, browser, base: str, username: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(f"{base}/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("#login-submit")
        self.page.wait_for_url(f"{base}/")

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def act(self, action: str) -> None:
        self.page.click(f"#act-{action}")
        self.page.wait_for_load_state()

    def state(self) -> str:
        return self.page.locator("#statusbar li.current").inner_text()

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


def fill_line(page, table: str, row: int, **values: str) -> None:
    cells = page.locator(f"#lines-{table} tr.line-row").nth(row)
    for name, value in values.items():
        field = cells.locator(f"[name='{table}-{name}']")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def test_the_day_of_the_earthquake(browser, server: dict) -> None:
    base = server["base"]

    # 1. a keeper books a receipt with two lines
    keeper = Desk(browser, base, "keeper_zx")
    assert keeper.page.locator("#tile-stock-chart svg").bounding_box()["height"] > 100
    keeper.shot("01-keeper-home")
    keeper.go("/documents/new/receipt")
    keeper.page.select_option("[name=depot]", "ZX")
    keeper.page.fill("[name=partner]", "昆明帐篷厂")
    fill_line(keeper.page, "lines", 0, item="TENT-12", lot="T-BR-1", quantity="120")
    fill_line(
        keeper.page,
        "lines",
        1,
        item="RICE-10",
        lot="R-BR-1",
        quantity="80",
        production_date=date.today().isoformat(),
    )
    keeper.shot("02-receipt-form")
    keeper.page.click("#doc-save")
    keeper.page.wait_for_url("**/documents/view/RK-*")
    receipt = keeper.page.locator("#doc-number").inner_text()
    assert "T-BR-1" in keeper.page.content() and "R-BR-1" in keeper.page.content()
    keeper.shot("03-receipt")

    # 2. the county files an earthquake request
    county = Desk(browser, base, "requester_sb")
    county.go("/dispatch/new")
    county.page.select_option("[name=county]", "532322")
    county.page.select_option("[name=disaster_type]", "earthquake")
    county.page.select_option("[name=urgency]", "urgent")
    county.page.fill("[name=people_affected]", "1500")
    county.page.fill("[name=reason]", "5.0级地震，房屋受损，需转移安置群众")
    county.page.check("[name=submit]")
    fill_line(county.page, "lines", 0, item="TENT-12", quantity="60")
    fill_line(county.page, "lines", 1, item="RICE-10", quantity="40")
    county.page.click("#doc-save")
    county.page.wait_for_url("**/dispatch/view/DB-*")
    number = county.page.locator("#doc-number").inner_text()
    assert county.state() == "已提交"
    assert county.page.locator("#act-approve").count() == 0  # not theirs to approve
    county.shot("04-request-filed")

    # 3. a dispatcher approves it and sees the picks
    dispatcher = Desk(browser, base, "dispatcher")
    assert number in dispatcher.page.locator("#tile-waiting").inner_text()
    dispatcher.go(f"/dispatch/view/{number}")
    dispatcher.page.fill("#doc-actions [name=note]", "同意，就近调拨")
    dispatcher.act("approve")
    assert dispatcher.state() == "已分配"
    picks = dispatcher.page.content()
    assert "ZX" in picks and "已预留" in picks
    dispatcher.shot("05-request-approved-picks")

    # 4. the keeper dispatches it and prints the order
    keeper.go("/")
    assert number in keeper.page.locator("#tile-to-do").inner_text()
    keeper.go(f"/dispatch/view/{number}")
    keeper.act("dispatch")
    assert keeper.state() == "已发运"
    order = keeper.context.request.get(f"{base}/dispatch/print/{number}")
    assert order.ok and order.body().startswith(b"%PDF")
    note = keeper.page.locator("#doc-related a").first
    note.click()
    keeper.page.wait_for_url("**/documents/view/FY-*")
    printed = keeper.context.request.get(
        base + keeper.page.locator("#print-1").get_attribute("href")
    )
    assert printed.ok and printed.body().startswith(b"%PDF")
    keeper.shot("06-dispatch-note")

    # 5. the county receives it, one line short
    county.go(f"/dispatch/view/{number}")
    county.page.fill("#doc-actions [name='received:TENT-12']", "60")
    county.page.fill("#doc-actions [name='received:RICE-10']", "37")
    county.page.fill("#doc-actions [name='damaged:RICE-10']", "0")
    county.page.fill("#doc-actions form:has(#act-receive) [name=note]", "途中遗失大米3袋")
    county.act("receive")
    assert county.state() == "已签收"
    assert "途中遗失大米3袋" in county.page.content()
    county.shot("07-request-received-short")

    # 6. finance files a release, a second person verifies, a third approves
    finance = Desk(browser, base, "finance")
    finance.go("/funds/releases/new")
    finance.page.select_option("[name=appropriation]", server["appropriation"])
    finance.page.select_option("[name=purpose]", "living_aid")
    finance.page.fill("[name=amount]", "12000.00")
    finance.page.fill("[name=beneficiaries]", "60")
    finance.page.fill("[name=households]", "20")
    finance.page.fill("[name=evidence]", "花名册、村级评议公示")
    finance.page.check("[name=submit]")
    finance.page.click("#doc-save")
    finance.page.wait_for_url("**/funds/releases/view/ZF-*")
    release = finance.page.locator("#doc-number").inner_text()
    assert finance.page.locator("#act-verify").count() == 0  # not the creator's to verify
    second = Desk(browser, base, "finance2")
    second.go(f"/funds/releases/view/{release}")
    second.page.fill("#doc-actions [name=note]", "已核对花名册 20 户 60 人")
    second.act("verify")
    assert second.state() == "已核实"
    assert second.page.locator("#act-approve").count() == 0  # the verifier may not approve
    third = Desk(browser, base, "admin")
    third.go(f"/funds/releases/view/{release}")
    third.act("approve")
    assert third.state() == "已批准"
    signatures = third.page.content()
    assert "finance2" in signatures and "admin" in signatures
    third.shot("08-release-approved")

    # 7. an auditor verifies the chain
    auditor = Desk(browser, base, "auditor")
    auditor.shot("09-auditor-home")
    auditor.go("/audit-check/")
    auditor.page.click("#verify-chain")
    assert "审计日志完整" in auditor.page.locator("#verify-result").inner_text()
    auditor.shot("10-audit-verified")
    auditor.go(f"/audit/?search={receipt}")
    assert receipt in auditor.page.content() or "stock_document" in auditor.page.content()

    for desk in (keeper, county, dispatcher, finance, second, third, auditor):
        desk.close()
