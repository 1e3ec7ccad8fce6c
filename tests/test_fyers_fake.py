"""The fake Fyers server at the wire level: a bare ``websockets`` client and the codec.

These tests check the fake against the protocol notes (spec 1.12 checklist, 1.8 REST shapes),
independently of our stream client. Everything runs on loopback; waits poll with timeouts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from livetrade.errors import ProtocolError
from livetrade.fyers.codec import (
    PING_FRAME,
    SENTINEL,
    AuthRequest,
    AuthResult,
    ControlResult,
    CustomMessage,
    DataCodec,
    DataFeed,
    LiteRecord,
    ModeRequest,
    ResponseType,
    SnapshotRecord,
    SubscribeRequest,
    Tick,
    UnsubscribeRequest,
    UpdateRecord,
    parse_server_frame,
)
from livetrade.fyers.symbols import decode_access_token, split_access_token
from livetrade.testing.fake_fyers import GARBAGE_FRAMES, FakeFyersServer

SBIN, NIFTY = "NSE:SBIN-EQ", "NSE:NIFTY50-INDEX"


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=1, tick_interval=None) as server:
        yield server


async def recv(ws: ClientConnection, timeout: float = 5.0) -> bytes:
    msg = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(msg, bytes)
    return msg


async def until(pred: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.002)


async def topics(fake: FakeFyersServer, *symbols: str) -> dict[str, str]:
    """Symbol-token lookup through the fake's REST endpoint: topic → symbol."""
    from livetrade.fyers.symbols import map_symbols

    async with httpx.AsyncClient(trust_env=False) as http:
        resp = await http.post(
            fake.rest_url + "/symbol-token",
            json={"symbols": list(symbols)},
            headers={"Authorization": split_access_token(fake.access_token)[1]},
        )
    assert resp.status_code == 200
    return map_symbols(resp.json()["validSymbol"]).topics


async def login(fake: FakeFyersServer, *, lite: bool = False) -> tuple[ClientConnection, DataCodec]:
    ws = await connect(fake.ws_url, compression=None, proxy=None)
    codec = DataCodec(lite=lite)
    await ws.send(PING_FRAME)  # the SDK pings before it authenticates
    codec.authenticate(fake.hsm_key)
    codec.set_mode(lite)
    for frame in codec.data_to_send():
        await ws.send(frame)
    codec.receive_data(await recv(ws))
    codec.receive_data(await recv(ws))
    events = codec.events_received()
    assert AuthResult(True, "K", 0, None) in events
    assert ControlResult(ResponseType.MODE, True, "K", lite) in events
    return ws, codec


# ---- REST ----------------------------------------------------------------------------------


async def test_symbol_token_shapes() -> None:
    fake_bad = "NSE:NOSUCH-EQ"
    async with FakeFyersServer(seed=1, tick_interval=None, invalid_symbols=[fake_bad]) as fake:
        await _symbol_token_shapes(fake, fake_bad)


async def _symbol_token_shapes(fake: FakeFyersServer, fake_bad: str) -> None:
    jwt = split_access_token(fake.access_token)[1]
    async with httpx.AsyncClient(trust_env=False) as http:
        url = fake.rest_url + "/symbol-token"
        ok = await http.post(
            url, json={"symbols": [SBIN, NIFTY, fake_bad]}, headers={"Authorization": jwt}
        )
        assert ok.status_code == 200
        body = ok.json()
        assert body["s"] == "ok"
        assert body["validSymbol"] == {SBIN: "10100000003045", NIFTY: "101000000026000"}
        assert body["invalidSymbol"] == [fake_bad]
        # the app-id form is not what the SDK sends on this call: refused like a bad token
        wrong = await http.post(url, json={"symbols": [SBIN]}, headers={"Authorization": "x"})
        assert wrong.status_code == 401
        assert wrong.json() == {
            "s": "error",
            "code": -16,
            "message": "Could not authenticate the user",
        }
        bad_body = await http.post(url, content=b"{", headers={"Authorization": jwt})
        assert bad_body.status_code == 400 and bad_body.json()["code"] == -50
        too_many = await http.post(
            url, json={"symbols": [SBIN] * 501}, headers={"Authorization": jwt}
        )
        assert too_many.status_code == 400
        missing = await http.post(  # a data route the fake does not serve (spec 3.4 "Others")
            fake.rest_url + "/futures-chain", json={}, headers={"Authorization": jwt}
        )
        assert missing.status_code == 404
        get = await http.get(url, headers={"Authorization": jwt})
        assert get.status_code == 405
        await fake.expire_token()
        expired = await http.post(url, json={"symbols": [SBIN]}, headers={"Authorization": jwt})
        assert expired.status_code == 401 and expired.json()["code"] == -8
    assert fake.rest_calls == [[SBIN, NIFTY, fake_bad]]


