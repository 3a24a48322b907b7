"""Helpers for the operations tests: a real ``relief serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RELIEF = str(Path(sys.executable).with_name("relief"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def relief_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "RELIEF_DATABASE_URL": db_url, "RELIEF_LOG_LEVEL": "WARNING"}
    env.update(extra)
    return env


def relief(*args: str, db_url: str, timeout: float = 300, **extra: str):
    """Run the ``relief`` command line; returns the CompletedProcess (never raises)."""
    return subprocess.run(
        [RELIEF, *args],
        env=relief_env(db_url, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def serving(db_url: str, **extra: str) -> Iterator[str]:
    """``relief serve`` on a free port until the block ends; yields its base URL."""
    port = free_port()
    env = relief_env(db_url, RELIEF_PORT=str(port), **extra)
    process = subprocess.Popen(
        [RELIEF, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"relief serve did not start: {process.stderr.read().decode()[-2000:]}"
                    ) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def books_balance(db_url: str, head: str | None = None) -> None:
    """``relief check``, ``relief audit verify [--head]`` and ``relief funds reconcile``
    all pass on the database."""
    from click.testing import CliRunner

    from relief_inventory.cli import main

    verify = ["audit", "verify", *(["--head", head] if head else [])]
    for args in (["check"], verify, ["funds", "reconcile"]):
        result = CliRunner().invoke(main, args, env={"RELIEF_DATABASE_URL": db_url})
        assert result.exit_code == 0, (args, result.output[-3000:])


def api(base: str, method: str, path: str, body: object = None, token: str | None = None):
    """A JSON request to a running server; returns (status, parsed body)."""
    import json

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}/api/v1{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def login(base: str, username: str, password: str) -> str:
    status, body = api(base, "POST", "/auth/token", {"username": username, "password": password})
    assert status == 201, body
    return body["token"]


def relief_here(*args: str, db_url: str):
    """``relief`` in this process (no interpreter start-up): returns an object with the
    ``returncode``, ``stdout`` and ``stderr`` of a CompletedProcess."""
    from types import SimpleNamespace

    from click.testing import CliRunner

    from relief_inventory.cli import main

    result = CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": db_url})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)
