"""Printed documents: real WeasyPrint PDFs read back with pypdf, QR codes read back with
zbar, the verification page they open, scope, audit, and the command line.

Database tests run on SQLite and PostgreSQL; the rendering-only checks (PNG artifacts,
batches in worker processes) on SQLite only, to keep the suite quick.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.audit.models import AuditEntry
from relief_inventory.cli import main
from relief_inventory.config import Settings
from relief_inventory.funds import services as funds
from relief_inventory.stock import services as stock
from reports.printing import PrintOptions, print_document
from tests.factories import bearer, file_dispatch_request
from tests.funds_factories import file_release, make_appropriation, make_source
from tests.paper_factories import build_papers
from tests.pdf_tools import decode_qr, keep_png, metadata, pages_text, text

# Rendering is the same on both databases: these run on SQLite only, the reads on both.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def papers(app):
    return build_papers(app.extensions["relief_engine"])


@pytest.fixture
def auth(papers):
    return lambda who: bearer(papers.world, who)


def get_pdf(client, url: str, headers: dict) -> bytes:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/pdf"
    return response.data


def verify_page(client, pdf: bytes) -> tuple[int, str]:
    """Scan the paper's QR code and open the page it points to, without logging in."""
    url = decode_qr(pdf)
    assert url.startswith("http://127.0.0.1:5000/verify/")
    page = client.get(urlsplit(url).path)
    return page.status_code, page.get_data(as_text=True)


def prints_of(engine, number: str) -> list[dict]:
    with Session(engine) as session:
        return [
            json.loads(changes)
            for changes in session.scalars(
                select(AuditEntry.changes).where(
                    AuditEntry.action == "print", AuditEntry.entity_id == number
                )
            )
        ]


# -- the allocation order -------------------------------------------------------------------


def test_allocation_order_reads_correctly_and_its_qr_code_confirms_it(app, client, papers, auth):
    pdf = get_pdf(client, f"/api/v1/dispatch-requests/{papers.request}/pdf", auth("dispatcher"))
    shown = text(pdf)
    for label in (
        "救灾物资调拨单",
        "楚雄州应急管理局",
        f"编号：{papers.request}",
        "申请县市双柏县",
        "灾害类型地震",
        "紧急程度紧急",
        "应急响应—",
        "物资名称规格型号单位批次有效期数量单价（元）金额（元）",
        "调出仓库1：双柏县救灾物资储备库",
        "调出仓库2：州级救灾物资储备库",
        "12平方米单帐篷3×4m顶T-SB-1—2001,450.00290,000.00",
        "小计（双柏县救灾物资储备库）370298,840.00",
        "2大米袋600465135",  # requested, allocated, shortage
        "合计（2个仓库）数量815金额¥531,680.00",
        "人民币伍拾叁万壹仟陆佰捌拾元整",
        "经办人（签字）",
        "审核人（签字）",
        "批准人（签字）",
        "接收人（签字）",
        "第1页共1页",
    ):
        assert label in shown, label
    code = metadata(pdf)["/reliefverifycode"]
    assert code.startswith(f"{papers.request}.") and f"核验码{code}" in shown
    status, page = verify_page(client, pdf)
    assert status == 200
    assert "与系统记录一致" in page and "不一致" not in page
    assert "531,680.00" in page and "双柏县" in page  # what the paper shows, to compare
    entries = prints_of(app.extensions["relief_engine"], papers.request)
    assert [e["digest"] for e in entries] == [code.split(".")[1]]
    assert entries[0]["paper"]["total"]["quantity"] == 815


def test_after_a_cancellation_the_same_paper_no_longer_matches(client, papers, auth):
    pdf = get_pdf(client, f"/api/v1/dispatch-requests/{papers.request}/pdf", auth("dispatcher"))
    with papers.world.uow("dispatcher") as uow:
        dispatch.cancel(uow, papers.request, reason="灾情解除")
    status, page = verify_page(client, pdf)
    assert status == 200
    assert "与系统记录不一致" in page
    assert "单据已作废：已取消" in page
    assert "已不在记录中（纸面数量 200）" in page  # each line that is gone, by lot
    again = client.get(f"/api/v1/dispatch-requests/{papers.request}/pdf", headers=auth("admin"))
    assert again.status_code == 409  # a cancelled request has no allocation order to print