async def test_permissive_and_strict_symbols() -> None:
    async with FakeFyersServer(seed=3, tick_interval=None) as default:  # strict, as Fyers
        assert default.instrument(SBIN) is not None and not default.loose_symbols
        assert default.instrument("NSE:ANYTHING-EQ") is None
        assert "loose" not in repr(default) and "strict" in default.symbols_note()
    async with FakeFyersServer(seed=3, tick_interval=None, loose_symbols=True) as loose:
        assert "loose" in repr(loose) and "LOOSE" in loose.symbols_note()
        assert loose.instrument("NSE:ANYTHING-EQ") is not None
        assert loose.instrument("BSE:FOO-A") is not None
        assert loose.instrument("NSE:NIFTY24DECFUT") is not None
        assert loose.instrument("XXX:FOO-EQ") is None  # no segment for that exchange
        assert loose.instrument("not a symbol") is None
    async with FakeFyersServer(seed=3, tick_interval=None, symbols=[SBIN]) as strict:
        assert strict.instrument(SBIN) is not None
        assert strict.instrument("NSE:INFY-EQ") is None


def test_token_is_fyers_shaped() -> None:
    fake = FakeFyersServer(seed=7)
    claims = decode_access_token(fake.access_token)
    assert claims.app_id == "ABCDEFGHIJ-100"  # 14 chars: the SDK's decoder accepts it (1.2)
    assert claims.hsm_key == fake.hsm_key and len(fake.hsm_key) == 56
    with pytest.raises(Exception, match="start the fake server first"):
        _ = fake.config


# ---- data socket ---------------------------------------------------------------------------


async def test_auth_ping_mode_subscribe_snapshot_then_updates(fake: FakeFyersServer) -> None:
    mapping = await topics(fake, SBIN, NIFTY)
    ws, codec = await login(fake)
    codec.map_symbols(mapping)
    codec.subscribe(list(mapping))
    for frame in codec.data_to_send():
        await ws.send(frame)
    reply = parse_server_frame(await recv(ws))
    assert reply == parse_server_frame(b"\x00\x06\x04\x01\x01\x00\x01K")  # subscribe OK
    snap = parse_server_frame(await recv(ws))
    assert isinstance(snap, DataFeed)
    assert all(isinstance(r, SnapshotRecord) for r in snap.records)
    assert {r.topic for r in snap.records if isinstance(r, SnapshotRecord)} == set(mapping)
    codec.receive_data(DataFeed(snap.message_number, snap.records).serialize())
    ticks = [e for e in codec.events_received() if isinstance(e, Tick)]
    assert {t.symbol for t in ticks} == {SBIN, NIFTY}
    sbin = next(t for t in ticks if t.symbol == SBIN)
    assert sbin.ltp_paise == 80000 and sbin.info.divisor == 100
    assert sbin.info.exchange == "NSE" and sbin.info.exchange_token == "3045"
    await fake.step()
    frame = await recv(ws)
    update = parse_server_frame(frame)
    assert isinstance(update, DataFeed) and update.message_number == snap.message_number + 1
    assert all(isinstance(r, UpdateRecord) for r in update.records)
    assert any(SENTINEL in r.values for r in update.records if isinstance(r, UpdateRecord))
    codec.receive_data(frame)
    assert {t.symbol for t in codec.events_received() if isinstance(t, Tick)} <= {SBIN, NIFTY}
    conn = fake.live_connections[0]
    assert conn.pings == 1 and conn.pings_before_auth == 1
    assert conn.requests[:3] == ["PingRequest", "AuthRequest", "ModeRequest"]
    assert conn.symbols == {SBIN, NIFTY} and conn.duplicate_subscribes == 0
    await ws.close()


