"""Fyers login: login URL, redirect parsing, the auth-code exchange (differential against the
official SDK's ``SessionModel`` on a loopback fake), the token and its 0600 file.

Nothing here can reach a real host: an autouse guard refuses any socket connection that is not
loopback, and every base URL is checked to be loopback before use.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

from livetrade.errors import AuthError
from livetrade.fyers.auth import (
    DEFAULT_API_URL,
    Token,
    TokenExpired,
    app_id_hash,
    default_token_path,
    exchange_auth_code,
    load_token,
    login_url,
    parse_auth_code,
    save_token,
)
from livetrade.fyers.rest import is_loopback
from livetrade.fyers.symbols import mint_fake_token
from livetrade.model import IST
from livetrade.testing.fake_rest import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    FakeFyersRest,
    RecordedRequest,
    ThreadedFakeServer,
    mock_transport,
)

fyers_model = pytest.importorskip("fyers_apiv3.fyersModel")
requests = pytest.importorskip("requests")

HSM = "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
NOW = 1_780_000_000  # 2026-05-28 ~ 20:26 UTC
TRANSPORT_HEADERS = {"host", "user-agent", "accept", "accept-encoding", "connection",
                     "content-length"}  # fmt: skip


# ---- guards and fixtures --------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeFyersRest:
    return FakeFyersRest(prices={"NSE:SBIN-EQ": "800.00"})


@pytest.fixture
def server(fake: FakeFyersRest) -> Iterator[ThreadedFakeServer]:
    with ThreadedFakeServer(fake) as srv:
        assert is_loopback(srv.base_url)
        yield srv


@pytest.fixture
def sdk_api(server: ThreadedFakeServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the SDK's hard-coded base URL at the fake."""
    monkeypatch.setattr(fyers_model.Config, "API", server.base_url)
    assert is_loopback(fyers_model.Config.API)
    return server.base_url


def protocol_headers(req: RecordedRequest) -> dict[str, str]:
    """The headers that belong to the Fyers protocol (not to the HTTP library)."""
    return {k: v for k, v in req.headers.items() if k not in TRANSPORT_HEADERS}


def token_for(exp: int, app_id: str | None = None, fy_id: str = "XY00001") -> str:
    return mint_fake_token(HSM, exp, fy_id=fy_id, app_id=app_id)


# ---- login URL and redirect -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "nonce"), [(None, None), ("openid", None), (None, "n0nce"), ("openid", "n0nce")]
)
def test_login_url_matches_sdk(scope: str | None, nonce: str | None) -> None:
    model = fyers_model.SessionModel(
        client_id=DEFAULT_APP_ID,
        redirect_uri="https://127.0.0.1:8080/callback?x=1&y=a b",
        response_type="code",
        state="st-42",
        scope=scope,
        nonce=nonce,
    )
    ours = login_url(
        DEFAULT_APP_ID,
        "https://127.0.0.1:8080/callback?x=1&y=a b",
        "st-42",
        scope=scope,
        nonce=nonce,
    )
    assert ours == model.generate_authcode()
    assert ours.startswith(DEFAULT_API_URL + "/generate-authcode?")


def test_login_url_rejects_empty() -> None:
    with pytest.raises(Exception, match="redirect_uri"):
        login_url(DEFAULT_APP_ID, "")


def test_parse_auth_code_forms(fake: FakeFyersRest) -> None:
    url = fake.redirect_url("https://127.0.0.1/cb", "s1")
    code = parse_auth_code(url, state="s1")
    assert code.count(".") == 2
    assert parse_auth_code(url.split("?", 1)[1]) == code
    assert parse_auth_code("?" + url.split("?", 1)[1]) == code
    assert parse_auth_code(f"  {code}\n") == code


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "paste"),
        ("https://127.0.0.1/cb?s=error&code=-413&message=Invalid+app", "Invalid app"),
        ("https://127.0.0.1/cb?s=ok&code=200&state=s1", "no auth_code"),
        ("abc def", "does not look like"),
    ],
)
def test_parse_auth_code_refusals(text: str, match: str) -> None:
    with pytest.raises(AuthError, match=match):
        parse_auth_code(text)


def test_parse_auth_code_state_mismatch_and_expiry(fake: FakeFyersRest) -> None:
    url = fake.redirect_url("https://127.0.0.1/cb", "mine")
    code = parse_auth_code(url)
    with pytest.raises(AuthError, match="state") as info:
        parse_auth_code(url, state="theirs")
    assert code not in str(info.value)
    with pytest.raises(AuthError, match="expired") as info:
        parse_auth_code(code, now=time.time() + 3600)
    assert code not in str(info.value)


# ---- the exchange: differential against the SDK --------------------------------------------


