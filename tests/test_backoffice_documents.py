"""Stock documents in the back office: the documents' own forms call the services, the
buttons are exactly the steps the service would allow, another depot's document cannot
be opened, printed or acted on by guessing its URL, and what users type is shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from relief_inventory.auth import services as auth
from relief_inventory.db import open_session
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import StockDocument
from relief_inventory.timeutil import local_today
from tests.backoffice_tools import Office, csrf_token, make_office, office_url, post_form
from tests.conftest import BACKENDS
from tests.factories import receive_basic

HOSTILE = "<script>alert(\"x\")</script> 受潮“霉变”，'引号'"


def prepare(world) -> dict:
    zx = receive_basic(world, 100, "ZX")
    sb = receive_basic(world, 50, "SB")
    return {"zx": zx, "sb": sb}


@pytest.fixture(scope="module", params=BACKENDS)
def office(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Office]:
    url = office_url(request, tmp_path_factory.mktemp("documents"))
    yield from make_office(url, prepare)


def scrap_draft(office: Office, who: str = "keeper_zx", reason: str = "受潮霉变") -> str:
    with office.world.uow(who) as uow:
        return stock.propose_scrap(
            uow,
            depot="ZX",
            reason=reason,
            lines=[{"item": "RICE-10", "lot": "R-ZX-1", "quantity": 1}],
        ).number


def document(office: Office, number: str) -> StockDocument:
    with open_session(office.world.engine) as session:
        return session.scalar(select(StockDocument).where(StockDocument.number == number))


def test_keeper_books_a_receipt_with_two_lines_through_the_form(office: Office) -> None:
    client = office.client("keeper_zx")
    form = client.get("/documents/new/receipt")
    assert form.status_code == 200 and "新建入库单" in form.text
    response = client.post(
        "/documents/new/receipt",
        data={
            "csrf_token": csrf_token(form.text),
            "form_key": "bo-test-receipt-1",
            "depot": "ZX",
            "partner": "昆明帐篷厂",
            "origin": "purchase",
            "reason": "2026 年度采购",
            "lines-item": ["TENT-12", "RICE-10"],
            "lines-lot": ["T-BO-1", "R-BO-1"],
            "lines-quantity": ["30", "40"],
            "lines-owner": ["", ""],
            "lines-production_date": ["", "2026-01-05"],
            "lines-expiry_date": ["", ""],
        },
    )
    assert response.status_code == 302, response.text
    number = response.headers["Location"].rsplit("/", 1)[1]
    assert number.startswith("RK-")
    page = client.get(f"/documents/view/{number}").text
    assert "T-BO-1" in page and "R-BO-1" in page and "历史记录" in page
    assert "keeper_zx" in page  # the chatter names who made it
    # the same form posted again (a double click) books nothing twice
    again = client.post(
        "/documents/new/receipt",
        data={
            "csrf_token": csrf_token(form.text),
            "form_key": "bo-test-receipt-1",
            "depot": "ZX",
            "partner": "昆明帐篷厂",
            "origin": "purchase",
            "reason": "2026 年度采购",
            "lines-item": ["TENT-12", "RICE-10"],
            "lines-lot": ["T-BO-1", "R-BO-1"],
            "lines-quantity": ["30", "40"],
            "lines-owner": ["", ""],
            "lines-production_date": ["", "2026-01-05"],
            "lines-expiry_date": ["", ""],
        },
    )
    assert again.headers["Location"].endswith(number)


def test_a_refused_form_shows_the_services_chinese_error_and_books_nothing(
    office: Office,
) -> None:
    client = office.client("keeper_zx")
    before = client.get("/documents/export/csv/").text.count("RK-")
    response = post_form(
        client,
        "/documents/new/receipt",
        "/documents/new/receipt",
        depot="ZX",
        **{"lines-item": "TENT-12", "lines-lot": "T-X", "lines-quantity": "十"},
    )
    assert response.status_code == 422
    assert "lines[0].quantity" in response.text and "T-X" in response.text  # kept on the form
    assert client.get("/documents/export/csv/").text.count("RK-") == before


def test_keeper_cannot_book_into_another_depot(office: Office) -> None:
    client = office.client("keeper_sb")
    form = client.get("/documents/new/receipt").text
    assert 'value="ZX"' not in form  # the depot dropdown offers only their own
    response = post_form(
        client,
        "/documents/new/receipt",
        "/documents/new/receipt",
        depot="ZX",
        **{"lines-item": "TENT-12", "lines-lot": "T-Y", "lines-quantity": "3"},
    )
    assert response.status_code == 422 and "不是该仓库的保管员" in response.text


def test_another_depots_document_cannot_be_opened_printed_or_acted_on(office: Office) -> None:
    draft = scrap_draft(office)
    client = office.client("keeper_sb")
    assert client.get(f"/documents/view/{draft}").status_code == 404
    assert client.get(f"/documents/view/{office.facts['zx']}").status_code == 404
    assert client.get(f"/documents/print/{office.facts['zx']}").status_code == 404
    token = csrf_token(client.get("/documents/").text)
    for action in ("approve", "reject", "cancel", "reverse"):
        refused = client.post(
            f"/documents/act/{draft}/{action}", data={"csrf_token": token, "reason": "x"}
        )
        assert refused.status_code == 404, action
    assert document(office, draft).state == "draft"
    listed = client.get("/documents/").text
    assert draft not in listed and office.facts["zx"] not in listed
    assert office.facts["sb"] in listed


def test_buttons_are_the_steps_the_service_allows(office: Office) -> None:
    draft = scrap_draft(office)
    author = office.client("keeper_zx").get(f"/documents/view/{draft}").text
    assert 'id="act-cancel"' in author
    assert 'id="act-approve"' not in author and 'id="act-reject"' not in author
    second = office.client("keeper_zx2").get(f"/documents/view/{draft}").text
    assert 'id="act-approve"' in second and 'id="act-reject"' in second
    assert 'id="act-cancel"' not in second
    auditor = office.client("auditor").get(f"/documents/view/{draft}").text
    assert "act-" not in auditor.split('id="doc-actions"')[1].split("</div>")[0]


def test_a_button_not_shown_is_not_accepted_when_posted(office: Office) -> None:
    draft = scrap_draft(office)
    client = office.client("keeper_zx")  # the author may not approve their own draft
    page = client.get(f"/documents/view/{draft}")
    response = client.post(
        f"/documents/act/{draft}/approve",
        data={"csrf_token": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert "职责分离" in response.text
    assert document(office, draft).state == "draft"
    auditor = office.client("auditor")
    token = csrf_token(auditor.get("/").text)
    auditor.post(f"/documents/act/{draft}/approve", data={"csrf_token": token})
    assert document(office, draft).state == "draft"


def test_second_keeper_approves_and_the_history_shows_it(office: Office) -> None:
    draft = scrap_draft(office)
    client = office.client("keeper_zx2")
    page = client.get(f"/documents/view/{draft}")
    done = client.post(
        f"/documents/act/{draft}/approve",
        data={"csrf_token": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert "操作成功" in done.text
    assert document(office, draft).state == "done"
    assert "keeper_zx2" in done.text.split('id="chatter"')[1]


def test_action_without_csrf_token_is_refused(office: Office) -> None:
    draft = scrap_draft(office)
    client = office.client("keeper_zx2")
    response = client.post(f"/documents/act/{draft}/approve")
    assert response.status_code == 400
    assert document(office, draft).state == "draft"


def test_hostile_text_is_shown_as_text(office: Office) -> None:
    draft = scrap_draft(office, reason=HOSTILE)
    client = office.client("keeper_zx2")
    page = client.get(f"/documents/view/{draft}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    listed = client.get("/documents/").text
    assert "<script>alert" not in listed
    rejected = client.post(
        f"/documents/act/{draft}/reject",
        data={"csrf_token": csrf_token(page), "reason": HOSTILE},
        follow_redirects=True,
    ).text
    assert "<script>alert" not in rejected and "已驳回" in rejected


def test_print_button_serves_the_stock_note(office: Office) -> None:
    client = office.client("keeper_zx")
    page = client.get(f"/documents/view/{office.facts['zx']}").text
    assert f"/documents/print/{office.facts['zx']}" in page
    pdf = client.get(f"/documents/print/{office.facts['zx']}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_lot_picker_searches_the_users_depots_only(office: Office) -> None:
    zx = office.client("keeper_zx").get("/documents/lot-options?item=TENT-12&q=T-").json
    assert "T-ZX-1" in {lot["number"] for lot in zx}
    sb = office.client("keeper_sb").get("/documents/lot-options?item=TENT-12&q=T-").json
    assert {lot["number"] for lot in sb} == {"T-SB-1"}


def test_item_picker_searches_the_catalogue_as_you_type(office: Office) -> None:
    """A prefecture's catalogue holds thousands of items: the form carries no list of them,
    the picker asks for the few matching what was typed (by code or by name)."""
    client = office.client("requester_sb")
    form = client.get("/dispatch/new").text
    assert 'list="item-options"' in form and '<option value="TENT-12"' not in form
    by_code = client.get("/documents/item-options?q=tent").json
    assert "TENT-12" in {item["code"] for item in by_code}
    by_name = client.get("/documents/item-options?q=大米").json
    assert by_name and all("大米" in item["label"] for item in by_name)
    assert client.get("/documents/item-options?q=%25").json == []


def test_depot_picker_searches_where_a_dropdown_would_be_too_long(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prefecture of a thousand depots and points: past ``DEPOT_SELECT_MAX`` a form's depot
    is a text box that searches, in the form's scope (a keeper's own depots to book from,
    every active depot as a transfer's destination)."""
    from relief_inventory.admin import choices

    keeper = office.client("keeper_zx")
    assert '<select name="to_depot"' in keeper.get("/documents/new/transfer").text
    monkeypatch.setattr(choices, "DEPOT_SELECT_MAX", 1)
    form = keeper.get("/documents/new/transfer").text
    assert 'list="depot-options"' in form and '<option value="YR"' not in form
    assert '<select name="from_depot"' in form  # a keeper of one depot still gets a dropdown
    everywhere = keeper.get("/documents/depot-options?q=&scope=all").json
    assert {"ZX", "SB", "YR"} <= {d["code"] for d in everywhere}
    mine = keeper.get("/documents/depot-options?q=&scope=mine").json
    assert [d["code"] for d in mine] == ["ZX"]
    by_name = keeper.get("/documents/depot-options?q=永仁&scope=all").json
    assert [d["code"] for d in by_name] == ["YR"]
    assert keeper.get("/documents/depot-options?q=%25&scope=all").json == []