@SQLITE_ONLY
def test_a_top_up_shows_the_new_quantity(client, papers, auth):
    pdf = get_pdf(client, f"/api/v1/dispatch-requests/{papers.request}/pdf", auth("dispatcher"))
    from tests.factories import receive_basic

    receive_basic(papers.world, 500, depot="SB")  # new stock lets allocate top up the rice
    with papers.world.uow("dispatcher") as uow:
        dispatch.allocate(uow, papers.request)
    _status, page = verify_page(client, pdf)
    assert "与系统记录不一致" in page
    assert "大米 已分配：纸面为 465，现为 600" in page
    assert "合计数量：纸面为 815，现为 950" in page


def test_dispatching_does_not_invalidate_the_order(client, papers, auth):
    pdf = get_pdf(client, f"/api/v1/dispatch-requests/{papers.request}/pdf", auth("dispatcher"))
    for keeper in ("keeper_sb", "keeper_zx"):
        with papers.world.uow(keeper) as uow:
            from relief_inventory.allocation import shipping

            shipping.dispatch(uow, papers.request)
    assert "与系统记录一致" in verify_page(client, pdf)[1]


def test_a_requester_prints_only_their_own_countys_papers(app, client, papers, auth):
    other = file_dispatch_request(
        papers.world, [{"item": "TENT-12", "quantity": 10}], county="532327", who="dispatcher"
    )
    with papers.world.uow("dispatcher2") as uow:
        dispatch.approve(uow, other)
    requester = auth("requester_sb")
    assert (
        client.get(f"/api/v1/dispatch-requests/{papers.request}/pdf", headers=requester).status_code
        == 200
    )
    # Another county's paper answers like a missing one (its existence is not revealed).
    refused = client.get(f"/api/v1/dispatch-requests/{other}/pdf", headers=requester)
    assert refused.status_code == 404
    assert refused.get_json()["code"] == "not_found"
    appropriation = make_appropriation(papers.world, make_source(papers.world), county="532327")
    foreign = file_release(papers.world, appropriation, "100.00", county="532327")
    assert client.get(f"/api/v1/funds/releases/{foreign}/pdf", headers=requester).status_code == 404
    assert (
        client.get(f"/api/v1/funds/releases/{papers.release}/pdf", headers=requester).status_code
        == 200
    )
    with Session(app.extensions["relief_engine"]) as session:
        refusals = session.scalars(
            select(AuditEntry.changes).where(
                AuditEntry.action == "refused", AuditEntry.actor == "requester_sb"
            )
        ).all()
    assert len(refusals) == 2
    assert prints_of(app.extensions["relief_engine"], other) == []


def test_routes_print_only_their_own_kind_and_unprintable_states_are_refused(client, papers, auth):
    admin = auth("admin")
    assert client.get(f"/api/v1/documents/{papers.request}/pdf", headers=admin).status_code == 404
    assert (
        client.get(f"/api/v1/dispatch-requests/{papers.receipt}/pdf", headers=admin).status_code
        == 404
    )
    assert client.get("/api/v1/funds/releases/ZF-2099-000999/pdf", headers=admin).status_code == 404
    assert client.get("/api/v1/documents/nonsense/pdf", headers=admin).status_code == 404
    assert client.get(f"/api/v1/documents/{papers.receipt}/pdf").status_code == 401
    draft = file_dispatch_request(papers.world, [{"item": "TENT-12", "quantity": 1}])
    refused = client.get(f"/api/v1/dispatch-requests/{draft}/pdf", headers=admin)
    assert refused.status_code == 409 and "不能打印调拨单" in refused.get_json()["message"]
    appropriation = make_appropriation(papers.world, make_source(papers.world))
    submitted = file_release(papers.world, appropriation, "10.00")
    assert client.get(f"/api/v1/funds/releases/{submitted}/pdf", headers=admin).status_code == 409


