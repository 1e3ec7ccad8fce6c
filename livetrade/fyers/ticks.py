"""What the data-socket codec hands out: a :class:`Tick` per changed record (raw values with
their :class:`TopicInfo` for scaling to Decimal or paise, and the official SDK's dict shape),
and the control events (:class:`AuthResult`, :class:`ControlResult`, :class:`FrameIgnored`).
Plain values, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Final, NamedTuple, TypeAlias

from livetrade.errors import InvalidInput
from livetrade.fyers.server_frames import (
    CustomMessage,
    SdkCallback,
)
from livetrade.fyers.wire import (
    _LAYOUTS,
    ResponseType,
)

# --------------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------------


_EXACT: Final = Context(prec=60)


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What a snapshot announced about a topic; shared by every tick of that topic."""

    topic_id: int
    topic: str
    kind: str  # "sf", "if", "dp", or whatever precedes the first "|"
    multiplier: int
    precision: int
    exchange: str
    exchange_token: str
    trading_symbol: str
    divisor: int = field(init=False)
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "divisor", 10**self.precision * self.multiplier)
        layout = _LAYOUTS.get(self.kind)
        object.__setattr__(self, "names", layout.names if layout else ())

    def position(self, name: str | int) -> int:
        """Position of a field name (or pass a position through)."""
        if isinstance(name, int):
            return name
        layout = _LAYOUTS.get(self.kind)
        if layout is None or name not in layout.index:
            raise InvalidInput("field", f"{name!r} is not a field of {self.kind!r} topics")
        return layout.index[name]

    def is_price(self, position: int) -> bool:
        layout = _LAYOUTS.get(self.kind)
        return layout is not None and position in layout.prices

    def scale(self, raw: int) -> Decimal:
        """``raw / (10**precision * multiplier)`` as a Decimal (exact for power-of-ten divisors)."""
        if self.multiplier == 1:
            return Decimal(raw).scaleb(-self.precision, _EXACT)
        return _EXACT.divide(Decimal(raw), Decimal(self.divisor))


class Tick(NamedTuple):
    """One record that changed a topic's state, carrying the FULL merged state (not a delta).

    ``values`` holds the raw i32 of every position of the topic's layout (``None`` = never
    received). Prices are raw integers; :meth:`price` scales them exactly to ``Decimal`` using
    the snapshot's precision/multiplier, :meth:`paise` gives integer paise, :meth:`sdk_dict`
    the float dict the official SDK would deliver.

    A NamedTuple rather than a frozen dataclass: one is built per record on the hot path and
    a tuple is about four times cheaper to build; it is just as immutable.
    """

    info: TopicInfo
    values: tuple[int | None, ...]
    message_number: int
    record: int  # a RecordKind value: 83 snapshot, 85 update, 76 lite
    symbol: str | None  # the Fyers symbol the client mapped to this topic, if any

    @property
    def topic(self) -> str:
        return self.info.topic

    @property
    def kind(self) -> str:
        return self.info.kind

    def raw(self, name: str | int) -> int | None:
        pos = self.info.position(name)
        return self.values[pos] if pos < len(self.values) else None

    def price(self, name: str | int) -> Decimal | None:
        raw = self.raw(name)
        return None if raw is None else self.info.scale(raw)

    def paise(self, name: str | int) -> int | None:
        """Integer paise (1/100 rupee); ValueError if the value is not a whole number of paise."""
        raw = self.raw(name)
        if raw is None:
            return None
        q, r = divmod(raw * 100, self.info.divisor)
        if r:
            raise ValueError(f"{raw}/{self.info.divisor} is not a whole number of paise")
        return q

    @property
    def ltp(self) -> Decimal | None:
        return self.price(0) if self.values else None

    @property
    def ltp_paise(self) -> int | None:
        return self.paise(0) if self.values else None

    def as_dict(self) -> dict[str, Decimal | int]:
        """Named fields received so far; prices as exact Decimals, the rest as ints."""
        info = self.info
        layout = _LAYOUTS.get(info.kind)
        out: dict[str, Decimal | int] = {}
        if layout is None:
            return out
        for pos, name in enumerate(layout.names):
            v = self.values[pos]
            if v is not None:
                out[name] = info.scale(v) if pos in layout.prices else v
        return out

    def sdk_dict(self, lite: bool = False) -> dict[str, object]:
        """The dict the official SDK's ``on_message`` gets for this state (spec 1.7).

        Same keys, order and float arithmetic as SDK 3.2.0, except where the SDK is wrong:
        an index with previous close 0 gets no ``ch``/``chp`` (the SDK raises and drops the tick),
        depth in lite mode delivers the depth dict (the SDK delivers nothing), and a lite tick
        without an LTP omits ``ltp`` (the SDK raises). Topics of other kinds give
        ``{"f0": raw, ..., "type", "symbol"}``.
        """
        info = self.info
        vals = self.values
        div = info.divisor
        kind = info.kind
        symbol = self.symbol if self.symbol is not None else info.topic
        out: dict[str, object] = {}
        if lite and kind in ("sf", "if"):
            if vals[0] is not None:
                out["ltp"] = vals[0] / div
            out["symbol"] = symbol
            out["type"] = kind
            return out
        plan = _SDK_PLAN.get(kind)
        if plan is None:
            for pos, v in enumerate(vals):
                if v is not None:
                    out[f"f{pos}"] = v
        else:
            for pos, name, how in plan:
                v = vals[pos]
                if v is not None:
                    out[name] = v / div if how & _SCALED else (0 if how else v)
                if how == _CHANGE_AFTER:  # the SDK inserts index ch/chp after the close
                    _change(out, 2)
        out["type"] = kind
        out["symbol"] = symbol
        if kind == "sf":
            out.setdefault("lower_ckt", 0)
            out.setdefault("upper_ckt", 0)
            _change(out, 4)
        return out