def test_issue_transfer_and_count_through_their_forms(office: Office) -> None:
    keeper = office.client("keeper_zx")
    issued = post_form(
        keeper,
        "/documents/new/issue",
        "/documents/new/issue",
        depot="ZX",
        county="532322",
        reason="洪涝转移安置",
        **{"lines-item": "TENT-12", "lines-quantity": "2"},
    )
    assert issued.status_code == 302 and "/CK-" in issued.headers["Location"]
    moved = post_form(
        keeper,
        "/documents/new/transfer",
        "/documents/new/transfer",
        from_depot="ZX",
        to_depot="YR",
        reason="汛前预置",
        authority_order="楚应急调〔2026〕1号",
        **{"lines-item": "TENT-12", "lines-lot": "T-ZX-1", "lines-quantity": "3"},
    )
    assert moved.status_code == 302, moved.text
    path = moved.headers["Location"].replace("http://localhost", "")
    page = keeper.get(path).text
    assert "在途" in page and 'id="act-complete"' not in page  # the receiving depot books in
    admin = office.client("admin")
    booked = admin.post(
        path.replace("/view/", "/act/") + "/complete",
        data={"csrf_token": csrf_token(admin.get(path).text)},
        follow_redirects=True,
    )
    assert "已入库" in booked.text.split('id="statusbar"')[1].split("</ul>")[0]
    # A count waits for the drafts holding its lot's stock: the other tests' write-off
    # drafts on R-ZX-1 are sent back first, by the second keeper.
    with open_session(office.world.engine) as session:
        drafts = session.scalars(
            select(StockDocument.number).where(StockDocument.state == "draft")
        ).all()
    for number in drafts:
        with office.world.uow("keeper_zx2") as uow:
            stock.reject(uow, number, reason="盘点前退回")
    counted = post_form(
        keeper,
        "/documents/new/count",
        "/documents/new/count",
        depot="ZX",
        reason="月度盘点",
        **{"lines-item": "RICE-10", "lines-lot": "R-ZX-1", "lines-counted": "90"},
    )
    assert counted.status_code == 302 and "/PD-" in counted.headers["Location"]


