"""The back office at ``/``: login, CSRF, roles, scope of every list, the home pages.

One small world per backend for the module (``tests.backoffice_tools``); tests that act
make their own documents, so they do not depend on each other's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relief_inventory.stock import services as stock
from tests.backoffice_tools import Office, csrf_token, login, make_office, office_url
from tests.conftest import BACKENDS
from tests.factories import file_dispatch_request, receive_basic
from tests.funds_factories import file_release, make_appropriation, make_source

ROLES = ["keeper_zx", "dispatcher", "requester_sb", "finance", "auditor", "admin"]


def prepare(world) -> dict:
    zx = receive_basic(world, 100, "ZX")
    sb = receive_basic(world, 50, "SB")
    with world.uow("keeper_zx") as uow:
        scrap = stock.propose_scrap(
            uow,
            depot="ZX",
            reason="受潮霉变",
            lines=[{"item": "RICE-10", "lot": "R-ZX-1", "quantity": 2}],
        ).number
    request = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 10}])
    source = make_source(world)
    sb_money = make_appropriation(world, source, county="532322")
    yr_money = make_appropriation(world, source, county="532327")
    release = file_release(world, sb_money, "1200.00")
    yr_release = file_release(world, yr_money, "3400.00", county="532327")
    return {
        "zx": zx,
        "sb": sb,
        "scrap": scrap,
        "request": request,
        "source": source,
        "sb_money": sb_money,
        "yr_money": yr_money,
        "release": release,
        "yr_release": yr_release,
    }


@pytest.fixture(scope="module", params=BACKENDS)
def office(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Office]:
    url = office_url(request, tmp_path_factory.mktemp("office"))
    yield from make_office(url, prepare)


# -- signing in ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(office: Office) -> None:
    client = office.client()
    for path in ("/", "/moves/", "/audit/", "/quants/export/csv/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login")


def test_login_page_is_chinese_with_secure_headers(office: Office) -> None:
    page = office.client().get("/login")
    assert page.status_code == 200
    assert "后台登录" in page.text and "用户名" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_login_sets_a_fresh_httponly_session_and_logout_ends_it(office: Office) -> None:
    client = office.client()
    response = login(client, "keeper_zx")
    cookie = response.headers["Set-Cookie"]
    assert "relief_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # a permanent session with its lifetime
    home = client.get("/")
    assert home.status_code == 200 and "工作台" in home.text
    logout = client.post("/logout", data={"csrf_token": csrf_token(home.text)})
    assert logout.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_the_services_message(office: Office) -> None:
    client = office.client()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(page.text), "username": "keeper_zx", "password": "nope"},
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/").status_code == 302


def test_posts_without_csrf_token_are_refused(office: Office) -> None:
    client = office.client()
    refused = client.post("/login", data={"username": "keeper_zx", "password": "x"})
    assert refused.status_code == 400
    login(client, "keeper_zx")
    for path in ("/logout", "/moves/delete/", "/locale/en"):
        response = client.post(path, data={"id": "1"})
        assert response.status_code == 400, path
        assert "CSRF" in response.text
    assert client.get("/").status_code == 200  # still signed in: the logout was refused


def test_open_redirect_after_login_is_not_followed(office: Office) -> None:
    client = office.client()
    page = client.get("/login?next=//evil.example/")
    response = client.post(
        "/login?next=//evil.example/",
        data={
            "csrf_token": csrf_token(page.text),
            "username": "auditor",
            "password": "correct-horse-1",
        },
    )
    assert response.headers["Location"] == "/"


def test_english_is_chosen_per_user_stored_on_the_user_and_chinese_is_the_default(
    office: Office,
) -> None:
    client = office.client("keeper_sb")
    page = client.get("/")
    assert "工作台" in page.text and "库存单据" in page.text  # Chinese by default
    assert "列表" in client.get("/moves/").text  # Flask-Admin's own strings too
    switched = client.post("/locale/en", data={"csrf_token": csrf_token(page.text), "next": "/"})
    assert switched.headers["Location"] == "/"
    home = client.get("/").text
    assert "Depot keeper" in home and "Stock documents" in home and "工作台" not in home
    sheet = client.get(f"/documents/view/{office.facts['sb']}").text
    assert "History (audit log)" in sheet and "Receipt" in sheet and "Depot: " in sheet
    assert "List" in client.get("/moves/").text
    # stored on the user: it survives logging out (the login page too) and in again
    client.post("/logout", data={"csrf_token": csrf_token(home)})
    assert "Sign in" in client.get("/login").text
    fresh = office.client("keeper_sb")
    again = fresh.get("/").text
    assert "Depot keeper" in again
    assert "工作台" in office.client("keeper_zx").get("/").text  # another user: Chinese
    token = csrf_token(again)
    fresh.post("/locale/fr", data={"csrf_token": token, "next": "/"})
    assert "语言须为" in fresh.get("/").text  # the service's refusal, nothing changed
    assert "Depot keeper" in fresh.get("/").text
    fresh.post("/locale/zh_Hans_CN", data={"csrf_token": token, "next": "/"})
    assert "工作台" in fresh.get("/").text


def test_every_string_marked_for_translation_has_its_english() -> None:
    """The catalogue is edited by hand (``make translations`` compiles it): a string marked
    in a template or an admin module, or a service label the pages show, that has no
    English fails here, as does a committed ``messages.mo`` older than its ``.po`` and an
    entry that nothing marks any more."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    from relief_inventory.allocation.models import DisasterType, RequestState, Urgency
    from relief_inventory.auth.actor import Role
    from relief_inventory.funds import models as funds
    from relief_inventory.readiness.standards import Basis
    from relief_inventory.stock.models import DocKind, DocState, LotStatus
    from reports.catalog import LABELS

    folder = Path(__file__).parents[1] / "relief_inventory" / "translations/en/LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("rb") as mo:
        written, compiled = read_po(po), read_mo(mo)
    english = {m.id: m.string for m in written if m.id}
    assert english == {m.id: m.string for m in compiled if m.id}
    root = Path(__file__).parents[1]
    marked = {
        found[2]
        for found in extract_from_dir(
            root,
            method_map=[
                ("relief_inventory/admin/**.py", "python"),
                ("relief_inventory/admin/templates/**.html", "jinja2"),
            ],
            keywords={"_": None, "_l": None},
        )
    }
    tables = (DocState, DocKind, LotStatus, RequestState, Urgency, DisasterType, Role)
    tables += (funds.ReleaseState, funds.Purpose, funds.FundLevel, funds.FundKind)
    tables += (funds.ReversalTarget, funds.RequestState, Basis)
    labels = {text for table in tables for text in table.LABELS.values()} | set(LABELS.values())
    missing = sorted(text for text in marked | labels if not english.get(text))
    assert not missing, missing
    assert not sorted(set(english) - marked - labels)  # nothing no page shows any more