# How sdk_dict renders each position: raw int, scaled price, forced 0 (circuit limits), or
# scaled + "insert ch/chp here" (index close; bit 0 = scaled). OI and 52-week high/low are
# never delivered.
_RAW, _SCALED, _ZERO, _CHANGE_AFTER = 0, 1, 2, 3
_SDK_PLAN: Final[Mapping[str, tuple[tuple[int, str, int], ...]]] = {
    kind: tuple(
        (
            pos,
            name,
            _ZERO
            if name in ("lower_ckt", "upper_ckt")
            else _CHANGE_AFTER
            if kind == "if" and pos == 1
            else _SCALED
            if pos in layout.prices
            else _RAW,
        )
        for pos, name in enumerate(layout.names)
        if name not in ("OI", "Yhigh", "Ylow")
    )
    for kind, layout in _LAYOUTS.items()
}


def _change(out: dict[str, object], digits: int) -> None:
    """Add ``ch`` / ``chp`` (rounded like the SDK, chp from the rounded ch) if defined."""
    ltp = out.get("ltp")
    close = out.get("prev_close_price")
    if isinstance(ltp, float) and isinstance(close, float) and close != 0:
        ch = round(ltp - close, digits)
        out["ch"] = ch
        out["chp"] = round(ch / close * 100, digits)


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The auth reply arrived: ``ok`` or not, and the ack cadence the server asked for."""

    ok: bool
    status: str
    ack_count: int
    config: bytes | None = None

    def to_sdk(self) -> SdkCallback:
        if self.ok:
            msg = {"type": "cn", "code": 200, "message": "Authentication done", "s": "ok"}
            return ("on_message", dict(msg))
        err = {"type": "cn", "code": 11001, "message": "Authentication failed", "s": "error"}
        return ("on_error", dict(err))


_CONTROL_SDK: Final[Mapping[int, tuple[str, str, int, str]]] = {
    # response type: (sdk type, success message, failure code, failure message)
    ResponseType.SUBSCRIBE: ("sub", "Subscribed", 11011, "subscription failed"),
    ResponseType.UNSUBSCRIBE: ("unsub", "Unsubscribed", 11012, "unsubscription failed"),
    ResponseType.PAUSE: ("cp", "Channel Paused", 11031, "Mode change failed"),
    ResponseType.RESUME: ("cr", "Channel Resumed", 11032, "Mode change failed"),
}


@dataclass(frozen=True, slots=True)
class ControlResult:
    """Reply to subscribe / unsubscribe / pause / resume / mode (``request`` says which).

    ``lite`` is the mode the codec last requested (mode replies only; ``None`` otherwise).
    """

    request: ResponseType
    ok: bool
    status: str
    lite: bool | None = None

    def to_sdk(self) -> SdkCallback:
        """SDK-compatible dict. A failed pause gets code 11031 (the SDK crashes instead)."""
        if self.request == ResponseType.MODE:
            if not self.ok:
                return ("on_error", {"code": 12001, "message": "Mode change failed", "s": "error"})
            kind, text = ("lit", "Lite Mode On") if self.lite else ("ful", "Full Mode On")
            return ("on_message", {"type": kind, "code": 200, "message": text, "s": "ok"})
        kind, text, code, fail = _CONTROL_SDK[self.request]
        if self.ok:
            return ("on_message", {"type": kind, "code": 200, "message": text, "s": "ok"})
        return ("on_error", {"type": kind, "code": code, "message": fail, "s": "error"})


@dataclass(frozen=True, slots=True)
class FrameIgnored:
    """A server message the client has no use for (type 13 master data, unknown types)."""

    response_type: int
    size: int


Event: TypeAlias = Tick | AuthResult | ControlResult | CustomMessage | FrameIgnored