@SQLITE_ONLY
def test_a_long_order_repeats_its_table_header_and_numbers_every_page(engine, db_url):
    from datetime import date

    from tests.factories import build_world

    world = build_world(engine)
    with world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            partner="云南粮油",
            lines=[
                {
                    "item": "RICE-10",
                    "lot": f"R-{i:03d}",
                    "quantity": 10,
                    "production_date": date.today().isoformat(),
                }
                for i in range(90)
            ],
        )
    number = file_dispatch_request(world, [{"item": "RICE-10", "quantity": 900}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    options = PrintOptions.from_settings(Settings.from_env(database_url=str(engine.url)))
    pdf = print_document(engine, world.actors["dispatcher"], number, options)
    pages = [page.replace(" ", "") for page in pages_text(pdf)]
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        assert f"第{n}页共{len(pages)}页" in page
        assert "核验码DB-" in page
    for page in pages[:-1]:
        assert "物资名称规格型号单位批次有效期数量单价（元）金额（元）" in page
    assert "R-089" in pages[-1] and "合计（1个仓库）数量900金额¥46,800.00" in pages[-1]
    assert "人民币肆万陆仟捌佰元整" in pages[-1]
    keep_png(pdf, "allocation-order-long-p2", page=2)


# -- stock notes ----------------------------------------------------------------------------


def test_receipt_note_matches_until_it_is_reversed(client, papers, auth):
    pdf = get_pdf(client, f"/api/v1/documents/{papers.receipt}/pdf", auth("keeper_zx"))
    shown = text(pdf)
    for label in (
        "救灾物资入库单",
        "入库仓库州级救灾物资储备库",
        "供货/来源单位昆明帐篷厂",
        "12平方米单帐篷3×4m顶T-ZX-1—楚雄州州级储备3001,450.00435,000.00",
        "合计600450,600.00",
        "人民币肆拾伍万零陆佰元整",
        "交货人（签字）",
        "验收人（签字）",
    ):
        assert label in shown, label
    transfer = get_pdf(client, f"/api/v1/documents/{papers.transfer}/pdf", auth("keeper_zx"))
    assert "与系统记录一致" in verify_page(client, pdf)[1]
    assert "与系统记录一致" in verify_page(client, transfer)[1]
    reversal = reverse_approved(papers, papers.transfer, "keeper_zx", "keeper_zx2", "调拨取消")
    assert "与系统记录一致" in verify_page(client, pdf)[1]  # the receipt itself is unchanged
    _status, page = verify_page(client, transfer)
    assert "与系统记录不一致" in page and reversal.number in page


def test_reversed_receipt_says_so_on_the_verification_page_and_on_a_reprint(client, papers, auth):
    document = receive_for_reversal(papers)
    pdf = get_pdf(client, f"/api/v1/documents/{document}/pdf", auth("keeper_sb"))
    reversal = reverse_approved(papers, document, "keeper_sb", "admin", "数量多录一位")
    status, page = verify_page(client, pdf)
    assert status == 200 and "与系统记录不一致" in page
    assert f"单据已作废：已冲销（冲销单 {reversal.number}" in page
    reprint = text(get_pdf(client, f"/api/v1/documents/{document}/pdf", auth("keeper_sb")))
    assert f"作废：已冲销（冲销单{reversal.number}" in reprint


def reverse_approved(papers, number: str, proposer: str, approver: str, reason: str):
    """A reversal proposed by one person and approved by another (four eyes)."""
    with papers.world.uow(proposer) as uow:
        reversal = stock.reverse(uow, number, reason=reason)
    with papers.world.uow(approver) as uow:
        return stock.approve(uow, reversal.number)


def receive_for_reversal(papers) -> str:
    with papers.world.uow("keeper_sb") as uow:
        return stock.receive(
            uow,
            depot="SB",
            partner="县红十字会",
            origin="donation",
            lines=[{"item": "TENT-12", "lot": "T-DON-1", "quantity": 1000}],
        ).number


def test_every_kind_of_note_has_its_title_and_lines(client, papers, auth):
    admin = auth("admin")
    expected = {
        papers.transfer: ("救灾物资库间调拨单", "调入仓库双柏县救灾物资储备库", "调出保管员"),
        papers.issue: ("救灾物资出库单", "接收县市双柏县", "领用人（签字）"),
        papers.scrap: ("救灾物资报损报废记录", "霉变报废", "审核人keeper_zx2"),
        papers.count: ("救灾物资盘点表", "账面数量实盘数量差异", "草稿，待审批，尚未记账"),
    }
    for number, labels in expected.items():
        shown = text(get_pdf(client, f"/api/v1/documents/{number}/pdf", admin))
        for label in labels:
            assert label in shown, (number, label)
    count = text(get_pdf(client, f"/api/v1/documents/{papers.count}/pdf", admin))
    assert "295293-2" in count  # book, counted, difference
    transfer = text(get_pdf(client, f"/api/v1/documents/{papers.transfer}/pdf", admin))
    assert "汛前预置<script>alert(1)</script>" in transfer  # escaped text, not markup


def test_dispatch_notes_one_per_depot(client, papers, auth):
    from relief_inventory.allocation import shipping

    with papers.world.uow("keeper_sb") as uow:
        (document,) = shipping.dispatch(uow, papers.request)
    with papers.world.uow("keeper_zx") as uow:
        shipping.dispatch(uow, papers.request)
    pdf = get_pdf(client, f"/api/v1/documents/{document.number}/pdf", auth("keeper_sb"))
    shown = text(pdf)
    assert "救灾物资出库单（应急调拨发运）" in shown
    assert f"调令/申请文号{papers.request}" in shown and "合计370298,840.00" in shown
    assert "与系统记录一致" in verify_page(client, pdf)[1]
    with papers.world.uow("requester_sb") as uow:  # arrival books more moves on the document
        shipping.receive(
            uow,
            papers.request,
            lines=[{"item": "TENT-12", "received": 350}, {"item": "RICE-10", "received": 465}],
        )
    assert "与系统记录一致" in verify_page(client, pdf)[1]


def test_blank_count_sheet(client, papers, auth):
    pdf = get_pdf(client, "/api/v1/depots/ZX/count-sheet/pdf", auth("keeper_zx"))
    shown = text(pdf)
    assert "救灾物资盘点表" in shown and "州级救灾物资储备库（ZX）" in shown
    assert "账面数量实盘数量差异质量状况备注" in shown
    assert "盘点人（签字）" in shown
    assert (
        client.get("/api/v1/depots/NOPE/count-sheet/pdf", headers=auth("admin")).status_code == 404
    )


# -- the fund release notice ----------------------------------------------------------------


def test_release_notice_in_official_layout_verifies_until_reversed(client, papers, auth):
    pdf = get_pdf(client, f"/api/v1/funds/releases/{papers.release}/pdf", auth("finance"))
    shown = text(pdf)
    sequence = int(papers.release.split("-")[2])
    for label in (
        "楚雄州应急管理局文件",
        f"楚应急拨〔{papers.release.split('-')[1]}〕{sequence}号",
        "关于拨付双柏县2024年省级冬春救助资金的通知",
        "双柏县应急管理局、双柏县财政局：",
        "人民币壹万贰仟叁佰肆拾伍元陆角整（¥12,345.60）",
        "惠及受灾困难群众60人",
        "附件：资金拨付审核表",
        "（印章）",
        "资金拨付审核表",
        "申报（经办）requester_sb",
        "财务核验finance",
        "已核对花名册",
        "审批finance2",
        "抄送：州财政局，双柏县人民政府。",
    ):
        assert label in shown, label
    assert "—1—" in shown  # GB/T 9704 page numbers
    assert "与系统记录一致" in verify_page(client, pdf)[1]
    with papers.world.uow("finance") as uow:
        proposal = funds.reverse_release(uow, papers.release, reason="重复拨付")
    assert "与系统记录一致" in verify_page(client, pdf)[1]  # proposed, not yet approved
    with papers.world.uow("admin") as uow:
        reversal = funds.approve_reversal(uow, proposal.number)
    _status, page = verify_page(client, pdf)
    assert "与系统记录不一致" in page and f"已冲销（冲销单 {reversal.number}" in page


# -- the verification page ------------------------------------------------------------------


@SQLITE_ONLY
def test_verification_page_refuses_nonsense_and_forgeries(client, papers, auth):
    pdf = get_pdf(client, f"/api/v1/documents/{papers.receipt}/pdf", auth("admin"))
    code = metadata(pdf)["/reliefverifycode"]
    forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    page = client.get(f"/verify/{forged}")
    assert page.status_code == 200 and "无法核验" in page.get_data(as_text=True)
    assert "打印记录" in page.get_data(as_text=True)
    for junk in ("x", "DB-2024-000001", "%00", "A" * 200, f"{code}/extra", "<script>"):
        response = client.get(f"/verify/{junk}")
        assert response.status_code == 404, junk
        assert "核验码格式不正确" in response.get_data(as_text=True)
    assert client.get("/verify").status_code == 200
    typed = client.get(f"/verify?code={code.lower()}")
    assert typed.status_code == 302 and typed.headers["Location"].endswith(f"/verify/{code}")
    assert client.get(f"/verify/{code.lower()}").status_code == 200


def test_every_print_is_an_audit_event_and_the_chain_still_verifies(
    app, db_url, client, papers, auth
):
    for _ in range(2):
        get_pdf(client, f"/api/v1/documents/{papers.issue}/pdf", auth("keeper_sb"))
    entries = prints_of(app.extensions["relief_engine"], papers.issue)
    assert len(entries) == 2 and entries[0]["digest"] == entries[1]["digest"]
    assert "paper" in entries[0] and "paper" not in entries[1]  # the paper is kept once
    result = relief(db_url, "audit", "verify")
    assert result.exit_code == 0, result.output


# -- command line ---------------------------------------------------------------------------


def relief(db_url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": db_url})


@SQLITE_ONLY
def test_cli_prints_and_verifies_a_pdf(db_url, papers, tmp_path):
    order = tmp_path / "order.pdf"
    printed = relief(db_url, "doc", "allocation", papers.request, "-o", str(order))
    assert printed.exit_code == 0, printed.output
    checked = relief(db_url, "doc", "verify", str(order))
    assert checked.exit_code == 0, checked.output
    assert "与系统记录一致" in checked.output and "合计数量：815" in checked.output
    donation = receive_for_reversal(papers)
    note = tmp_path / "note.pdf"
    assert relief(db_url, "doc", "note", donation, "-o", str(note)).exit_code == 0
    release = tmp_path / "release.pdf"
    assert relief(db_url, "doc", "release", papers.release, "-o", str(release)).exit_code == 0
    reverse_approved(papers, donation, "keeper_sb", "admin", "录入错误")
    after = relief(db_url, "doc", "verify", str(note))
    assert after.exit_code == 1 and "已冲销" in after.output
    missing = relief(db_url, "doc", "allocation", "DB-2099-000001")
    assert missing.exit_code == 2 and "调拨申请不存在" in missing.output
    not_ours = tmp_path / "plain.pdf"
    not_ours.write_bytes(b"%PDF-1.4\n%%EOF\n")
    assert relief(db_url, "doc", "verify", str(not_ours)).exit_code == 2


@SQLITE_ONLY
def test_batch_of_open_orders_in_worker_processes(db_url, papers, tmp_path, monkeypatch):
    second = file_dispatch_request(papers.world, [{"item": "TENT-12", "quantity": 5}])
    with papers.world.uow("dispatcher") as uow:
        dispatch.approve(uow, second)
    monkeypatch.setattr("reports.printing.TASKS_PER_WORKER", 1)  # the worker is replaced
    out = str(tmp_path / "out")
    result = relief(db_url, "doc", "allocation", "--all-open", "--workers", "1", "-o", out)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted([f"{papers.request}.pdf", f"{second}.pdf"])
    assert "已生成 2 份调拨单" in result.output
    assert relief(db_url, "doc", "verify", str(tmp_path / "out" / f"{second}.pdf")).exit_code == 0


@SQLITE_ONLY
def test_one_page_of_each_paper_kept_as_png(client, papers, auth):
    """The pictures people look at (build/test-artifacts/): one page of each paper."""
    admin = auth("admin")
    for name, url, page in (
        ("allocation-order", f"/api/v1/dispatch-requests/{papers.request}/pdf", 1),
        ("receipt-note", f"/api/v1/documents/{papers.receipt}/pdf", 1),
        ("transfer-note", f"/api/v1/documents/{papers.transfer}/pdf", 1),
        ("issue-note", f"/api/v1/documents/{papers.issue}/pdf", 1),
        ("write-off-record", f"/api/v1/documents/{papers.scrap}/pdf", 1),
        ("count-record", f"/api/v1/documents/{papers.count}/pdf", 1),
        ("count-sheet", "/api/v1/depots/ZX/count-sheet/pdf", 1),
        ("release-notice", f"/api/v1/funds/releases/{papers.release}/pdf", 1),
        ("release-notice-annex", f"/api/v1/funds/releases/{papers.release}/pdf", 2),
    ):
        assert keep_png(get_pdf(client, url, admin), name, page).stat().st_size > 5_000
