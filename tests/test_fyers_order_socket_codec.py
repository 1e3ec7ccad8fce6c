"""The order-socket codec against the official SDK: the same raw frames give the same dicts
(the SDK's private message handler is fed directly; nothing connects anywhere)."""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrade.errors import InvalidInput, ProtocolError
from livetrade.fyers.order_socket import (
    ORDER_KEYS,
    POSITION_KEYS,
    TRADE_KEYS,
    GeneralEvent,
    OrderEvent,
    PositionEvent,
    TradeEvent,
    parse_message,
    subscribe_frame,
    to_sdk,
)
from livetrade.model import OrderStatus, Side

order_ws = pytest.importorskip("fyers_apiv3.FyersWebsocket.order_ws")

DOCS_ORDER = {  # the raw order update from Fyers' docs (spec 2), org_ord_status added
    "client_id": "XP0001",
    "exchange": 10,
    "fy_token": "10100000001628",
    "id": "23121800292158",
    "id_fyers": "df013f50-0000",
    "instrument": 0,
    "lot_size": 1,
    "offline_flag": False,
    "oms_flag": "K:1",
    "ord_source": "W",
    "ord_status": 20,
    "ord_type": 2,
    "ordertag": "2:Untagged",
    "org_ord_status": 6,
    "segment": 10,
    "status_msg": "New Ack",
    "symbol": "NSE:BECTORFOOD-EQ",
    "symbol_desc": "MRS BECTORS FOOD SPE LTD",
    "symbol_exch": "BECTORFOOD",
    "tick_size": 0.05,
    "time_epoch_oms": 1702887690,
    "time_exch": "NA",
    "time_oms": "18-Dec-2023 13:51:30",
    "tran_side": 1,
    "update_time_epoch_oms": 1702887690,
    "update_time_exch": "01-Jan-1970 05:30:00",
    "validity": "DAY",
    "qty": 10,
    "qty_filled": 4,
    "qty_remaining": 6,
    "price_traded": 1234.5,
}
TRADE = {
    "id_fill": "25010100000007",
    "id": "23121800292158",
    "qty_traded": 4,
    "price_traded": 1234.5,
    "traded_val": 4938.0,
    "product_type": "INTRADAY",
    "client_id": "XP0001",
    "id_exchange": "1100000012345678",
    "ord_type": 2,
    "tran_side": 1,
    "symbol": "NSE:BECTORFOOD-EQ",
    "fill_time": "18-Dec-2023 13:51:31",
    "fy_token": "10100000001628",
    "exchange": 10,
    "segment": 10,
    "ordertag": "1:liveLT0000001",
    "id_fyers": "aa-bb",
}
POSITION = {
    "symbol": "NSE:SBIN-EQ",
    "id": "NSE:SBIN-EQ-INTRADAY",
    "buy_avg": 800.5,
    "buy_qty": 10,
    "net_qty": 10,
    "net_avg": 800.5,
    "product_type": "INTRADAY",
    "pl_realized": 0,
    "pl_total": 12.5,
    "unknown_field": 1,
}


class _Capture:
    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    def __call__(self, kind: str) -> Any:
        return lambda message: self.got.append((kind, message))


@pytest.fixture
def sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, _Capture]:
    monkeypatch.chdir(tmp_path)  # the SDK writes fyersOrderSocket.log into the cwd
    order_ws.FyersOrderSocket._instance = None  # it is a singleton
    cap = _Capture()
    sock = order_ws.FyersOrderSocket(
        access_token="APPID-100:not-a-real-token",
        log_path=str(tmp_path),
        on_trades=cap("trades"),
        on_positions=cap("positions"),
        on_orders=cap("orders"),
        on_general=cap("general"),
        on_error=cap("error"),
    )
    return sock, cap


def sdk_parse(sdk: tuple[Any, _Capture], frame: str) -> list[tuple[str, Any]]:
    sock, cap = sdk
    cap.got.clear()
    sock._FyersOrderSocket__on_message(frame)
    return list(cap.got)


def test_the_key_maps_are_the_sdks() -> None:
    path = Path(order_ws.__file__).with_name("map.json")
    m = json.loads(path.read_text())
    assert list(m["order_mapper"].items()) == list(ORDER_KEYS.items())
    assert list(m["trade_mapper"].items()) == list(TRADE_KEYS.items())
    assert list(m["position_mapper"].items()) == list(POSITION_KEYS.items())