async def test_exchange_matches_sdk_generate_token(
    fake: FakeFyersRest, server: ThreadedFakeServer, sdk_api: str
) -> None:
    code_sdk, code_ours = fake.issue_auth_code(), fake.issue_auth_code()
    session = fyers_model.SessionModel(
        client_id=fake.app_id,
        secret_key=fake.app_secret,
        redirect_uri="https://127.0.0.1/cb",
        response_type="code",
        grant_type="authorization_code",
    )
    session.set_token(code_sdk)
    sdk_answer = session.generate_token()
    token = await exchange_auth_code(
        fake.app_id, fake.app_secret, code_ours, base_url=server.base_url
    )
    sdk_req, our_req = fake.requests_to("/validate-authcode")
    # same request: method, path, query, protocol headers, JSON body (the code aside)
    assert (our_req.method, our_req.path, our_req.query) == (
        sdk_req.method,
        sdk_req.path,
        sdk_req.query,
    )
    assert (
        protocol_headers(our_req)
        == protocol_headers(sdk_req)
        == {"content-type": "application/json"}
    )
    assert sdk_req.body == {
        "grant_type": "authorization_code",
        "appIdHash": app_id_hash(fake.app_id, fake.app_secret),
        "code": code_sdk,
    }
    assert our_req.body == {**sdk_req.body, "code": code_ours}
    assert list(our_req.body) == list(sdk_req.body)  # key order too
    # same answer shape, parsed to the same values
    assert sdk_answer["s"] == "ok"
    sdk_token = Token.from_jwt(fake.app_id, sdk_answer["access_token"])
    assert token.app_id == sdk_token.app_id == fake.app_id
    assert token.fy_id == sdk_token.fy_id == fake.fy_id
    assert abs((token.expires_at - sdk_token.expires_at).total_seconds()) <= 1
    assert token.access_token == fake.access_token  # the newest token works
    assert token.authorization == f"{fake.app_id}:{fake.access_token}"


@pytest.mark.parametrize(
    ("secret", "reuse", "code_no"),
    [("wrong-secret", False, -16), (DEFAULT_APP_SECRET, True, -17)],
)
async def test_exchange_refusals_match_sdk(
    fake: FakeFyersRest,
    server: ThreadedFakeServer,
    sdk_api: str,
    secret: str,
    reuse: bool,
    code_no: int,
) -> None:
    code = fake.issue_auth_code()
    if reuse:  # a code works once
        await exchange_auth_code(fake.app_id, secret, code, base_url=server.base_url)
    session = fyers_model.SessionModel(
        client_id=fake.app_id, secret_key=secret, grant_type="authorization_code"
    )
    session.set_token(code)
    sdk_answer = session.generate_token()
    assert sdk_answer["s"] == "error" and sdk_answer["code"] == code_no
    with pytest.raises(AuthError) as info:
        await exchange_auth_code(fake.app_id, secret, code, base_url=server.base_url)
    text = str(info.value)
    assert f"code {code_no}" in text and sdk_answer["message"] in text
    assert secret not in text and code not in text


async def test_exchange_timeout_and_garbage() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        with pytest.raises(AuthError, match="timed out after 2 s"):
            await exchange_auth_code(
                "APP-1", "s3cret", "a.b.c", base_url="http://127.0.0.1:9", client=client, timeout=2
            )

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(html)) as client:
        with pytest.raises(AuthError, match="HTTP 502 with a non-JSON body"):
            await exchange_auth_code(
                "APP-1", "s3cret", "a.b.c", base_url="http://127.0.0.1:9", client=client
            )
    with pytest.raises(AuthError, match="app_secret"):
        await exchange_auth_code("APP-1", " ", "a.b.c", base_url="http://127.0.0.1:9")


async def test_exchange_over_mock_transport_uses_given_client(fake: FakeFyersRest) -> None:
    async with httpx.AsyncClient(transport=mock_transport(fake)) as client:
        token = await exchange_auth_code(
            fake.app_id,
            fake.app_secret,
            fake.issue_auth_code(),
            base_url="http://127.0.0.1:1/api/v3",
            client=client,
        )
        assert not client.is_closed  # a client we were given stays open
    assert token.access_token == fake.access_token


# ---- the token ------------------------------------------------------------------------------


def test_token_from_jwt_and_expiry() -> None:
    jwt = token_for(NOW + 3600)
    token = Token.from_jwt("APP-1", jwt)
    assert token.expires_at == datetime.fromtimestamp(NOW + 3600, tz=IST)
    assert token.fy_id == "XY00001"
    assert Token.from_jwt("APP-1", f"APP-1:{jwt}") == token
    assert not token.expired(NOW) and token.expired(NOW + 3600)
    assert token.seconds_left(NOW) == 3600
    assert "valid until" in token.describe(NOW) and "in 1 h 00 min" in token.describe(NOW)
    assert token.ensure_valid(NOW) is token
    with pytest.raises(TokenExpired, match=r"expired at .* IST .*log in again") as info:
        token.ensure_valid(NOW + 7200)
    assert info.value.expired_at == token.expires_at
    assert isinstance(info.value, AuthError)
    assert "EXPIRED" in token.describe(NOW + 7200)


def test_token_refusals_never_quote_the_token() -> None:
    jwt = token_for(NOW + 60)
    with pytest.raises(AuthError, match="for app 'OTHER-1'") as info:
        Token.from_jwt("APP-1", f"OTHER-1:{jwt}")
    assert jwt not in str(info.value)
    bad = "x.eyJmb28iOjF9.y"  # no exp / hsm_key
    with pytest.raises(AuthError, match="not valid") as info:
        Token.from_jwt("APP-1", bad)
    assert bad not in str(info.value)
    with pytest.raises(AuthError):
        Token.from_jwt("", jwt)


