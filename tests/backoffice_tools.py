"""Helpers for the back-office tests: a shared small world per backend, logging in
through the real form with its CSRF token."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine
from tests.conftest import _clean_pg, pg_schema_url
from tests.factories import PASSWORD, World, build_world

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Office:
    """A migrated database with the factories' world, and an app serving it."""

    world: World
    app: Flask
    facts: dict[str, Any]

    def client(self, username: str | None = None) -> FlaskClient:
        """A browser's client: it accepts HTML, so errors come as pages (not JSON)."""
        client = self.app.test_client()
        client.environ_base["HTTP_ACCEPT"] = "text/html,application/xhtml+xml,*/*;q=0.8"
        if username is not None:
            login(client, username)
        return client


def office_url(request: pytest.FixtureRequest, tmp: Path) -> str:
    if request.param == "sqlite":
        path = tmp / "office.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = pg_schema_url(request.getfixturevalue("pg_schema"))
        engine = make_engine(url)
        _clean_pg(engine)
        engine.dispose()
    engine = make_engine(url)
    init_database(engine)
    engine.dispose()
    return url


def make_office(url: str, prepare: Any) -> Iterator[Office]:
    from relief_inventory.app import create_app
    from relief_inventory.config import Settings

    engine = make_engine(url)
    world = build_world(engine)
    facts = prepare(world)
    app = create_app(Settings.from_env(database_url=url))
    app.config["TESTING"] = True
    yield Office(world, app, facts)
    app.extensions["relief_engine"].dispose()
    engine.dispose()


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(page.text), "username": username, "password": password},
    )
    assert response.status_code == 302, response.text
    return response


def post_form(client: FlaskClient, page_url: str, action_url: str, **data: Any) -> Any:
    """Post a form as a browser would: with the token the page carried."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action_url, data={"csrf_token": csrf_token(page.text), **data})
