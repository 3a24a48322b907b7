"""What the current request or command is attempting, for the audit log.

A refusal (403/401 from the policy checks) is logged as a ``refused`` security entry by the
unit of work; the entry names what was attempted — ``POST /api/v1/scraps/BF-2025-000003/
approve``, ``relief funds appropriate --source …`` — which the adapter that received the
request sets here. A context variable, so threads of one server never see each other's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

MAX_LENGTH = 300

_CURRENT: ContextVar[str | None] = ContextVar("relief_attempt", default=None)


def begin(description: str) -> Token[str | None]:
    return _CURRENT.set(description[:MAX_LENGTH])


def end(token: Token[str | None]) -> None:
    _CURRENT.reset(token)


@contextmanager
def attempting(description: str) -> Iterator[None]:
    token = begin(description)
    try:
        yield
    finally:
        end(token)


def current() -> str | None:
    return _CURRENT.get()
