"""``relief serve``: waitress with limits sized so that hostile or broken clients cannot
take the server away from everyone else.

waitress reads requests on one event-loop thread and hands only complete requests to its
worker threads, so slow clients cost a socket, not a worker. Its defaults still let a few
of them win: 100 connections in all (then it stops accepting, and every new client waits),
and an idle timeout that any byte resets, so a client sending one header line every few
seconds holds its connection forever. Here the connection limit is high (sockets are
cheap; the worker threads are the scarce part), and a request whose headers are not
complete within ``header_timeout`` seconds of its first byte is closed, however busily it
trickles. Bodies over the limit are refused by the application (413, common shape) from
their Content-Length, and by waitress itself when they come chunked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

from relief_inventory.config import Settings

MAX_HEADER_BYTES = 64 * 1024


class _TimedParser(HTTPRequestParser):
    """Remembers when the request's first byte arrived."""

    def __init__(self, adj: Any):
        super().__init__(adj)
        self.started = time.monotonic()


class _Channel(HTTPChannel):
    parser_class = _TimedParser


def _close_slow_headers(server: Any, header_timeout: float) -> None:
    """Extend the server's periodic maintenance (run from its event loop) with the header
    deadline."""
    idle_maintenance = server.maintenance

    def maintenance(now: float) -> None:
        idle_maintenance(now)
        cutoff = time.monotonic() - header_timeout
        for channel in list(server.active_channels.values()):
            request = channel.request
            if (
                request is not None
                and not request.headers_finished
                and getattr(request, "started", cutoff) < cutoff
            ):
                server.logger.info("closing a connection slow to send its headers")
                channel.will_close = True

    server.maintenance = maintenance


def waitress_options(settings: Settings) -> dict[str, Any]:
    return {
        "threads": settings.threads,
        "connection_limit": settings.connection_limit,
        "channel_timeout": settings.channel_timeout,
        "cleanup_interval": max(1, min(settings.header_timeout, settings.channel_timeout) // 2),
        "max_request_header_size": MAX_HEADER_BYTES,
        # chunked bodies have no Content-Length for the application to refuse up front
        "max_request_body_size": settings.max_body_bytes + MAX_HEADER_BYTES,
        "backlog": 1024,
        "asyncore_use_poll": True,  # select() stops at 1024 descriptors
        "ident": "relief",
        "clear_untrusted_proxy_headers": False,
    }


def build_server(app: Any, settings: Settings, host: str, port: int, sock: Any = None) -> Any:
    where = {"sockets": [sock]} if sock is not None else {"host": host, "port": port}
    server = create_server(app, **where, **waitress_options(settings))
    server.channel_class = _Channel
    _close_slow_headers(server, settings.header_timeout)
    return server


def serve(app: Any, settings: Settings, host: str, port: int) -> None:
    """One waitress process, or with ``RELIEF_PROCESSES`` > 1 that many forked ones
    sharing one listening socket: each has its own threads, GIL and database pool, so a
    many-core machine is used by Python code, not only by the database."""
    if settings.processes <= 1:
        build_server(app, settings, host, port).run()
        return
    listener = socket.create_server((host, port), backlog=1024, reuse_port=False)
    listener.setblocking(False)
    children: list[int] = []
    for _ in range(settings.processes):
        pid = os.fork()
        if pid == 0:  # the child: connections are never shared across a fork
            try:
                for key in ("relief_engine", "relief_replica_engine"):
                    if key in app.extensions:
                        app.extensions[key].dispose(close=False)
                build_server(app, settings, host, port, sock=listener).run()
            finally:
                os._exit(0)
        children.append(pid)

    def stop(_signum: int, _frame: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        os.waitpid(pid, 0)
