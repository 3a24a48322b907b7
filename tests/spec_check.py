"""Validating an answer against the OpenAPI document the app serves (for the hand-written
fuzz and walk tests; tests/test_api_fuzz.py lets schemathesis do it).

The document is read once from an app whose database is never opened (building it needs
none). An error must also be in Chinese, the staff's language.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import schemathesis

from relief_inventory.app import create_app
from relief_inventory.config import Settings

CJK = re.compile("[\u4e00-\u9fff]")
ERROR_KEYS = {"code", "status", "message", "errors", "request_id"}


@cache
def _schema() -> Any:
    app = create_app(Settings.from_env(database_url="sqlite://"))
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def validate_answer(method: str, path: str, response: Any) -> None:
    """The answer is one the document declares for this route (any method of it, when the
    method is not the route's: then it is the common error); errors are in Chinese."""
    schema = _schema()
    route = path.split("?")[0]
    candidates = (schema.find_operation_by_path(m, route) for m in (method, "GET", "POST"))
    operation = next((found for found in candidates if found is not None), None)
    if operation is not None:
        operation.validate_response(response)
    else:  # no route as written (``…//approve``): the framework's 404/405, common shape
        assert response.status_code in (404, 405), response.status_code
    if response.status_code >= 400:
        body = response.json
        assert set(body) == ERROR_KEYS and body["status"] == response.status_code, body
        assert CJK.search(body["message"]), body
        assert all(CJK.search(m) for ms in body["errors"].values() for m in ms), body
