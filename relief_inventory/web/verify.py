"""``/verify/<code>``: does this printed paper still match the record? No login needed.

The page is for a county receiver holding the paper and a phone: one small Chinese page
saying "matches" or "does not match", what changed, and the paper's main content to hold
against the sheet. It shows nothing the paper does not already show. Any code, however
malformed, gets a page (404 for nonsense), never a server error.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from relief_inventory.db import open_session
from relief_inventory.errors import NotFound
from reports.papers import Letterhead
from reports.render import html
from reports.verify import Status, summary, verify_code

bp = Blueprint("verify", __name__)
MAX_CODE = 80


def _page(status: int, **context: object) -> tuple[str, int, dict[str, str]]:
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    return html("verify.html", **context), status, headers


@bp.get("/verify")
def ask() -> Response | tuple[str, int, dict[str, str]]:
    """A form to type a code in (or ``?code=``, redirected to the code's page)."""
    code = (request.args.get("code") or "").strip()
    if code and len(code) <= MAX_CODE and "\x00" not in code:
        return redirect(url_for("verify.check", code=code.upper()))
    return _page(200, result=None, error=None, summary=None, Status=Status)


@bp.get("/verify/<path:code>")
def check(code: str) -> tuple[str, int, dict[str, str]]:
    settings = current_app.config["RELIEF_SETTINGS"]
    letterhead = Letterhead(settings.authority, settings.notice_prefix)
    try:
        if len(code) > MAX_CODE:
            raise NotFound("核验码格式不正确", field="code")
        with open_session(current_app.extensions["relief_engine"]) as session:
            result = verify_code(session, settings.secret_key, letterhead, code)
    except NotFound as error:
        return _page(404, result=None, error=error.message, summary=None, Status=Status)
    shown = summary(result.paper) if result.paper else None
    return _page(200, result=result, error=None, summary=shown, Status=Status)
