"""The API's shared behaviour: OpenAPI, login, bearer tokens, the error shape."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, build_world


@pytest.fixture
def world(app):
    return build_world(app.extensions["relief_engine"])


def test_openapi_document_is_public(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json["info"]["version"] == "v1"
    assert "/api/v1/auth/token" in response.json["paths"]


def test_login_returns_a_token_and_bad_password_is_401(client, world):
    ok = client.post("/api/v1/auth/token", json={"username": "finance", "password": PASSWORD})
    assert ok.status_code == 201
    assert ok.json["token"].startswith("rlf_")
    bad = client.post("/api/v1/auth/token", json={"username": "finance", "password": "wrong"})
    assert bad.status_code == 401
    assert bad.json["code"] == "unauthenticated"
    assert set(bad.json) == {"code", "status", "message", "errors", "request_id"}


def test_validation_errors_name_the_field(client, world):
    response = client.post("/api/v1/auth/token", json={"username": "finance"})
    assert response.status_code == 422
    assert response.json["code"] == "invalid"
    assert "password" in response.json["errors"]


def test_malformed_json_is_400_not_500(client, world):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