def test_a_rotation_through_its_form(office: Office) -> None:
    keeper = office.client("keeper_zx")
    rotated = post_form(
        keeper,
        "/documents/new/rotation",
        "/documents/new/rotation",
        depot="ZX",
        partner="昆明帐篷厂",
        reason="以旧换新",
        **{
            "out_lines-item": "TENT-12",
            "out_lines-lot": "T-ZX-1",
            "out_lines-quantity": "2",
            "in_lines-item": "TENT-12",
            "in_lines-lot": "T-ZX-NEW",
            "in_lines-quantity": "2",
        },
    )
    assert rotated.status_code == 302, rotated.text
    page = keeper.get(rotated.headers["Location"]).text
    assert "T-ZX-NEW" in page and "轮换单" in page


def test_history_shows_local_time_names_and_labels_not_ids(office: Office) -> None:
    with office.world.uow() as uow:
        auth.update_user(uow, "keeper_zx", display_name="张保管")
    page = office.client("keeper_zx").get(f"/documents/view/{office.facts['zx']}").text
    chatter = page[page.index('id="chatter"') :]
    assert "张保管（keeper_zx）" in chatter
    assert "仓库：州级救灾物资储备库（ZX）" in chatter and "类型：入库单" in chatter
    assert "depot_id" not in chatter and "created_by_id" not in chatter
    assert re.search(r"创建时间：\d{4}-\d\d-\d\d \d\d:\d\d；", chatter)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", chatter)  # no raw UTC instants


