"""A local fake Fyers server on loopback: the HSM data socket, the symbol-token call and the
trading REST API (orders, books, positions, funds), all priced by one simulated market, with
NIFTY futures and options on its index (quotes, depth, orders in lots, the option chain, a
symbol master; see ``fno`` below).

It speaks the real wire protocol through the same codec the client uses (server-side encoders
:class:`~livetrade.fyers.codec.AuthReply`, :class:`~livetrade.fyers.codec.StatusReply`,
:class:`~livetrade.fyers.codec.DataFeed`... and :func:`~livetrade.fyers.codec.parse_client_frame`)
and follows the fake-server checklist of the protocol notes (spec 1.12): client length prefixes
ignored, pings accepted before auth, the ``hsm_key`` checked, every request answered with ``K``,
acks accepted any time, a u32 message number in every datafeed frame, a snapshot per topic
before any update, the sentinel for "unchanged", topic ids unique and stable, silence when the
upgrade carried an ``Authorization`` header, custom message 51001 past the topic limit.

Prices come from :class:`~livetrade.feeds.simulated.SimulatedMarket` (seeded random walk), one
step every ``tick_interval`` seconds (or call :meth:`FakeFyersServer.step` yourself with
``tick_interval=None``). Fault injection for tests: :meth:`~FakeFyersServer.drop_connections`,
:meth:`~FakeFyersServer.stall` / :meth:`~FakeFyersServer.resume`,
:meth:`~FakeFyersServer.send_garbage`, :meth:`~FakeFyersServer.expire_token`,
``reject_token`` and ``delay``.

    async with FakeFyersServer(seed=1) as fake:
        ws = FyersWebSocketManager(fake.config.access_token, ws_url=fake.config.ws_url,
                                   rest_url=fake.config.rest_url)

The REST endpoints are served by a tiny HTTP/1.1 handler on a second port (the ``websockets``
server only accepts GET upgrades): ``fake.config.rest_url`` (``/data``, symbol-token) and
``fake.config.api_url`` (``/api/v3``, the trading API). The trading API is
:attr:`FakeFyersServer.orders`, a :class:`~livetrade.testing.fake_rest.FakeFyersRest` whose
prices are the simulated last traded prices: resting limit and stop orders fill as the market
steps or :meth:`~FakeFyersServer.push_quote` moves a price, and its fault injection
(``fake.orders.rate_limit_next()``...) works over this socket too::

    async with FakeFyersServer(tick_interval=None) as fake:
        client = FyersRestClient(fake.config.access_token, base_url=fake.config.api_url)
        ack = await client.place_order("NSE:SBIN-EQ", "BUY", 1, "LIMIT", limit_price="795")
        await fake.push_quote("NSE:SBIN-EQ", 79_400)  # paise: the limit order fills
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from livetrade.fyers.credentials import quiet_ws_logger
from livetrade.testing.fake_data import DATA_PATHS
from livetrade.testing.fake_rest import FakeReply
from livetrade.testing.fake_socket import _DataSocket

# re-exported: the names this module had before it was split
from livetrade.testing.fake_wire import API_BASE as API_BASE
from livetrade.testing.fake_wire import DEFAULT_APP_ID as DEFAULT_APP_ID
from livetrade.testing.fake_wire import (
    GARBAGE_FRAMES,
    MAX_BODY,
    ORDER_WS_PATH,
    REST_BASE,
    FakeConnection,
    _reason,
    log,
)
from livetrade.testing.fake_wire import HSM_PATH as HSM_PATH
from livetrade.testing.fake_wire import OrderSocketConnection as OrderSocketConnection

__all__ = ["GARBAGE_FRAMES", "FakeConnection", "FakeFyersServer", "main"]


class FakeFyersServer(_DataSocket):
    """The fake Fyers server (async context manager). See the module docstring.

    ``symbols``: the instruments it knows and their start prices (rupees); ``None``: the
    simulated defaults. Any other symbol is invalid, as at Fyers: symbol-token lists it in
    ``invalidSymbol`` and the trading API answers -300. ``loose_symbols=True`` (opt-in, and
    its repr and the ``fake-fyers`` printout say so) also accepts any other well-formed
    ``NSE:``/``BSE:``/``MCX:`` symbol, starting at ₹1000 with a made-up exchange token.
    ``invalid_symbols`` are always reported in ``invalidSymbol``.

    ``tick_interval``: seconds between market steps (``None``: only :meth:`step` moves prices).
    ``ack_count``: the ack cadence announced in the auth reply (4-byte field, SDK-compatible).
    ``topic_limit``: past it, subscribe answers custom message 51001 and ignores the excess.
    ``records_per_frame``: datafeed frames carry at most this many records.
    ``funds``: the trading account's opening cash (rupees); ``max_fill_qty``: fills are at most
    this many shares each, so orders fill partially over several price moves (see
    :attr:`orders`). ``holdings``: symbol → (quantity, cost price) in demat (the holdings
    rows; CNC sells are checked against them). ``freeze_qty``: the exchange freeze quantity
    (one for all symbols, or per symbol): a larger order is refused unless it asks
    ``isSliceOrder``, then it is split into at most 10 orders.
    ``fno``: list, quote and trade NIFTY futures and weekly/monthly options priced from the
    simulated ``NSE:NIFTY50-INDEX`` (:attr:`fno`, :mod:`livetrade.testing.fake_fno`): in lots,
    on their own tick, with their own freeze quantity (slices in whole lots), the option chain
    at ``/data/options-chain-v3`` and the symbol master at :attr:`sym_details_url`. ``None``
    (default): on when the index is among the symbols (it is in the defaults). With a
    ``tick_interval`` under 0.05 s the contracts requote every 0.05 s of steps (pricing the
    chain costs about 1 ms); a contract nobody subscribed to or has an order on takes its
    latest quote when it is read (REST, orders), so its day high/low are sampled there.
    """

    async def start(self) -> FakeFyersServer:
        self._stopping = asyncio.Event()  # bound to this loop on first use
        self._ws_server = await serve(
            self._route_ws,
            self.host,
            self._port,
            process_request=self._check_handshake,
            compression=None,
            ping_interval=None,
            max_size=2**20,
            logger=quiet_ws_logger("livetrade.fyers.fake.websockets"),
        )
        self.ws_port = self._ws_server.sockets[0].getsockname()[1]
        self._rest_server = await asyncio.start_server(self._http, self.host, self._rest_port)
        self.rest_port = self._rest_server.sockets[0].getsockname()[1]
        if self.tick_interval is not None:
            self._ticker = asyncio.create_task(self._tick_loop(self.tick_interval))
        log.info("fake Fyers server on %s, %s and %s", self.ws_url, self.rest_url, self.api_url)
        return self

    async def stop(self) -> None:
        self._stopping.set()  # cuts short REST answers that are being delayed
        if self._background:
            await asyncio.wait(tuple(self._background), timeout=5)
        if self._resume_handle is not None:
            self._resume_handle.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
            self._ws_server = None
        if self._rest_server is not None:
            self._rest_server.close()
            for writer in tuple(self._rest_writers):
                writer.close()  # the handler sees EOF and returns
            if self._rest_tasks:
                await asyncio.wait(tuple(self._rest_tasks), timeout=5)
            await self._rest_server.wait_closed()
            self._rest_server = None

    async def __aenter__(self) -> FakeFyersServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _route_ws(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0] if ws.request is not None else ""
        if path == ORDER_WS_PATH:
            await self._order_socket(ws)
        else:
            await self._handle(ws)

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._rest_writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._rest_tasks.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                public = self.public_file(target) if method == "GET" else None
                reply = (
                    FakeReply(200, {}) if public else self._dispatch(method, target, headers, body)
                )
                wait = reply.delay or self.delay
                if wait > 0 and await self._pause(wait):
                    break  # stopping: the answer is never sent
                if reply.drop:
                    break  # the answer is lost: close the connection without one
                kind, data = public or ("application/json", self.orders.encode(reply.body))
                close = headers.get("connection", "").lower() == "close"
                lines = [
                    f"HTTP/1.1 {reply.status} {_reason(reply.status)}",
                    f"Content-Type: {kind}",
                    f"Content-Length: {len(data)}",
                    *(f"{name}: {value}" for name, value in reply.headers.items()),
                    *(["Connection: close"] if close else []),
                ]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
                await writer.drain()
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._rest_writers.discard(writer)
            self._rest_tasks.discard(task)
            writer.close()

    @staticmethod
    async def _read_request(
        reader: asyncio.StreamReader,
    ) -> tuple[str, str, dict[str, str], bytes] | None:
        """One HTTP/1.1 request: (method, target with its query, lower-cased headers, body);
        None at EOF. Bodies come with Content-Length or chunked (any method: Fyers' DELETE
        carries one). ValueError for what this fake does not parse."""
        line = await reader.readline()
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while size := int((await reader.readline()).split(b";")[0], 16):
                body += await reader.readexactly(size)
                await reader.readline()
                if len(body) > MAX_BODY:
                    raise ValueError("request body too large")
            while (await reader.readline()).strip():  # trailers
                pass
        else:
            size = int(headers.get("content-length", "0"))
            if not 0 <= size <= MAX_BODY:
                raise ValueError("bad Content-Length")
            body = await reader.readexactly(size) if size else b""
        return method.upper(), target, headers, body

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` before an answer; True if :meth:`stop` cut the wait short."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    def _dispatch(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> FakeReply:
        """The trading API (everything under ``/api/v3/``) is :attr:`orders`; the rest is
        the data REST call."""
        if target.split("?", 1)[0].startswith(self.orders.base_path + "/"):
            return self.orders.respond(method, target, headers, body)
        status, payload = self._route(method, target, headers, body)
        return FakeReply(status, payload)

    def _route(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        path, _, query = target.partition("?")
        if path.startswith(REST_BASE) and path[len(REST_BASE) :] in DATA_PATHS:
            return self.data.respond(method, path[len(REST_BASE) :], query, headers, body)
        if path != f"{REST_BASE}/symbol-token":
            return 404, {"s": "error", "code": 404, "message": f"no route {path}"}
        if method != "POST":
            return 405, {"s": "error", "code": 405, "message": "use POST"}
        refused = self._data_auth(headers)
        if refused is not None:
            return refused
        try:
            request = json.loads(body)
            symbols = request["symbols"]
            if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return 400, {"s": "error", "code": -50, "message": "Invalid parameters"}
        if len(symbols) > 500:
            return 400, {"s": "error", "code": -50, "message": "Max 500 symbols per request"}
        self.rest_calls.append(list(symbols))
        valid: dict[str, str] = {}
        invalid: list[str] = []
        for s in symbols:
            inst = self.instrument(s)
            if inst is None:
                invalid.append(s)
            else:
                valid[s] = inst.fytoken
        return 200, {
            "s": "ok",
            "code": 200,
            "message": "",
            "validSymbol": valid,
            "invalidSymbol": invalid,
        }


async def serve_forever(
    port: int = 0,
    rest_port: int | None = None,
    *,
    host: str = "127.0.0.1",
    seed: int = 1,
    tick_interval: float = 1.0,
    loose_symbols: bool = False,
) -> None:
    """Run a fake server until cancelled, printing the config a client needs (data socket,
    data REST, token, trading API) and which symbols it accepts."""
    fake = FakeFyersServer(
        seed,
        host=host,
        port=port,
        rest_port=rest_port if rest_port is not None else (port + 1 if port else 0),
        tick_interval=tick_interval,
        loose_symbols=loose_symbols,
    )
    async with fake:
        cfg = fake.config
        print(f"fake Fyers data socket: {cfg.ws_url}", flush=True)
        print(f"fake Fyers REST base:   {cfg.rest_url}", flush=True)
        print("fake access token (not a secret; for this server only):", flush=True)
        print(f"  {cfg.access_token}", flush=True)
        # after the token: scripts read the first four lines by position
        print(f"fake Fyers trading API: {cfg.api_url}", flush=True)
        print(f"fake Fyers order socket: {cfg.order_ws_url}", flush=True)
        print(
            "connect: FyersConfig(access_token=<above>, "
            f"ws_url={cfg.ws_url!r}, rest_url={cfg.rest_url!r}, api_url={cfg.api_url!r}, "
            f"order_ws_url={cfg.order_ws_url!r})",
            flush=True,
        )
        print(fake.symbols_note(), flush=True)  # last: earlier lines are read by position
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``livetrade fake-fyers [--port N] [--rest-port M] [--seed S] [--interval SECONDS]
    [--loose-symbols]``."""
    parser = argparse.ArgumentParser(
        prog="livetrade fake-fyers", description="Run a local fake Fyers server (loopback)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="data socket port (0 = any free)")
    parser.add_argument("--rest-port", type=int, default=None, help="REST port (default port+1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
    parser.add_argument(
        "--loose-symbols",
        action="store_true",
        help="accept any well-formed symbol at 1000 rupees (Fyers itself answers -300)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_forever(
                args.port,
                args.rest_port,
                host=args.host,
                seed=args.seed,
                tick_interval=args.interval,
                loose_symbols=args.loose_symbols,
            )
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