@pytest.mark.parametrize(
    ("kind", "raw"), [("orders", DOCS_ORDER), ("trades", TRADE), ("positions", POSITION)]
)
def test_updates_parse_to_the_sdks_dicts(
    sdk: tuple[Any, _Capture], kind: str, raw: dict[str, Any]
) -> None:
    frame = json.dumps({kind: raw, "s": "ok"})
    ((got_kind, message),) = sdk_parse(sdk, frame)
    assert got_kind == kind and message["s"] == "ok"
    assert message[kind] == to_sdk(kind, raw, keep_unmapped=False)
    ours = parse_message(frame)
    full = to_sdk(kind, raw)
    assert {k: full[k] for k in message[kind]} == message[kind]  # ours keeps the rest too
    if kind == "orders":
        assert isinstance(ours, OrderEvent)
        o = ours.order
        assert (o.order_id, o.status, o.side, o.quantity) == (
            "23121800292158",
            OrderStatus.OPEN,
            Side.BUY,
            10,
        )
        assert (o.filled_quantity, o.remaining_quantity, o.tag) == (4, 6, None)
        assert o.placed_at is not None and o.placed_at.hour == 13
    elif kind == "trades":
        assert isinstance(ours, TradeEvent)
        t = ours.trade
        assert (t.trade_id, t.order_id, t.quantity, t.price) == (
            "25010100000007",
            "23121800292158",
            4,
            Decimal("1234.5"),
        )
        assert t.tag == "liveLT0000001" and t.traded_at is not None
    else:
        assert isinstance(ours, PositionEvent) and ours.position["netQty"] == 10


def test_everything_else_is_general_and_pong_is_nothing(sdk: tuple[Any, _Capture]) -> None:
    ack = '{"code":1605,"message":"Successfully subscribed","s":"ok"}'
    assert sdk_parse(sdk, ack) == [("general", json.loads(ack))]
    assert parse_message(ack) == GeneralEvent(json.loads(ack))
    assert sdk_parse(sdk, "pong") == [] and parse_message("pong") is None
    assert parse_message(b"pong") is None


def test_the_subscribe_frame_is_the_documented_one() -> None:
    assert subscribe_frame(["orders", "trades", "positions", "general"]) == (
        '{"T": "SUB_ORD", "SLIST": ["orders", "trades", "positions", "edis", "pricealerts", '
        '"login"], "SUB_T": 1}'
    )
    assert json.loads(subscribe_frame(["general"], subscribe=False)) == {
        "T": "SUB_ORD",
        "SLIST": ["edis", "pricealerts", "login"],  # flat, unlike the SDK's nested list
        "SUB_T": -1,
    }
    with pytest.raises(InvalidInput, match="channels"):
        subscribe_frame(["fills"])
    with pytest.raises(InvalidInput, match="channels"):
        subscribe_frame([])


@pytest.mark.parametrize("frame", ["{", "[1, 2]", b"\xff\xfe", '{"orders": 5}'])
def test_bad_frames_are_protocol_errors(frame: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_message(frame)


_values = st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=8), st.booleans(), st.none())


_SDK: list[tuple[Any, _Capture]] = []


def _sdk_once() -> tuple[Any, _Capture]:
    """One SDK socket for the property test (its log goes to a temp dir, not the cwd)."""
    if not _SDK:
        order_ws.FyersOrderSocket._instance = None
        cap = _Capture()
        sock = order_ws.FyersOrderSocket(
            access_token="APPID-100:not-a-real-token",
            log_path=tempfile.mkdtemp(prefix="fyers-sdk-"),
            on_trades=cap("trades"),
            on_positions=cap("positions"),
            on_orders=cap("orders"),
            on_general=cap("general"),
            on_error=cap("error"),
        )
        _SDK.append((sock, cap))
    return _SDK[0]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["orders", "trades", "positions"]), st.data())
def test_any_update_renames_like_the_sdk(kind: str, data: st.DataObject) -> None:
    keys = list({"orders": ORDER_KEYS, "trades": TRADE_KEYS, "positions": POSITION_KEYS}[kind])
    extra = ["id_fyers", "ord_status", "lot_size", "zz"]
    raw = data.draw(st.dictionaries(st.sampled_from(keys + extra), _values, max_size=12))
    frame = json.dumps({kind: raw, "s": "ok"})
    ((got_kind, message),) = sdk_parse(_sdk_once(), frame)
    assert got_kind == kind
    ours = to_sdk(kind, raw, keep_unmapped=False)
    assert message[kind] == ours and list(message[kind]) == list(ours)
    event = parse_message(frame)  # odd values parse (defaults), never crash the socket
    assert isinstance(event, (OrderEvent, TradeEvent, PositionEvent))
