"""Fyers' order socket (``wss://socket.fyers.in/trade/v3``): order, trade and position updates.

Two layers, as for the data socket:

* sans-I/O: :func:`subscribe_frame` builds the text frames we send and :func:`parse_message`
  turns a received text frame into an :class:`OrderEvent`, :class:`TradeEvent`,
  :class:`PositionEvent` or :class:`GeneralEvent`. Raw field names are renamed exactly as the
  official SDK does (``map.json``: ``org_ord_status`` → ``status``, ``id_fill`` →
  ``tradeNumber``...; spec 2), so the rows parse with the same functions as the REST order
  book and tradebook (:func:`~livetrade.fyers.records.parse_order`,
  :func:`~livetrade.fyers.records.parse_trade`). Unlike the SDK we keep unmapped raw keys.
* :class:`FyersOrderSocket`: one ``websockets`` connection with the ``authorization:
  APP_ID:token`` header, the subscribe frame, a text ``ping`` every 10 s, reconnect with
  backoff and jitter; a refused handshake (HTTP 401/403) is an :class:`AuthError`, never a
  retry storm. Every (re)connect calls ``on_connect`` so the owner can read the books once and
  catch up on anything sent while the socket was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from livetrade.backoff import ExponentialBackoff
from livetrade.errors import AuthError, InvalidInput, ProtocolError
from livetrade.events import Event
from livetrade.fyers.credentials import DEFAULT_ORDER_WS_URL, quiet_ws_logger
from livetrade.fyers.records import BrokerOrder, BrokerTrade, parse_order, parse_trade
from livetrade.net import is_loopback

__all__ = [
    "DEFAULT_ORDER_WS_URL",
    "FyersOrderSocket",
    "GeneralEvent",
    "OrderEvent",
    "OrderSocketMessage",
    "PositionEvent",
    "TradeEvent",
    "parse_message",
    "subscribe_frame",
    "to_sdk",
]

log = logging.getLogger("livetrade.fyers.order_socket")
_WS_LOG: Final = quiet_ws_logger("livetrade.fyers.order_socket.websockets")
"""websockets logs the handshake's headers at DEBUG, and ours carry ``authorization:
APP_ID:token``: this logger never reports DEBUG as enabled, so those lines are never made."""

CHANNELS: Final[Mapping[str, tuple[str, ...]]] = {
    "orders": ("orders",),
    "trades": ("trades",),
    "positions": ("positions",),
    "general": ("edis", "pricealerts", "login"),
}
"""Our channel names → the SLIST entries Fyers expects (spec 2)."""

# Raw key → the SDK's name (spec 2, the SDK's map.json). Keys not listed keep their name.
ORDER_KEYS: Final[Mapping[str, str]] = {
    "client_id": "clientId",
    "id": "id",
    "id_parent": "parentId",
    "id_exchange": "exchOrdId",
    "qty": "qty",
    "qty_remaining": "remainingQuantity",
    "qty_filled": "filledQty",
    "price_limit": "limitPrice",
    "price_stop": "stopPrice",
    "price_traded": "tradedPrice",
    "ord_type": "type",
    "fy_token": "fyToken",
    "exchange": "exchange",
    "segment": "segment",
    "symbol": "symbol",
    "instrument": "instrument",
    "oms_msg": "message",
    "offline_flag": "offlineOrder",
    "time_oms": "orderDateTime",
    "validity": "orderValidity",
    "product_type": "productType",
    "tran_side": "side",
    "org_ord_status": "status",
    "ord_source": "source",
    "symbol_exch": "ex_sym",
    "symbol_desc": "description",
    "ordertag": "orderTag",
    "take_profit": "takeProfit",
    "stop_loss": "stopLoss",
    "leg_type": "legType",
}
TRADE_KEYS: Final[Mapping[str, str]] = {
    "id_fill": "tradeNumber",
    "id": "orderNumber",
    "qty_traded": "tradedQty",
    "price_traded": "tradePrice",
    "traded_val": "tradeValue",
    "product_type": "productType",
    "client_id": "clientId",
    "id_exchange": "exchangeOrderNo",
    "ord_type": "orderType",
    "tran_side": "side",
    "symbol": "symbol",
    "fill_time": "orderDateTime",
    "fy_token": "fyToken",
    "exchange": "exchange",
    "segment": "segment",
    "ordertag": "orderTag",
}
POSITION_KEYS: Final[Mapping[str, str]] = {
    "symbol": "symbol",
    "id": "id",
    "buy_avg": "buyAvg",
    "buy_qty": "buyQty",
    "buy_val": "buyVal",
    "sell_avg": "sellAvg",
    "sell_qty": "sellQty",
    "sell_val": "sellVal",
    "net_avg": "netAvg",
    "net_qty": "netQty",
    "tran_side": "side",
    "qty": "qty",
    "product_type": "productType",
    "pl_realized": "realized_profit",
    "rbirefrate": "rbiRefRate",
    "fy_token": "fyToken",
    "exchange": "exchange",
    "segment": "segment",
    "day_buy_qty": "dayBuyQty",
    "day_sell_qty": "daySellQty",
    "cf_buy_qty": "cfBuyQty",
    "cf_sell_qty": "cfSellQty",
    "qty_multiplier": "qtyMulti_com",
    "pl_total": "pl",
    "cross_curr_flag": "crossCurrency",
    "pl_unrealized": "unrealized_profit",
    "take_profit": "takeProfit",
    "stop_loss": "stopLoss",
    "leg_type": "legType",
}
_MAPS: Final = {"orders": ORDER_KEYS, "trades": TRADE_KEYS, "positions": POSITION_KEYS}


# ---------------------------------------------------------------------------- sans-I/O
def subscribe_frame(channels: Iterable[str], subscribe: bool = True) -> str:
    """``{"T":"SUB_ORD","SLIST":[...],"SUB_T":1}`` (``-1`` to unsubscribe) for our channel
    names (``orders``, ``trades``, ``positions``, ``general``). A flat list, always (the
    SDK nests one for ``general`` on unsubscribe: spec 2)."""
    slist: list[str] = []
    for name in channels:
        if name not in CHANNELS:
            raise InvalidInput("channels", f"{name!r} is not one of {', '.join(CHANNELS)}")
        slist += [c for c in CHANNELS[name] if c not in slist]
    if not slist:
        raise InvalidInput("channels", "subscribe to at least one channel")
    return json.dumps({"T": "SUB_ORD", "SLIST": slist, "SUB_T": 1 if subscribe else -1})


def to_sdk(kind: str, raw: Mapping[str, Any], keep_unmapped: bool = True) -> dict[str, Any]:
    """A raw ``orders``/``trades``/``positions`` object with the SDK's key names. With
    ``keep_unmapped=False`` it is exactly what the SDK hands its callback (mapped keys, in map
    order, plus ``id_fyers``)."""
    mapping = _MAPS[kind]
    out = {new: raw[old] for old, new in mapping.items() if old in raw}
    if "id_fyers" in raw:
        out["id_fyers"] = raw["id_fyers"]
    if keep_unmapped:
        for key, value in raw.items():
            if key not in mapping and key not in out:
                out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order changed (placed, modified, triggered, filled in part or whole, cancelled...)."""

    order: BrokerOrder
    sdk: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """One execution."""

    trade: BrokerTrade
    sdk: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class PositionEvent:
    """A net position changed (SDK key names)."""

    position: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GeneralEvent:
    """Anything else: the subscribe acknowledgement, EDIS, price alerts, login notices."""

    data: dict[str, Any]