# -- what each role may open ------------------------------------------------------------------


@pytest.mark.parametrize("username", ROLES)
def test_every_role_has_a_home_page_with_a_chart(office: Office, username: str) -> None:
    page = office.client(username).get("/")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "<script>" not in page.text.split("</nav>")[1].split("<script src")[0]


def test_audit_log_is_for_auditors_only(office: Office) -> None:
    assert office.client("keeper_zx").get("/audit/").status_code == 403
    assert office.client("requester_sb").get("/audit/").status_code == 403
    page = office.client("auditor").get("/audit/")
    assert page.status_code == 200 and "审计日志" in page.text


def test_ledger_cannot_be_written_through_flask_admin(office: Office) -> None:
    client = office.client("admin")
    page = client.get("/moves/")
    assert "/moves/new/" not in page.text and "/moves/edit/" not in page.text
    assert "/moves/delete/" not in page.text and "删除所选" not in page.text
    token = csrf_token(client.get("/").text)
    before = client.get("/moves/export/csv/").text
    for path in ("/moves/delete/", "/moves/new/", "/moves/action/", "/audit/delete/"):
        client.post(path, data={"csrf_token": token, "id": "1", "action": "delete", "rowid": "1"})
    assert client.get("/moves/export/csv/").text == before


# -- scope ---------------------------------------------------------------------------------


