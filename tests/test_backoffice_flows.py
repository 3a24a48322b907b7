"""Dispatch requests and fund releases in the back office (test client, both databases):
every step through the pages, buttons equal to the steps the service allows, and scope —
a county sees no other county's request or release anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from relief_inventory.allocation.models import DispatchRequest
from relief_inventory.db import open_session
from relief_inventory.funds.models import FundRelease
from tests.backoffice_tools import Office, csrf_token, make_office, office_url, post_form
from tests.conftest import BACKENDS
from tests.factories import file_dispatch_request, receive_basic
from tests.funds_factories import file_release, make_appropriation, make_source


def prepare(world) -> dict:
    receive_basic(world, 100, "ZX")
    source = make_source(world)
    sb_money = make_appropriation(world, source, county="532322")
    yr_money = make_appropriation(world, source, county="532327")
    yr_request = file_dispatch_request(
        world, [{"item": "TENT-12", "quantity": 5}], county="532327", who="dispatcher"
    )
    return {
        "sb_money": sb_money,
        "yr_money": yr_money,
        "yr_release": file_release(world, yr_money, "3400.00", county="532327"),
        "yr_request": yr_request,
    }


@pytest.fixture(scope="module", params=BACKENDS)
def office(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Office]:
    url = office_url(request, tmp_path_factory.mktemp("flows"))
    yield from make_office(url, prepare)


def request_state(office: Office, number: str) -> str:
    with open_session(office.world.engine) as session:
        return session.scalar(select(DispatchRequest.state).where(DispatchRequest.number == number))


def release_state(office: Office, number: str) -> str:
    with open_session(office.world.engine) as session:
        return session.scalar(select(FundRelease.state).where(FundRelease.number == number))


def act(client, path: str, action: str, **data: str):
    page = client.get(path)
    return client.post(
        path.replace("/view/", "/act/") + f"/{action}",
        data={"csrf_token": csrf_token(page.text), **data},
        follow_redirects=True,
    )


def test_a_request_from_filing_to_closing_through_the_pages(office: Office) -> None:
    county = office.client("requester_sb")
    filed = post_form(
        county,
        "/dispatch/new",
        "/dispatch/new",
        county="532322",
        disaster_type="earthquake",
        urgency="urgent",
        people_affected="900",
        reason="地震",
        submit="on",
        form_key="bo-flow-1",
        **{"lines-item": ["TENT-12", "RICE-10"], "lines-quantity": ["10", "8"]},
    )
    assert filed.status_code == 302, filed.text
    path = filed.headers["Location"]
    number = path.rsplit("/", 1)[1]
    page = county.get(path).text
    assert 'id="act-approve"' not in page and 'id="act-cancel"' in page
    dispatcher = office.client("dispatcher")
    assert 'id="act-approve"' in dispatcher.get(path).text
    approved = act(dispatcher, path, "approve", note="同意", allow_other_counties="false")
    assert request_state(office, number) == "allocated", approved.text
    assert "已预留" in approved.text and "打印调拨单" in approved.text
    keeper = office.client("keeper_zx")
    assert 'id="act-dispatch"' in keeper.get(path).text
    assert 'id="act-dispatch"' not in office.client("keeper_sb").get(path).text
    shipped = act(keeper, path, "dispatch")
    assert request_state(office, number) == "dispatched"
    assert "FY-" in shipped.text
    assert keeper.get(f"/dispatch/print/{number}").data.startswith(b"%PDF")
    refused = act(
        county,
        path,
        "receive",
        **{"received:TENT-12": "10", "received:RICE-10": "6", "damaged:RICE-10": "0"},
    )
    assert "须说明原因" in refused.text and request_state(office, number) == "dispatched"
    act(
        county,
        path,
        "receive",
        **{
            "received:TENT-12": "10",
            "received:RICE-10": "6",
            "damaged:RICE-10": "0",
            "note": "途中遗失2袋",
        },
    )
    assert request_state(office, number) == "received"
    act(dispatcher, path, "close", note="结案")
    assert request_state(office, number) == "closed"
    page = keeper.get(path).text
    assert f"/dispatch/return/{number}" in page  # tents are reusable: they may come back
    assert f"/dispatch/return/{number}" not in county.get(path).text
    returned = post_form(
        keeper,
        f"/dispatch/return/{number}",
        f"/dispatch/return/{number}",
        depot="ZX",
        note="验收完好",
        **{"lines-item": "TENT-12", "lines-lot": "T-ZX-1", "lines-available": "4"},
    )
    assert returned.status_code == 302, returned.text
    assert "/documents/view/HS-" in returned.headers["Location"]


def test_a_county_sees_no_other_countys_request_or_release(office: Office) -> None:
    county = office.client("requester_sb")
    for path in (
        f"/dispatch/view/{office.facts['yr_request']}",
        f"/dispatch/print/{office.facts['yr_request']}",
        f"/funds/releases/view/{office.facts['yr_release']}",
        f"/funds/releases/print/{office.facts['yr_release']}",
        f"/funds/appropriations/view/{office.facts['yr_money']}",
    ):
        assert county.get(path).status_code == 404, path
    token = csrf_token(county.get("/").text)
    posted = county.post(
        f"/funds/releases/act/{office.facts['yr_release']}/submit", data={"csrf_token": token}
    )
    assert posted.status_code == 404
    for path in (
        "/dispatch/",
        "/funds/releases/",
        "/funds/appropriations/",
        "/dispatch/export/csv/",
        "/funds/releases/export/csv/",
        "/funds/appropriations/export/csv/",
        "/funds/releases/new",
        "/dispatch/new",
    ):
        page = county.get(path).text
        assert "永仁县" not in page, path
        assert office.facts["yr_release"] not in page and office.facts["yr_money"] not in page
    assert county.get("/funds/sources/").status_code == 403


def test_a_release_needs_three_people_and_the_buttons_say_so(office: Office) -> None:
    county = office.client("requester_sb")
    filed = post_form(
        county,
        "/funds/releases/new",
        "/funds/releases/new",
        appropriation=office.facts["sb_money"],
        purpose="living_aid",
        amount="1200.00",
        beneficiaries="6",
        evidence="花名册",
        submit="on",
    )
    assert filed.status_code == 302, filed.text
    path = filed.headers["Location"]
    number = path.rsplit("/", 1)[1]
    assert 'id="act-verify"' not in county.get(path).text
    finance = office.client("finance")
    act(finance, path, "verify", note="已核对")
    assert release_state(office, number) == "verified"
    own = finance.get(path).text
    assert 'id="act-approve"' not in own  # the verifier may not approve
    refused = act(finance, path, "approve")
    assert "职责分离" in refused.text and release_state(office, number) == "verified"
    act(office.client("finance2"), path, "approve")
    assert release_state(office, number) == "approved"
    paid = act(finance, path, "release", payment_reference="国库集中支付 0001")
    assert release_state(office, number) == "released"
    assert "打印拨付通知" in paid.text
    assert 'id="act-reverse"' not in county.get(path).text
    proposed = act(office.client("finance2"), path, "reverse", reason="重复拨付")
    assert "资金冲销单" in proposed.text and 'id="act-approve"' not in proposed.text
    reversal = proposed.text.split('id="doc-number">')[1].split("<")[0]
    payer = office.client("finance").get(f"/funds/reversals/view/{reversal}").text
    assert 'id="act-approve"' not in payer  # the payer may not approve undoing the payment
    act(office.client("admin"), f"/funds/reversals/view/{reversal}", "approve")
    assert "已冲销" in county.get(path).text


def test_bad_money_on_the_form_gets_the_services_message(office: Office) -> None:
    finance = office.client("finance")
    response = post_form(
        finance,
        "/funds/releases/new",
        "/funds/releases/new",
        appropriation=office.facts["yr_money"],
        purpose="other",
        amount="12.345",
    )
    assert response.status_code == 422 and "amount" in response.text
    source = post_form(
        finance,
        "/funds/sources/new",
        "/funds/sources/new",
        level="central",
        kind="winter_spring",
        year="2024",
        document_number="云财社〔2024〕99号",
        amount="1e6",
    )
    assert source.status_code == 422


def test_sources_and_appropriations_are_reversed_from_their_pages(office: Office) -> None:
    source = make_source(office.world, "5000.00")
    money = make_appropriation(office.world, source, "2000.00")
    finance, county = office.client("finance"), office.client("requester_sb")
    path, source_path = f"/funds/appropriations/view/{money}", f"/funds/sources/view/{source}"
    assert 'id="act-reverse"' in finance.get(path).text
    assert 'id="act-reverse"' not in county.get(path).text
    refused = act(county, path, "reverse", reason="不该由县里冲销")
    assert "无权执行此操作" in refused.text and "资金冲销单" not in refused.text
    blocked = act(finance, source_path, "reverse", reason="录入错误")
    assert "须先冲销其下达" in blocked.text  # the service's reason, on the source's page
    proposed = act(finance, path, "reverse", reason="下达县市错误")
    assert "资金冲销单" in proposed.text
    reversal = proposed.text.split('id="doc-number">')[1].split("<")[0]
    pending = finance.get(path).text
    assert f"冲销待审批（{reversal}）" in pending and 'id="act-reverse"' not in pending
    act(office.client("finance2"), f"/funds/reversals/view/{reversal}", "approve")
    assert "已冲销" in finance.get(path).text
    again = act(finance, source_path, "reverse", reason="录入错误")
    assert "资金冲销单" in again.text  # nothing appropriated any more: it may go
