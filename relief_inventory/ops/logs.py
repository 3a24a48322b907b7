"""JSON-lines logs with the id of the request being served on every line.

The id lives in a context variable set when a request starts (``X-Request-ID`` from a
trusted proxy if it looks sane, else a fresh one), so every logger — ours, SQLAlchemy's,
waitress's — writes it without being handed it, and error bodies carry the same id: an
operator given the id from a user's screen finds every line of that request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str | None] = ContextVar("relief_request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# LogRecord attributes that are not the caller's ``extra`` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def new_request_id(offered: str | None = None) -> str:
    """The proxy's id when it is a plain token (never echo arbitrary header text into
    logs), otherwise 32 hex digits."""
    if offered and _SANE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, the
    caller's ``extra`` fields, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Route every logger of the process through one JSON-lines handler (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "relief_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.relief_json = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonLines())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