OrderSocketMessage: TypeAlias = OrderEvent | TradeEvent | PositionEvent | GeneralEvent


def parse_message(text: str | bytes) -> OrderSocketMessage | None:
    """One received frame → an event; ``None`` for the ``pong`` answer to our ping. Raises
    :class:`ProtocolError` for a frame that is not a JSON object."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError:
            raise ProtocolError("order socket frame is not UTF-8 text") from None
    if text.strip() == "pong":
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise ProtocolError(f"order socket frame is not JSON: {text[:60]!r}") from None
    if not isinstance(data, dict):
        raise ProtocolError("order socket frame is not a JSON object")
    for kind in ("orders", "positions", "trades"):  # the SDK's precedence
        if kind in data:
            raw = data[kind]
            if not isinstance(raw, dict):
                raise ProtocolError(f"order socket {kind!r} is not an object")
            sdk = to_sdk(kind, raw)
            if kind == "orders":
                return OrderEvent(parse_order(sdk), sdk)
            if kind == "trades":
                return TradeEvent(parse_trade(sdk), sdk)
            return PositionEvent(sdk)
    return GeneralEvent(data)


# ---------------------------------------------------------------------------- asyncio
SocketState = Literal["idle", "connecting", "connected", "reconnecting", "failed", "closed"]


class FyersOrderSocket:
    """Order/trade/position updates over Fyers' order socket (see the module docstring).

    ``authorization`` is ``"APP_ID:access_token"``. Callbacks run in the event loop and must
    not block. The socket never gives up on its own (``retries=None``, the default): it
    reconnects with capped backoff (state ``reconnecting``, :attr:`attempt` counting) until it
    is closed, because a live session without order updates only learns of fills from polling.
    ``on_error`` hears of the outage after ``report_after`` failures in a row and then at most
    once every ``report_every`` seconds. A refused token is final (retrying cannot help).
    ``retries=N`` restores the old behaviour: ``failed`` after N failures in a row. A
    connection that delivered a frame resets the count.
    """

    def __init__(
        self,
        authorization: str,
        *,
        url: str = DEFAULT_ORDER_WS_URL,
        channels: Iterable[str] = ("orders", "trades", "positions"),
        on_event: Callable[[OrderSocketMessage], None] | None = None,
        on_connect: Callable[[], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        ping_interval: float = 10.0,
        open_timeout: float = 10.0,
        retries: int | None = None,
        backoff: Callable[[int], float] | None = None,
        report_after: int = 3,
        report_every: float = 60.0,
    ) -> None:
        if ":" not in authorization:
            raise AuthError("the order socket needs 'APP_ID:access_token' authorization")
        if not url.startswith(("ws://", "wss://")):
            raise InvalidInput("url", f"must start with ws:// or wss://, got {url!r}")
        self._authorization = authorization
        self.url = url
        self.channels = tuple(channels)
        self._subscribe = subscribe_frame(self.channels)
        # one event style (livetrade.events): sock.message_event += handler; the single-slot
        # attributes on_event / on_connect / on_error still work (assigning replaces)
        self.error_event = Event("error")
        self.message_event = Event("order socket message", self._report)
        self.connect_event = Event("order socket connect", self._report)
        self.message_event.set(on_event)
        self.connect_event.set(on_connect)
        self.error_event.set(on_error)
        self.ping_interval = ping_interval
        self.open_timeout = open_timeout
        self.retries = retries
        self._backoff = backoff if backoff is not None else ExponentialBackoff()
        self.report_after = report_after
        self.report_every = report_every
        self._last_report: float | None = None  # loop time of the last outage report
        self.attempt = 0  # failed connections in a row
        self.state: SocketState = "idle"
        self.connects = 0
        self.messages = 0
        self.protocol_errors = 0
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._closing = False
        self._connected = asyncio.Event()

    def __repr__(self) -> str:
        return (
            f"FyersOrderSocket(url={self.url!r}, state={self.state!r}, "
            f"authorization=<hidden>, messages={self.messages})"
        )

    def start(self) -> None:
        """Connect in the background (returns at once; see :meth:`wait_connected`)."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="livetrade:fyers:order-socket"
            )

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        await self._stop()
        self.state = "closed"

    async def _stop(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._connected.clear()

    async def set_authorization(self, authorization: str) -> None:
        """Use a fresh ``APP_ID:access_token`` (after the daily login) and, if the socket was
        started, reconnect with it now -- also out of ``failed`` after a refused token -- so
        no update waits for the old token's connection to die. ``on_connect`` then reads the
        books for anything missed meanwhile."""
        if not isinstance(authorization, str) or ":" not in authorization:
            raise AuthError("the order socket needs 'APP_ID:access_token' authorization")
        self._authorization = authorization.strip()
        if self.state in ("idle", "closed"):
            return  # used when it starts
        await self._stop()
        self._last_report = None
        self.start()

    async def drop(self) -> None:
        """Close the current connection (it reconnects): what a network blip does."""
        if self._ws is not None:
            await self._ws.close()

    @property
    def on_event(self) -> Callable[[OrderSocketMessage], None] | None:
        return self.message_event.first()

    @on_event.setter
    def on_event(self, handler: Callable[[OrderSocketMessage], None] | None) -> None:
        self.message_event.set(handler)

    @property
    def on_connect(self) -> Callable[[], None] | None:
        return self.connect_event.first()

    @on_connect.setter
    def on_connect(self, handler: Callable[[], None] | None) -> None:
        self.connect_event.set(handler)

    @property
    def on_error(self) -> Callable[[BaseException], None] | None:
        return self.error_event.first()

    @on_error.setter
    def on_error(self, handler: Callable[[BaseException], None] | None) -> None:
        self.error_event.set(handler)

    def _report(self, exc: BaseException) -> None:
        self.error_event.emit(exc)

    async def _run(self) -> None:
        self.attempt = 0
        while not self._closing:
            healthy = False
            try:
                healthy = await self._session()
                reason = "closed by the server"
            except AuthError as exc:
                self.state = "failed"
                self._report(exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
            self._connected.clear()
            if self._closing:
                return
            self.attempt = 1 if healthy else self.attempt + 1
            if healthy:
                self._last_report = None
            if self.retries is not None and self.attempt > self.retries:
                self.state = "failed"
                self._report(ConnectionError(f"order socket failed {self.retries} times: {reason}"))
                return
            self.state = "reconnecting"
            log.warning("order socket: %s; reconnect attempt %d", reason, self.attempt)
            self._report_outage(reason)
            await asyncio.sleep(max(0.0, self._backoff(self.attempt)))

    def _report_outage(self, reason: str) -> None:
        """Tell ``on_error`` once the outage is real, then once every ``report_every`` s."""
        if self.attempt < self.report_after:
            return
        now = asyncio.get_running_loop().time()
        if self._last_report is not None and now - self._last_report < self.report_every:
            return
        self._last_report = now
        self._report(
            ConnectionError(
                f"the Fyers order socket is down ({self.attempt} failed attempts: {reason}); "
                "still reconnecting; `await session.sync_orders()` reads the books meanwhile"
            )
        )

    async def _session(self) -> bool:
        """One connection; True if it delivered anything (so the retry count restarts)."""
        self.state = "connecting"
        try:
            ws = await ws_connect(
                self.url,
                additional_headers={"authorization": self._authorization},
                open_timeout=self.open_timeout,
                ping_interval=None,
                compression=None,
                max_size=2**20,
                proxy=None if is_loopback(self.url) else True,
                logger=_WS_LOG,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthError(
                    f"the Fyers order socket refused the access token (HTTP {status}); "
                    "log in again for a fresh token"
                ) from None
            raise ConnectionError(f"order socket handshake refused (HTTP {status})") from None
        self._ws = ws
        pinger = asyncio.get_running_loop().create_task(self._ping(ws))
        delivered = False
        try:
            await ws.send(self._subscribe)
            self.state = "connected"
            self.connects += 1
            self._connected.set()
            self.connect_event.emit()  # a failing handler is reported, the socket goes on
            async for frame in ws:
                delivered = True
                try:
                    event = parse_message(frame)
                except ProtocolError as exc:
                    self.protocol_errors += 1
                    log.warning("order socket: skipped a bad frame (%s)", exc)
                    continue
                if event is None:
                    continue
                self.messages += 1
                self.message_event.emit(event)  # a handler bug is reported, never fatal
        except ConnectionClosed:
            pass
        finally:
            pinger.cancel()
            self._ws = None
        return delivered

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
            while True:
                await asyncio.sleep(self.ping_interval)
                await ws.send("ping")