def test_keeper_sees_only_their_depots_in_lists_filters_details_and_exports(
    office: Office,
) -> None:
    client = office.client("keeper_sb")
    moves = client.get("/moves/").text
    assert office.facts["sb"] in moves and office.facts["zx"] not in moves
    assert "州级救灾物资储备库（ZX）" not in moves  # not even in the depot filter
    export = client.get("/moves/export/csv/").text
    assert office.facts["sb"] in export and office.facts["zx"] not in export
    quants = client.get("/quants/export/csv/").text
    assert "双柏县" in quants and "州级救灾物资储备库" not in quants
    # a move of ZX by its id: not found, as if it did not exist
    admin_export = office.client("admin").get("/moves/export/csv/").text
    zx_rows = [line for line in admin_export.splitlines() if office.facts["zx"] in line]
    zx_id = zx_rows[0].split(",")[0]
    detail = client.get(f"/moves/details/?id={zx_id}")
    assert detail.status_code == 302 or office.facts["zx"] not in detail.text
    assert (
        office.facts["zx"]
        not in client.get(f"/moves/details/?id={zx_id}", follow_redirects=True).text
    )


def test_requester_sees_no_other_county_anywhere(office: Office) -> None:
    client = office.client("requester_sb")
    for path in ("/moves/", "/quants/", "/lots/", "/reservations/", "/"):
        page = client.get(path).text
        assert "州级救灾物资储备库（ZX）" not in page, path
        assert "永仁县救灾物资储备库" not in page, path
        assert office.facts["zx"] not in page, path
    for path in ("/moves/export/csv/", "/quants/export/csv/", "/lots/export/csv/"):
        export = client.get(path).text
        assert "州级救灾物资储备库" not in export and "R-ZX-1" not in export, path


def test_filters_by_depot_item_and_day(office: Office) -> None:
    client = office.client("admin")
    by_depot = client.get("/moves/?flt0_0=SB").text
    assert office.facts["sb"] in by_depot and office.facts["zx"] not in by_depot
    by_item = client.get("/moves/export/csv/?flt1_1=GEN-5").text
    assert office.facts["sb"] not in by_item
    bad_day = client.get("/moves/?flt2_2=2025-02-30")
    assert bad_day.status_code == 200
    assert client.get(f"/moves/?search={office.facts['zx']}").text.count(office.facts["zx"]) >= 2


def test_api_and_verify_keep_answering_json_and_pages(office: Office) -> None:
    client = office.client()
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    assert client.get("/api/v1/me").json["code"] == "unauthenticated"
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/verify").status_code == 200
    assert (
        client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code
        == 401
    )


def test_api_docs_are_served_locally(office: Office) -> None:
    client = office.client()
    page = client.get("/api/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    assert b"/api/openapi.json" in client.get("/api/docs/local/apidocs.js").data


def test_malformed_ids_and_filters_never_fail(office: Office) -> None:
    client = office.client("admin")
    for path in (
        "/moves/details/?id=abc",
        "/moves/details/?id=99999999999999999999999",
        "/audit/details/?id=-1",
        "/moves/?flt0_0=%00",
        "/documents/view/" + "X" * 40,
        "/documents/view/%3Cscript%3E",
    ):
        assert client.get(path).status_code in (200, 302, 404), path


def test_clients_that_do_not_accept_html_get_the_json_error_shape(office: Office) -> None:
    probe = office.app.test_client()
    missing = probe.get("/nowhere")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    browser = office.client()
    page = browser.get("/nowhere")
    assert page.status_code == 404 and "页面不存在" in page.text


def test_a_lots_moves_are_one_click_away(office: Office) -> None:
    client = office.client("keeper_zx")
    lots = client.get("/lots/?search=R-ZX-1").text
    assert "/moves/?search=R-ZX-1" in lots
    moves = client.get("/moves/?search=R-ZX-1").text
    assert office.facts["zx"] in moves and office.facts["sb"] not in moves


def test_reports_export_as_pdf_and_excel_with_the_apis_read_rules(office: Office) -> None:
    keeper = office.client("keeper_zx")
    page = keeper.get("/reports/")
    assert page.status_code == 200 and "库存台账" in page.text
    token = csrf_token(page.text)
    pdf = keeper.post("/reports/", data={"csrf_token": token, "report": "stock", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    xlsx = keeper.post(
        "/reports/", data={"csrf_token": token, "report": "expiry", "format": "xlsx", "days": "90"}
    )
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    refused = keeper.post(
        "/reports/", data={"csrf_token": token, "report": "funds", "format": "pdf"}
    )
    assert refused.status_code == 200 and "无权" in refused.text  # finance, audit, admin only
    bad = keeper.post(
        "/reports/", data={"csrf_token": token, "report": "expiry", "format": "pdf", "days": "9x"}
    )
    assert "days" in bad.text