async def test_lite_mode_sends_lite_records(fake: FakeFyersServer) -> None:
    mapping = await topics(fake, SBIN)
    ws, _ = await login(fake, lite=True)
    await ws.send(SubscribeRequest(tuple(mapping)).serialize())
    await recv(ws)  # subscribe reply
    await recv(ws)  # snapshot
    await fake.step()
    update = parse_server_frame(await recv(ws))
    assert isinstance(update, DataFeed)
    assert [type(r) for r in update.records] == [LiteRecord]
    await ws.close()


async def test_wrong_key_is_refused_and_closed(fake: FakeFyersServer) -> None:
    ws = await connect(fake.ws_url, compression=None, proxy=None)
    await ws.send(AuthRequest("not-the-key").serialize())
    reply = parse_server_frame(await recv(ws))
    assert reply == parse_server_frame(b"\x00\x0d\x01\x02\x01\x00\x01N\x02\x00\x04\x00\x00\x00\x00")
    await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 1008
    assert fake.connections[0].authenticated is False


async def test_authorization_header_means_silence(fake: FakeFyersServer) -> None:
    """Spec 1.1: the live gateway upgrades but never answers auth if the upgrade carried an
    Authorization header. Waiting for an absence needs a timeout; it is short and bounded."""
    ws = await connect(
        fake.ws_url,
        compression=None,
        proxy=None,
        additional_headers={"Authorization": fake.access_token},
    )
    await ws.send(AuthRequest(fake.hsm_key).serialize())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), 0.3)
    assert fake.connections[0].auth_header is True
    await ws.close()


async def test_subscribe_before_auth_is_refused_and_duplicates_counted(
    fake: FakeFyersServer,
) -> None:
    mapping = await topics(fake, SBIN)
    ws = await connect(fake.ws_url, compression=None, proxy=None)
    await ws.send(SubscribeRequest(tuple(mapping)).serialize())
    assert parse_server_frame(await recv(ws)) == parse_server_frame(
        b"\x00\x06\x04\x01\x01\x00\x01N"
    )
    await ws.close()
    ws, _ = await login(fake)
    for _ in range(2):
        await ws.send(SubscribeRequest(tuple(mapping)).serialize())
    await until(lambda: fake.live_connections[0].duplicate_subscribes == 1)
    await ws.send(UnsubscribeRequest(("sf|nse_cm|999999",)).serialize())
    await until(lambda: fake.live_connections[0].unknown_unsubscribes == 1)
    await ws.send(SubscribeRequest(("sf|nse_cm|424242",)).serialize())
    await until(lambda: fake.live_connections[0].unknown_topics == 1)
    await ws.close()


async def test_topic_limit_answers_51001() -> None:
    async with FakeFyersServer(seed=1, tick_interval=None, topic_limit=1) as fake:
        mapping = await topics(fake, SBIN, NIFTY)
        ws, _ = await login(fake)
        await ws.send(SubscribeRequest(tuple(mapping)).serialize())
        frames = [parse_server_frame(await recv(ws)) for _ in range(3)]
        assert CustomMessage(51001, "symbol limit exceeded", 4) in frames
        assert len(fake.live_connections[0].subscribed) == 1
        await ws.close()