def test_token_repr_hides_secret() -> None:
    jwt = token_for(NOW + 60)
    token = Token.from_jwt("APP-1", jwt)
    for text in (repr(token), str(token), token.describe(NOW)):
        assert jwt not in text and jwt.split(".")[1] not in text
    assert "APP-1" in repr(token)


# ---- the token file -------------------------------------------------------------------------


def test_default_path_follows_data_dir(tmp_path: Path) -> None:
    assert default_token_path({"LIVETRADE_DATA_DIR": str(tmp_path)}) == (
        tmp_path / "fyers-token.json"
    )
    assert default_token_path({"XDG_DATA_HOME": str(tmp_path)}) == (
        tmp_path / "livetrade" / "fyers-token.json"
    )
    assert default_token_path({}) == Path.home() / ".local/share/livetrade/fyers-token.json"


def test_save_and_load_roundtrip(tmp_path: Path) -> None:
    token = Token.from_jwt("APP-1", token_for(int(time.time()) + 3600))
    path = save_token(token)  # conftest points LIVETRADE_DATA_DIR at a temp dir
    assert path == default_token_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["fyers-token.json"]  # no temp left
    record = json.loads(path.read_text())
    assert record["app_id"] == "APP-1" and record["access_token"] == token.access_token
    assert load_token() == token
    assert load_token(path, app_id="APP-1") == token
    other = tmp_path / "deep" / "dir" / "t.json"
    save_token(token, other)
    assert stat.S_IMODE(other.parent.stat().st_mode) == 0o700
    assert load_token(other) == token


def test_save_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    first = Token.from_jwt("APP-1", token_for(int(time.time()) + 60))
    second = Token.from_jwt("APP-1", token_for(int(time.time()) + 7200))
    save_token(first, path)
    save_token(second, path)
    assert load_token(path) == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


def test_load_refuses_expired_with_clear_error(tmp_path: Path) -> None:
    path = save_token(Token.from_jwt("APP-1", token_for(NOW)), tmp_path / "t.json")
    with pytest.raises(TokenExpired) as info:
        load_token(path, now=NOW + 5400)
    text = str(info.value)
    assert "expired at" in text and "1 h 30 min ago" in text and "log in again" in text
    assert load_token(path, now=NOW + 5400, allow_expired=True).expired(NOW + 5400)


def test_load_refuses_unsafe_or_foreign_files(tmp_path: Path) -> None:
    token = Token.from_jwt("APP-1", token_for(int(time.time()) + 3600))
    path = save_token(token, tmp_path / "t.json")
    with pytest.raises(AuthError, match="for app 'APP-1', not 'APP-2'"):
        load_token(path, app_id="APP-2")
    os.chmod(path, 0o644)
    with pytest.raises(AuthError, match="chmod 600") as info:
        load_token(path)
    assert token.access_token not in str(info.value)
    with pytest.raises(AuthError, match="log in first"):
        load_token(tmp_path / "missing.json")
    with pytest.raises(AuthError, match="not a regular file"):
        load_token(tmp_path)
    for content, match in (("", "empty"), ('{"app_id": 1}', "lacks"), ("::", "not valid")):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        os.chmod(bad, 0o600)
        with pytest.raises(AuthError, match=match):
            load_token(bad)


def test_load_plain_text_token_file(tmp_path: Path) -> None:
    jwt = token_for(int(time.time()) + 3600)
    plain = tmp_path / "plain"
    plain.write_text(f"APP-9:{jwt}\n")
    os.chmod(plain, 0o600)
    assert load_token(plain).app_id == "APP-9"
    bare = tmp_path / "bare"
    bare.write_text(jwt)
    os.chmod(bare, 0o600)
    with pytest.raises(AuthError, match="app_id"):
        load_token(bare)
    assert load_token(bare, app_id="APP-3").authorization == f"APP-3:{jwt}"


# ---- secrets stay out of logs ---------------------------------------------------------------


async def test_full_login_logs_no_secret(
    fake: FakeFyersRest,
    server: ThreadedFakeServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, httpx and httpcore included
    url = login_url(fake.app_id, "https://127.0.0.1/cb", "st", base_url=server.base_url)
    code = parse_auth_code(fake.redirect_url("https://127.0.0.1/cb", "st"), state="st")
    token = await exchange_auth_code(fake.app_id, fake.app_secret, code, base_url=server.base_url)
    save_token(token, tmp_path / "t.json")
    load_token(tmp_path / "t.json")
    with pytest.raises(AuthError) as info:
        await exchange_auth_code(fake.app_id, "nope-secret", code, base_url=server.base_url)
    logged = caplog.text + str(info.value) + url
    assert "Fyers login ok" in caplog.text
    for secret in (
        fake.app_secret,
        "nope-secret",
        code,
        token.access_token,
        app_id_hash(fake.app_id, fake.app_secret),
    ):
        assert secret not in logged