def test_a_rotation_declares_its_difference_on_the_form(office: Office) -> None:
    client = office.client("keeper_sb")
    expiry = (local_today() + timedelta(days=720)).isoformat()
    rotation = {
        "depot": "SB",
        "partner": "楚雄粮油公司",
        "out_lines-item": "RICE-10",
        "out_lines-lot": "R-SB-1",
        "out_lines-quantity": "10",
        "in_lines-item": "RICE-10",
        "in_lines-lot": "R-SB-ROT",
        "in_lines-quantity": "8",
        "in_lines-expiry_date": expiry,
    }
    undeclared = post_form(client, "/documents/new/rotation", "/documents/new/rotation", **rotation)
    assert undeclared.status_code == 422 and "differences" in undeclared.text
    declared = post_form(
        client,
        "/documents/new/rotation",
        "/documents/new/rotation",
        **rotation,
        **{
            "differences-item": "RICE-10",
            "differences-quantity": "-2",
            "differences-reason": "供货方缺货两袋",
        },
    )
    assert declared.status_code == 302, declared.text
    page = client.get(declared.headers["Location"]).text
    assert "供货方缺货两袋" in page and "R-SB-ROT" in page


def test_a_receipt_paid_from_an_appropriation_needs_both_fields(office: Office) -> None:
    refused = post_form(
        office.client("keeper_sb"),
        "/documents/new/receipt",
        "/documents/new/receipt",
        depot="SB",
        appropriation="XD-2026-000001",
        **{"lines-item": "TENT-12", "lines-lot": "T-SB-PAID", "lines-quantity": "5"},
    )
    assert refused.status_code == 422
    assert "资金下达编号与金额须同时填写" in refused.text and "amount" in refused.text