async def test_garbage_frames_are_all_protocol_errors(fake: FakeFyersServer) -> None:
    """Every default garbage frame makes a client codec raise ProtocolError and nothing else."""
    for frame in GARBAGE_FRAMES:
        codec = DataCodec()
        with pytest.raises(ProtocolError):
            codec.receive_data(frame)
        assert codec.events_received() == []
    ws, _ = await login(fake)
    sent = await fake.send_garbage()
    assert sent == len(GARBAGE_FRAMES)
    got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(sent)]
    assert got == list(GARBAGE_FRAMES)
    await ws.close()


async def test_drop_and_stall(fake: FakeFyersServer) -> None:
    mapping = await topics(fake, SBIN)
    ws, _ = await login(fake)
    await ws.send(SubscribeRequest(tuple(mapping)).serialize())
    await recv(ws)
    await recv(ws)
    fake.stall()
    await fake.step()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), 0.1)
    fake.resume()
    await fake.step()
    resent = parse_server_frame(await recv(ws))  # a stalled connection gets fresh snapshots
    assert isinstance(resent, DataFeed) and isinstance(resent.records[0], SnapshotRecord)
    assert await fake.drop_connections() == 1
    await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 1001
    assert fake.live_connections == []


async def test_stall_for_seconds_resumes_by_itself(fake: FakeFyersServer) -> None:
    ws, _ = await login(fake)
    fake.stall(0.05)
    assert fake.connections[0].stalled
    await until(lambda: not fake.connections[0].stalled)
    await ws.close()


async def test_same_seed_same_prices() -> None:
    async def path(seed: int) -> list[int]:
        async with FakeFyersServer(seed=seed, tick_interval=None) as fake:
            inst = fake.instrument(SBIN)
            assert inst is not None
            out = []
            for _ in range(20):
                await fake.step()
                out.append(inst.values[0])
            return out

    assert await path(5) == await path(5)
    assert await path(5) != await path(6)


async def test_ack_count_is_announced_and_acks_recorded() -> None:
    async with FakeFyersServer(seed=1, tick_interval=None, ack_count=2) as fake:
        ws = await connect(fake.ws_url, compression=None, proxy=None)
        await ws.send(AuthRequest(fake.hsm_key).serialize())
        reply = parse_server_frame(await recv(ws))
        assert getattr(reply, "ack_count", None) == 2
        await ws.send(b"\x00\x09\x03\x01\x01\x00\x04\x00\x00\x00\x07")
        await until(lambda: fake.connections[0].acks == [7])
        await ws.send(ModeRequest.for_channel(11, lite=False).serialize())
        await recv(ws)
        await ws.close()


def test_cli_parses_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    from livetrade.fyers import fake as fake_module

    seen: dict[str, object] = {}

    async def fake_serve(port: int, rest_port: int | None, **kw: object) -> None:
        seen.update(port=port, rest_port=rest_port, **kw)

    monkeypatch.setattr(fake_module, "serve_forever", fake_serve)
    assert fake_module.main(["--port", "8765", "--seed", "4", "--interval", "0.5"]) == 0
    assert seen == {
        "port": 8765,
        "rest_port": None,
        "host": "127.0.0.1",
        "seed": 4,
        "tick_interval": 0.5,
        "loose_symbols": False,
    }
    assert fake_module.main(["--loose-symbols"]) == 0
    assert seen["loose_symbols"] is True


async def test_serve_forever_prints_config(capsys: pytest.CaptureFixture[str]) -> None:
    from livetrade.testing.fake_fyers import serve_forever

    out: list[str] = []

    def printed() -> bool:
        out.append(capsys.readouterr().out)
        return "fake access token" in "".join(out) or task.done()

    task = asyncio.create_task(serve_forever(0, tick_interval=0.05))
    await until(printed)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    text = "".join(out)
    assert "ws://127.0.0.1:" in text and "http://127.0.0.1:" in text
