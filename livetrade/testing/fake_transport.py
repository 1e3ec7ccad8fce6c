"""Transports for :class:`~livetrade.testing.fake_rest.FakeFyersRest`: an ``httpx.MockTransport``
(no sockets) and a threaded HTTP/1.1 server on loopback (for synchronous clients)."""

from __future__ import annotations

import http
import http.server
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from livetrade.testing.fake_rest import FakeFyersRest

__all__ = ["ThreadedFakeServer", "mock_transport"]


def mock_transport(fake: FakeFyersRest) -> httpx.MockTransport:
    """An ``httpx.MockTransport`` serving ``fake`` (no sockets). A dropped answer raises
    ``httpx.ReadTimeout``, as the client would see it; a ``delay`` at least the request's
    read timeout does the same, without waiting."""
    import asyncio

    import httpx

    async def handler(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        target = request.url.raw_path.decode("ascii")
        reply = fake.respond(request.method, target, dict(request.headers), body)
        timeout = request.extensions.get("timeout", {}).get("read")
        if reply.drop or (reply.delay and timeout is not None and reply.delay >= timeout):
            raise httpx.ReadTimeout("fake Fyers: no answer", request=request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        headers = {"Content-Type": "application/json", **reply.headers}
        return httpx.Response(reply.status, headers=headers, content=fake.encode(reply.body))

    return httpx.MockTransport(handler)


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that gave up (timeout, dropped answer) is expected here


class ThreadedFakeServer:
    """Serve a :class:`FakeFyersRest` over real HTTP/1.1 on loopback, from a thread (for
    synchronous clients like the official SDK). ``base_url`` is ``http://127.0.0.1:<port>/
    api/v3``. A dropped answer closes the connection without a response; a delay sleeps in the
    handler thread (cut short by :meth:`close`)."""

    def __init__(self, fake: FakeFyersRest, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._closing = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                reply = outer.fake.respond(self.command, self.path, dict(self.headers), body)
                if reply.delay:
                    outer._closing.wait(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                data = outer.fake.encode(reply.body)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet: tests read fake.requests instead

        self._server = _QuietServer((host, port), Handler)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-fyers-rest", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.fake.base_path}"

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ThreadedFakeServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ThreadedFakeServer({self.base_url!r})"
