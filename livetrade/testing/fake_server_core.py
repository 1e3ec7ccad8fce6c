"""The fake Fyers server's state: tokens, the simulated market, the symbols it knows (fytokens,
topics), its URLs, the trading API it mounts and the order socket that reports on it (the base
of :class:`~livetrade.testing.fake_fyers.FakeFyersServer`)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from livetrade.clock import Clock, WallClock
from livetrade.errors import InvalidInput
from livetrade.feeds.sim_derivatives import UNDERLYING
from livetrade.feeds.sim_history import SimHistory
from livetrade.feeds.simulated import DEFAULT_SYMBOLS, SimulatedMarket
from livetrade.fyers.credentials import FyersConfig
from livetrade.fyers.symbols import mint_fake_token, parse_symbol, split_access_token, topic_for
from livetrade.instruments import Instrument
from livetrade.money import from_paise, to_paise
from livetrade.testing.fake_data import DepthTopic, FakeMarketData, ist_date
from livetrade.testing.fake_fno import FakeContracts
from livetrade.testing.fake_rest import FakeFyersRest
from livetrade.testing.fake_rest_types import PENDING, ContractSpec
from livetrade.testing.fake_wire import (
    _KNOWN_TOKENS,
    API_BASE,
    DEFAULT_APP_ID,
    HSM_PATH,
    ORDER_WS_PATH,
    REST_BASE,
    FakeConnection,
    OrderSocketConnection,
    _Instrument,
    _Tape,
)

SYM_DETAILS = "/sym_details/"  # the symbol-master files' folder, as at public.fyers.in


class _ServerCore:
    """State, tokens, instruments and the order socket of the fake server."""

    def __init__(
        self,
        seed: int = 1,
        *,
        symbols: Mapping[str, Decimal | str | int] | Sequence[str] | None = None,
        loose_symbols: bool = False,
        invalid_symbols: Iterable[str] = (),
        tick_interval: float | None = 0.05,
        host: str = "127.0.0.1",
        port: int = 0,
        rest_port: int = 0,
        hsm_key: str | None = None,
        app_id: str | None = DEFAULT_APP_ID,
        token_ttl: int = 86_400,
        ack_count: int = 0,
        topic_limit: int = 5000,
        records_per_frame: int = 250,
        clock: Clock | None = None,
        funds: Decimal | str | int = Decimal("1000000"),
        max_fill_qty: int | None = None,
        holdings: Mapping[str, tuple[int, Decimal | str | int]] | None = None,
        freeze_qty: Mapping[str, int] | int | None = None,
        fno: bool | None = None,
    ) -> None:
        if tick_interval is not None and not tick_interval > 0:
            raise InvalidInput("tick_interval", "must be positive (or None for manual steps)")
        if not 1 <= records_per_frame <= 700:
            raise InvalidInput("records_per_frame", "must be in 1..700 (u16 frame length)")
        self.seed = seed
        self.host = host
        self.tick_interval = tick_interval
        self.ack_count = ack_count
        self.token_ttl = token_ttl
        self.topic_limit = topic_limit
        self.records_per_frame = records_per_frame
        self.clock: Clock = clock if clock is not None else WallClock()
        self.hsm_key = hsm_key or hashlib.sha256(f"fake-fyers:{seed}".encode()).hexdigest()[:56]
        exp = self.clock.now_ns() // 1_000_000_000 + token_ttl
        self.access_token = mint_fake_token(
            self.hsm_key, exp, fy_id="XF00001", app_id=app_id or None
        )
        self._jwt = split_access_token(self.access_token)[1]
        self.app_id = app_id
        self._port = port
        self._rest_port = rest_port
        self._reject_token = False
        self.delay = 0.0  # seconds before every reply (auth, mode, subscribe...) and REST answer
        self._stall_all = False
        self.loose_symbols = bool(loose_symbols)
        self._invalid = set(invalid_symbols)
        self._start: dict[str, Decimal | str | int] = dict(DEFAULT_SYMBOLS)
        if isinstance(symbols, Mapping):
            self._start = dict(symbols)
        elif symbols is not None:
            self._start = {s: DEFAULT_SYMBOLS.get(s, Decimal("1000.00")) for s in symbols}
        self._tape = _Tape()
        self.market = SimulatedMarket(self._tape, {}, seed=seed)
        self.history = SimHistory(seed)
        """Each symbol's past (``/data/history``), ending where its walk starts here."""
        self.data = FakeMarketData(self, self._data_auth)
        """The market-data REST calls (``/data/quotes``, ``/depth``, ``/history``,
        ``/marketStatus``; see :mod:`livetrade.testing.fake_data`)."""
        self._by_symbol: dict[str, _Instrument] = {}
        self._by_topic: dict[str, _Instrument] = {}
        self._used_tokens: set[str] = set(_KNOWN_TOKENS.values())
        self._next_tid = 1
        self.connections: list[FakeConnection] = []
        self.rest_calls: list[list[str]] = []
        self.steps = 0
        self._ws_server: Server | None = None
        self._rest_server: asyncio.Server | None = None
        self._rest_writers: set[asyncio.StreamWriter] = set()
        self._rest_tasks: set[asyncio.Task[Any]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._resume_handle: asyncio.TimerHandle | None = None
        self.ws_port = 0
        self.rest_port = 0
        self._stopping = asyncio.Event()
        self.orders = FakeFyersRest(
            prices=self._ltp,
            app_id=app_id or DEFAULT_APP_ID,
            fy_id="XF00001",
            funds=funds,
            max_fill_qty=max_fill_qty,
            holdings=holdings,
            freeze_qty=freeze_qty,
            base_path=API_BASE,
            token_ttl=token_ttl,
            clock=lambda: self.clock.now_ns() / 1e9,
            hsm_key=self.hsm_key,
            bands=self._band,
            contracts=self._contract_spec,
        )
        """The trading REST API (``/api/v3`` on the REST port): orders fill at the simulated
        last traded prices. Use it for fault injection and to inspect the book."""
        self.orders.accept_token(self._jwt)
        self.orders.instrument_of = self._contract  # the margin calculator's contracts
        self.order_connections: list[OrderSocketConnection] = []
        self.orders.listeners.append(self._publish_order_update)
        self.fno: FakeContracts | None = None
        """The NIFTY futures and options this fake lists, quotes and trades (``None``: off)."""
        if fno is None:
            fno = UNDERLYING in self._start
        if fno:
            self._list_fno()

    def _list_fno(self) -> None:
        """List the derivatives (:mod:`livetrade.testing.fake_fno`) on the simulated index,
        each with its fytoken, ``sf|nse_fo|<token>`` topic, lot, tick, expiry and circuit."""
        self._start.setdefault(UNDERLYING, DEFAULT_SYMBOLS[UNDERLYING])
        index = self.instrument(UNDERLYING)
        assert index is not None
        now = self.clock.now_ns()
        # pricing the chain costs ~1 ms a step (SimDerivatives.quote): with a fast tick loop
        # the contracts requote every 0.05 s of it, so a fake costs a few % of a core at most
        every = 1 if self.tick_interval is None else max(1, round(0.05 / self.tick_interval))
        fno = self.fno = FakeContracts(self.market, now, every=every)
        for symbol, price in fno.start_prices(now).items():
            c = fno.contracts[symbol]
            topic = topic_for(symbol, c.spec.fytoken)
            inst = _Instrument(symbol, c.spec.fytoken, topic, self._next_tid, price, price)
            self._next_tid += 1
            inst.set_contract(
                c.spec.tick, c.spec.lot, c.expiry_epoch, fno.band(symbol, price, index.values[1])
            )
            inst.set_oi(*fno.open_interest(symbol))
            self._used_tokens.add(c.spec.fytoken)
            self._by_symbol[symbol] = inst
            self._by_topic[topic] = inst

    @property
    def sym_details_url(self) -> str:
        """Where this fake serves its symbol master (``NSE_FO_sym_master.json``, ``NSE_FO.csv``),
        in place of ``https://public.fyers.in/sym_details/``."""
        return f"http://{self.host}:{self.rest_port}{SYM_DETAILS}"

    def public_file(self, target: str) -> tuple[str, bytes] | None:
        """(content type, bytes) of a public symbol-master file this fake serves (no token
        needed, as Fyers' are), or ``None``: the master lists exactly the contracts it quotes."""
        path = target.partition("?")[0]
        if self.fno is None or not path.startswith(SYM_DETAILS):
            return None
        name = path[len(SYM_DETAILS) :]
        if name == "NSE_FO.csv":
            return "text/csv", self.fno.master_csv().encode()
        if name != "NSE_FO_sym_master.json":
            return None
        insts = {s: self._by_symbol[s] for s in self.fno.symbols}
        closes = {s: i.values[20] for s, i in insts.items()}
        bands = {s: (i.values[17], i.values[18]) for s, i in insts.items()}
        return "application/json", self.fno.master_json(closes, bands).encode()

    def _contract_spec(self, symbol: str) -> ContractSpec | None:
        """The trading API's view of a listed derivative (lot, tick, freeze...)."""
        return None if self.fno is None else self.fno.spec(symbol)

    def _contract(self, symbol: str) -> Instrument | None:
        """A listed derivative's contract (expiry, strike, underlying) for margin figures."""
        c = None if self.fno is None else self.fno.contracts.get(symbol)
        return None if c is None else c.instrument

    def _catch_up(self, inst: _Instrument) -> None:
        """Apply an unwatched derivative's latest row now that someone reads it."""
        row, inst.pending = inst.pending, None
        if row is not None:
            self._apply(inst, row)

    def _watched(self) -> set[str]:
        """Derivatives whose quotes must move every step: subscribed (quote or depth) on a live
        connection, or with a resting order. The others (most of a chain) only keep their
        latest row until read: 86 contracts applied every step cost ~1.5 ms a step, and their
        day high/low and average price are then sampled at the reads."""
        out = {o.symbol for o in self.orders.orders.values() if o.status == PENDING}
        for conn in self.connections:
            if not conn.closed:
                out.update(conn.symbols)
        return out

    def _apply(self, inst: _Instrument, row: tuple[str, int, int, int, int, int]) -> None:
        """A market step's quote onto ``inst`` (a derivative also takes its open interest)."""
        _, bid, ask, last, volume, ts_ns = row
        inst.apply(bid, ask, last, volume, ts_ns)
        if inst.expiry and self.fno is not None:
            inst.set_oi(*self.fno.open_interest(inst.symbol))

    @property
    def reject_token(self) -> bool:
        """While True every auth is refused: the data socket answers ``N``, symbol-token and
        the trading API answer 401 code -8. Back to False, :attr:`access_token` works again."""
        return self._reject_token

    @reject_token.setter
    def reject_token(self, value: bool) -> None:
        self._reject_token = bool(value)
        if value:
            self.orders.expire_tokens()
        else:
            self.orders.accept_token(self._jwt)

    def renew_token(self, ttl: int | None = None) -> str:
        """The daily expiry followed by a fresh login: every token so far is refused from
        now on (REST 401 code -8, order socket 403, data-socket auth ``N``) and the new one,
        returned as ``APP_ID:jwt`` (also :attr:`access_token`), works everywhere. Its JWT
        carries a new ``hsm_key``; ``ttl`` seconds (default: the server's ``token_ttl``)."""
        self.orders.expire_tokens()
        self.hsm_key = hashlib.sha256(f"renewed:{self.hsm_key}".encode()).hexdigest()[:56]
        self.orders.hsm_key = self.hsm_key
        exp = self.clock.now_ns() // 1_000_000_000 + (self.token_ttl if ttl is None else ttl)
        self.access_token = mint_fake_token(
            self.hsm_key, exp, fy_id="XF00001", app_id=self.app_id or None
        )
        self._jwt = split_access_token(self.access_token)[1]
        self._reject_token = False
        self.orders.accept_token(self._jwt)
        return self.access_token

    def _ltp(self, symbol: str) -> Decimal | None:
        """The trading API's price source: the last traded price, in rupees (``None``: not a
        symbol this fake knows; in loose mode well-formed ones are registered here)."""
        inst = self.instrument(symbol)
        return None if inst is None else from_paise(inst.values[0])

    def _band(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        """A scrip's circuit limits (±20% of its previous close, as its quotes say)."""
        inst = self.instrument(symbol)
        if inst is None or inst.kind != "sf":
            return None
        return from_paise(inst.values[17]), from_paise(inst.values[18])

    def _match_orders(self, moved: Iterable[_Instrument]) -> None:
        """Fill the resting orders the new prices reach (before the quotes go out, so a client
        that sees a tick and then reads its order book sees the fill)."""
        if not self.orders.orders:
            return
        for symbol in dict.fromkeys(inst.symbol for inst in moved):
            self.orders.match(symbol)

    @property
    def live_connections(self) -> list[FakeConnection]:
        return [c for c in self.connections if not c.closed]

    def __repr__(self) -> str:
        loose = ", symbols='loose: any well-formed symbol'" if self.loose_symbols else ""
        return (
            f"FakeFyersServer(seed={self.seed}, ws_port={self.ws_port}, "
            f"rest_port={self.rest_port}, connections={len(self.live_connections)}{loose})"
        )

    def symbols_note(self) -> str:
        """One line saying which symbols this fake accepts (the ``fake-fyers`` printout)."""
        if self.loose_symbols:
            return (
                "symbols: LOOSE -- any well-formed NSE:/BSE:/MCX: symbol is accepted, starting "
                "at 1000 rupees (the real API answers -300 for unknown symbols)"
            )
        known = ", ".join(self._start)
        if self.fno is not None:
            known += f" and {len(self.fno)} NIFTY futures and options (fake.fno.symbols)"
        return f"symbols: strict -- {known}; others answer -300 (--loose-symbols accepts any)"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}{HSM_PATH}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}{REST_BASE}"

    @property
    def order_ws_url(self) -> str:
        """The order socket (order, trade and position updates)."""
        return f"ws://{self.host}:{self.ws_port}{ORDER_WS_PATH}"

    @property
    def api_url(self) -> str:
        """Base URL of the trading REST API (what ``FyersRestClient(base_url=...)`` takes)."""
        return f"http://{self.host}:{self.rest_port}{self.orders.base_path}"

    @property
    def config(self) -> FyersConfig:
        """Token and URLs a client needs (valid once the server is started)."""
        if not self.ws_port:
            raise InvalidInput("config", "start the fake server first (async with ...)")
        return FyersConfig(
            access_token=self.access_token,
            ws_url=self.ws_url,
            rest_url=self.rest_url,
            app_id=self.app_id,
            api_url=self.api_url,
            order_ws_url=self.order_ws_url,
        )

    def _fytoken(self, symbol: str) -> str | None:
        known = _KNOWN_TOKENS.get(symbol)
        if known is not None:
            return known
        parsed = parse_symbol(symbol)
        derivative = parsed.series is None and parsed.name.endswith(("FUT", "CE", "PE"))
        prefix = {
            ("NSE", False): "1010",
            ("NSE", True): "1011",
            ("BSE", False): "1210",
            ("BSE", True): "1211",
            ("MCX", True): "1120",
            ("MCX", False): "1120",
        }.get((parsed.exchange, derivative))
        if prefix is None:
            return None
        number = 10_000 + zlib.crc32(symbol.encode()) % 80_000
        while True:
            fytoken = f"{prefix}000000{number}"
            if fytoken not in self._used_tokens:
                self._used_tokens.add(fytoken)
                return fytoken
            number += 1

    def instrument(self, symbol: str) -> _Instrument | None:
        """Register (or find) ``symbol``; ``None`` if this fake does not know it."""
        inst = self._by_symbol.get(symbol)
        if inst is not None:
            if inst.pending is not None:
                self._catch_up(inst)
            return inst
        if symbol in self._invalid or (not self.loose_symbols and symbol not in self._start):
            return None
        try:
            fytoken = self._fytoken(symbol)
            if fytoken is None:
                return None
            topic = topic_for(symbol, fytoken)
        except InvalidInput:
            return None
        if topic in self._by_topic:
            return None
        price = self._start.get(symbol, DEFAULT_SYMBOLS.get(symbol, Decimal("1000.00")))
        self.market.add_symbol(symbol, price)
        start, now = to_paise(price, "price"), self.clock.now_ns()
        self.history.anchor(symbol, start, now)  # the past ends where the walk starts
        close = self.history.previous_close(symbol, ist_date(now))
        inst = _Instrument(symbol, fytoken, topic, self._next_tid, start, close)
        self._next_tid += 1
        self._by_symbol[symbol] = inst
        self._by_topic[topic] = inst
        return inst

    def now_ns(self) -> int:
        return self.clock.now_ns()

    def _depth_topic(self, topic: str) -> DepthTopic | None:
        """The ``dp|…`` topic of a scrip this fake issued a token for (created on first use)."""
        inst = self._by_topic.get("sf|" + topic[3:])
        if inst is None:
            return None
        if inst.depth is None:
            inst.depth = DepthTopic(inst, topic, self._next_tid, self.seed, self.clock.now_ns())
            self._next_tid += 1
            self._by_topic[topic] = inst.depth  # type: ignore[assignment]
        return inst.depth

    def topic_of(self, symbol: str) -> str | None:
        inst = self._by_symbol.get(symbol)
        return None if inst is None else inst.topic

    def _check_handshake(self, ws: ServerConnection, request: Request) -> Response | None:
        """The order socket authenticates at the handshake (``authorization: APP_ID:token``
        header): a wrong or expired token is HTTP 403, as at Fyers (spec 2)."""
        if request.path.split("?", 1)[0] != ORDER_WS_PATH:
            return None
        header = request.headers.get("authorization", "")
        refused = self.orders.check_authorization(header)
        if refused is None:
            return None
        return ws.respond(HTTPStatus.FORBIDDEN, f"{refused}\n")

    async def _order_socket(self, ws: ServerConnection) -> None:
        conn = OrderSocketConnection(len(self.order_connections) + 1, ws)
        self.order_connections.append(conn)
        writer = asyncio.get_running_loop().create_task(conn.pump())
        try:
            async for msg in ws:
                conn.frames_in.append(msg if isinstance(msg, str) else msg.decode("latin-1"))
                if msg == "ping":
                    conn.send("pong")
                    continue
                try:
                    request = json.loads(msg)
                    slist = request["SLIST"]
                    flat = [x for it in slist for x in (it if isinstance(it, list) else [it])]
                    if request.get("T") != "SUB_ORD" or not all(isinstance(x, str) for x in flat):
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    conn.send(json.dumps({"s": "error", "code": -1, "message": "Invalid request"}))
                    continue
                if request.get("SUB_T") == -1:
                    conn.channels.difference_update(flat)
                    conn.send(json.dumps({"code": 1606, "message": "Unsubscribed", "s": "ok"}))
                else:
                    conn.channels.update(flat)
                    conn.send(
                        json.dumps({"code": 1605, "message": "Successfully subscribed", "s": "ok"})
                    )
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            writer.cancel()

    def _publish_order_update(self, kind: str, raw: dict[str, Any]) -> None:
        """FakeFyersRest listener: push an order or trade update to every subscriber."""
        frame = json.dumps({kind: raw, "s": "ok"}, default=float)
        for conn in self.order_connections:
            if not conn.closed and kind in conn.channels:
                conn.send(frame)

    @property
    def live_order_connections(self) -> list[OrderSocketConnection]:
        return [c for c in self.order_connections if not c.closed]

    async def drop_order_sockets(self) -> int:
        """Close every order-socket connection (clients reconnect and catch up)."""
        live = self.live_order_connections
        for conn in live:
            await conn.ws.close(1001, "going away")
        return len(live)

    def _data_auth(self, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]] | None:
        """The data calls' token check: ``APP_ID:jwt`` (the REST data API) or the bare JWT
        (symbol-token); the server's own token or one a login on the trading API issued."""
        token = headers.get("authorization", "")
        if self.reject_token:
            return 401, {"s": "error", "code": -8, "message": "Your token has expired"}
        app, _, jwt = token.rpartition(":")
        header = token if app else f"{self.orders.app_id}:{token}"
        own = jwt == self._jwt and jwt not in self.orders.revoked and app in ("", self.app_id)
        if not own and self.orders.check_authorization(header) is not None:
            return 401, {"s": "error", "code": -16, "message": "Could not authenticate the user"}
        return None


# ---- command line ---------------------------------------------------------------------------
