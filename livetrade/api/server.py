"""Serving the app from the running event loop: uvicorn as a task, bound by us, exposed
beyond loopback only with a token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import Any

import uvicorn

from livetrade.api.routes import PREFIX, create_app
from livetrade.engine import LiveTradingEngine
from livetrade.errors import InvalidInput
from livetrade.net import is_loopback_host
from livetrade.session import Session

log = logging.getLogger("livetrade.api")


is_loopback = is_loopback_host  # the name livetrade.api has always exported


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token (raises ``InvalidInput``)."""
    if token is not None and not token:
        raise InvalidInput("token", "must not be empty")
    if token is None and not is_loopback(host):
        raise InvalidInput(
            "token",
            f"binding {host!r} exposes the API beyond this machine; give a token "
            "(clients then send 'Authorization: Bearer <token>')",
        )


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves: errors surface here as ``OSError`` (uvicorn would
    ``sys.exit`` inside the loop), and port 0 gives a free port we can report."""
    addr = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
    infos = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _InLoopServer(uvicorn.Server):
    """uvicorn's server minus its signal handlers: in a kernel, Ctrl-C/interrupt belongs to the
    kernel, and in ``livetrade serve`` the CLI handles SIGINT/SIGTERM itself."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class ApiServer:
    """A uvicorn server running as a task in this loop. ``await server.stop()`` ends it;
    ``await server`` waits until it ends."""

    def __init__(
        self, server: _InLoopServer, task: asyncio.Task[None], host: str, port: int
    ) -> None:
        self._server = server
        self.task = task
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return not self.task.done()

    async def stop(self) -> None:
        """Stop accepting, finish the requests in flight, close (idempotent)."""
        self._server.should_exit = True
        if not self.task.done():
            await asyncio.wait({self.task})
        if not self.task.cancelled() and self.task.exception() is not None:
            log.warning("API server ended with %r", self.task.exception())

    def __await__(self) -> Generator[Any, None, None]:
        return self.task.__await__()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"ApiServer({self.url}, {state})"


async def serve_api(
    session: Session | LiveTradingEngine,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    *,
    allow_update_price: bool = True,
    access_log: bool = True,
) -> ApiServer:
    """Serve the API for ``session`` from the running loop (a kernel's, or ``asyncio.run``'s).

    Returns once the port is bound and the server accepts connections; ``port=0`` picks a free
    port (see ``.port``/``.url``). A non-loopback ``host`` requires ``token``. uvicorn's logs go
    to the ``uvicorn`` loggers without reconfiguring logging (the kernel's logging stays as is).
    """
    check_exposure(host, token)
    app = create_app(session, token=token, allow_update_price=allow_update_price)
    sock = _bind(host, port)
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host=host,
        port=bound_port,
        lifespan="off",
        log_config=None,
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = _InLoopServer(config)
    task = asyncio.get_running_loop().create_task(
        server.serve(sockets=[sock]), name=f"livetrade:api:{bound_port}"
    )
    ready = asyncio.ensure_future(server.ready.wait())
    try:
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
    if task.done():
        sock.close()
        task.result()  # raises what stopped it
        raise RuntimeError("the API server stopped during startup")
    log.info("livetrade API on http://%s:%d%s", host, bound_port, PREFIX)
    return ApiServer(server, task, host, bound_port)
