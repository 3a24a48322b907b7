"""Production serving: settings, request ids, JSON logs, health and readiness, limits,
503 for a database that is locked or away, and slow clients that cannot starve others."""

from __future__ import annotations

import io
import json
import socket
import sqlite3
import time
import urllib.request

import pytest

from relief_inventory.app import create_app
from relief_inventory.config import ConfigError, Settings
from relief_inventory.ops.logs import configure_logging
from relief_inventory.ops.schema import head_revision
from tests.ops_tools import relief, serving


def test_health_ready_request_ids_headers_and_body_limit(client) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "revision": head_revision()}

    echoed = client.get("/api/v1/nowhere", headers={"X-Request-ID": "proxy-id-0001"})
    assert echoed.status_code == 404
    assert echoed.headers["X-Request-ID"] == "proxy-id-0001"
    assert echoed.json["request_id"] == "proxy-id-0001"
    assert echoed.json["code"] == "not_found"
    hostile = client.get("/api/v1/nowhere", headers={"X-Request-ID": "x\u2028<script>"})
    assert hostile.json["request_id"] != "x\u2028<script>"
    assert len(hostile.json["request_id"]) == 32

    for name in ("X-Frame-Options", "X-Content-Type-Options", "Content-Security-Policy"):
        assert name in ready.headers
    assert "frame-ancestors 'none'" in ready.headers["Content-Security-Policy"]

    big = client.post(
        "/api/v1/auth/token", data=b"{" * (3 * 1024 * 1024), content_type="application/json"
    )
    assert big.status_code == 413
    assert big.json["code"] == "too_large" and big.json["status"] == 413
    assert big.json["request_id"] == big.headers["X-Request-ID"]


def test_production_refuses_the_development_secret(tmp_path) -> None:
    with pytest.raises(ConfigError, match="RELIEF_SECRET_KEY"):
        create_app(Settings.from_env(database_url="sqlite://", env="production"))
    result = relief("serve", db_url="sqlite://", RELIEF_ENV="production", RELIEF_SECRET_KEY="")
    assert result.returncode == 2 and "RELIEF_SECRET_KEY" in result.stderr


def test_missing_sqlite_file_is_refused_not_created(tmp_path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(ConfigError, match="relief init-db"):
        create_app(Settings.from_env(database_url=f"sqlite:///{missing}"))
    assert not missing.exists()


def test_json_logs_carry_the_request_id(client) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        response = client.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
    finally:
        configure_logging("WARNING")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "relief.access"]
    assert access and access[-1]["request_id"] == "trace-me-42"
    assert access[-1]["status"] == 200 and access[-1]["path"] == "/healthz"
    assert response.headers["X-Request-ID"] == "trace-me-42"


def test_sqlite_lock_past_the_timeout_is_503_with_retry_after(sqlite_template, tmp_path) -> None:
    path = tmp_path / "locked.db"
    path.write_bytes(sqlite_template.read_bytes())
    app = create_app(Settings.from_env(database_url=f"sqlite:///{path}", lock_timeout=0.2))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        answer = app.test_client().post(
            "/api/v1/auth/token", json={"username": "nobody", "password": "wrong-password"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        app.extensions["relief_engine"].dispose()
    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    assert answer.json["code"] == "unavailable" and answer.json["request_id"]


def test_unreachable_database_is_503_and_not_ready() -> None:
    app = create_app(Settings.from_env(database_url="postgresql://postgres@127.0.0.1:9/none"))
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    listing = client.get("/api/v1/me", headers={"Authorization": "Bearer abc"})
    assert listing.status_code == 503 and listing.json["code"] == "unavailable"
    assert client.get("/healthz").status_code == 200


def _slow_client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    return sock


def test_200_slow_clients_do_not_starve_a_normal_request(sqlite_template, tmp_path) -> None:
    path = tmp_path / "serve.db"
    path.write_bytes(sqlite_template.read_bytes())
    limits = {"RELIEF_HEADER_TIMEOUT": "3", "RELIEF_WORKERS": "4", "RELIEF_PROCESSES": "2"}
    with serving(f"sqlite:///{path}", **limits) as base:  # two processes, one socket
        port = int(base.rsplit(":", 1)[1])
        slow = [_slow_client(port) for _ in range(200)]
        try:
            for _ in range(4):  # each keeps trickling a header line: never idle
                for sock in slow:
                    sock.sendall(b"X-Slow: 1\r\n")
                body = urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                assert json.loads(body) == {"status": "ok"}
                time.sleep(0.5)
            # past the header deadline the server has closed every trickler
            time.sleep(3)
            closed = 0
            for sock in slow:
                sock.settimeout(3)
                try:
                    data = sock.recv(4096)
                    closed += data == b"" or data.startswith(b"HTTP/1.1 4")
                except OSError:
                    closed += 1
            assert closed == len(slow)
        finally:
            for sock in slow:
                sock.close()
