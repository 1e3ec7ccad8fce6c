"""Property-based fuzzing of the REST API from its own OpenAPI schema (schemathesis).

Every operation of ``/openapi.json`` is exercised in-process, through schemathesis' ASGI transport,
against a paper session on the virtual clock that has quotes, in all three of schemathesis'
phases (the schema's examples; its coverage cases — boundaries, negations of every keyword,
unsupported methods; random fuzzing), with positive (schema-valid) and negative data. Each
response must:

- not be a 5xx;
- conform to the schema: a documented status code, the documented content type and headers, a
  body that validates against the documented model (405s: an ``Allow`` header);
- be a 4xx if the request was generated to violate the schema;
- if a 4xx, have left the engine exactly as it was (cash, orders, positions, fills...).

The market steps once (one virtual second) before every case, so quotes move, the per-minute
order-rate window slides and resting orders placed by earlier cases can fill. A dictionary of
known symbols, quantities, prices and order ids is drawn into some cases so that they get past
"unknown symbol" to fills, brackets and cancels.

Separately, ``test_schema_valid_requests_are_not_refused_as_invalid`` records every schema-valid
request answered 422 (the request schema promising less than the API checks) and
``test_request_schema_matches_what_the_api_accepts`` probes the request shapes where the
schema and the API once disagreed (numeric strings, enum case, price strings and bounds).

Token enforcement (a token required off loopback, a wrong token → 401) is covered in
``test_api.py`` (``test_token_is_required_when_set``,
``test_serve_api_refuses_a_public_host_without_a_token``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import livetrade as lt
from livetrade.api import PREFIX, create_app
from livetrade.feeds import DEFAULT_SYMBOLS

MIN_CASES = 2_000
MAX_EXAMPLES = 300  # per operation, fuzzing phase (examples and coverage phases add their own)
SBIN = "NSE:SBIN-EQ"
PRICE_FIELDS = (
    "limit_price",
    "trigger_price",
    "stop_loss_price",
    "take_profit_price",
    "last_price",
    "bid_price",
    "ask_price",
)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20250602,
        "generation": {"deterministic": True, "database": "none"},
        "dictionaries": {
            "symbols": {"values": [*DEFAULT_SYMBOLS, "NSE:UNKNOWN-EQ", "SBIN"]},
            "quantities": {"values": [1, 2, 5, 10, 100]},
            "prices": {"values": [780, 795.5, 799.95, 800, 800.05, 805, 820, 1490, 1500, 1510]},
            "order_ids": {"values": [f"LT{i:07d}" for i in range(1, 60)]},
        },
        "parameters": {
            "body.symbol": {"dictionary": "symbols", "probability": 0.6},
            "query.symbol": {"dictionary": "symbols", "probability": 0.5},
            "body.quantity": {"dictionary": "quantities", "probability": 0.5},
            "body.order_id": {"dictionary": "order_ids", "probability": 0.6},
            **{
                f"body.{name}": {"dictionary": "prices", "probability": 0.5}
                for name in PRICE_FIELDS
            },
        },
        # Schema-valid data may still be refused by the engine (unknown symbol, no cash: 400,
        # nothing to cancel: 404/409) but never as a malformed request (422).
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "403", "404", "409", "429"]
            }
        },
    }
)

# Read once at collection from an app on a bare engine: routes and models do not depend on what
# the app serves (``test_the_schema_is_the_served_one``); every case goes to the session's app.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(lt.LiveTradingEngine()), config=CONFIG
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    allow_header_conformance,
    negative_data_rejection,
]

Snapshot = tuple[Any, ...]


def snapshot(engine: lt.LiveTradingEngine) -> Snapshot:
    """The engine state a refused request must leave untouched."""
    return (
        engine.cash_paise,
        engine.charges_paise,
        [(o.order_id, o.status, o.quantity, o.filled_quantity) for o in engine.orders],
        sorted(
            (p.symbol, p.product.value, p.quantity, p.avg_buy_price, p.realized_pnl)
            for p in engine.positions(include_closed=True)
        ),
        len(engine.fills),
        engine.kill_switch,
        engine.get_risk_orders(),
    )


@dataclass
class Fuzz:
    """The session under test and what the fuzzing did to it."""

    session: lt.Session
    app: Any
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    phases: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused_valid: list[tuple[str | None, str]] = field(default_factory=list)
    """Schema-valid requests answered 422: (the field blamed, a description)."""

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())


@pytest.fixture(scope="module")
def fuzz() -> Iterator[Fuzz]:
    with asyncio.Runner() as runner:
        session = runner.run(
            lt.open_session(seed=11, realtime=False, journal=False, name="api-schemathesis")
        )
        runner.run(session.run_for(ticks=5))
        # resting orders (ids LT0000001-LT0000010) for the cancels to find: limits far from the
        # market and the two legs of a bracket
        # (inside the ±20% circuit band, which the session enforces)
        engine = session.engine
        last = session.stream.quote(SBIN).last_price  # type: ignore[union-attr]
        for i in range(8):
            engine.submit(SBIN, lt.Side.BUY, 1, "LIMIT", limit_price=last * 85 // 100 + i)
        engine.submit(SBIN, lt.Side.BUY, 10, stop_loss=last * 9 // 10, take_profit=last * 11 // 10)
        assert len(engine.open_orders()) == 10
        state = Fuzz(session=session, app=create_app(session))
        try:
            yield state
        finally:
            runner.run(session.close())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi_schema(case: schemathesis.Case[Any], fuzz: Fuzz) -> None:
    engine = fuzz.session.engine
    fuzz.session.step()
    before = snapshot(engine)
    response = case.call(app=fuzz.app)
    after = snapshot(engine)
    fuzz.statuses[(case.operation.label, response.status_code)] += 1
    if case.meta is not None:
        fuzz.phases[(case.meta.phase.name.value, case.meta.generation.mode.value)] += 1
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert after == before, (case.operation.label, response.status_code, response.text)
    try:
        case.validate_response(response, checks=[positive_data_acceptance])
    except FailureGroup:
        blamed = response.json().get("field")
        fuzz.refused_valid.append(
            (blamed, f"{case.operation.label} {case.body!r} → {response.text}")
        )


def _all_fuzzed(request: pytest.FixtureRequest) -> None:
    """The tests below read what the fuzz items (earlier in this file) recorded."""
    ours = [i for i in request.session.items if i.name.startswith("test_api_conforms")]
    if len(ours) < len(list(schema.get_all_operations())):
        pytest.skip("needs every operation fuzzed in this run")


def test_fuzzing_generated_enough_cases(fuzz: Fuzz, request: pytest.FixtureRequest) -> None:
    _all_fuzzed(request)
    print(f"\nschemathesis: {fuzz.cases} cases")
    for (phase, mode), n in sorted(fuzz.phases.items()):
        print(f"  {phase:9} {mode:9} {n}")
    for (label, status), n in sorted(fuzz.statuses.items()):
        print(f"  {label:40} {status}  {n}")
    assert fuzz.cases >= MIN_CASES, fuzz.statuses
    # both sides of the write endpoints were reached, not only the validation layer
    for name in ("buy", "sell", "cancel", "update-price"):
        seen = {s for (label, s) in fuzz.statuses if label == f"POST {PREFIX}/{name}"}
        assert 200 in seen and seen & {400, 404, 409}, (name, seen)


def test_the_schema_is_the_served_one(fuzz: Fuzz) -> None:
    assert fuzz.app.openapi() == schema.raw_schema


def test_schema_valid_requests_are_refused_as_invalid_only_for_known_gaps(
    fuzz: Fuzz, request: pytest.FixtureRequest
) -> None:
    _all_fuzzed(request)
    unknown = [what for blamed, what in fuzz.refused_valid if blamed not in PRICE_FIELDS]
    assert unknown == [], "\n".join(unknown[:10])


def test_schema_valid_requests_are_not_refused_as_invalid(
    fuzz: Fuzz, request: pytest.FixtureRequest
) -> None:
    _all_fuzzed(request)
    assert fuzz.refused_valid == [], "\n".join(what for _, what in fuzz.refused_valid[:10])


# ====================================================================== direct probes
def _request_validator(name: str) -> jsonschema_rs.Validator:
    components = schema.raw_schema["components"]
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


@pytest.mark.parametrize(
    ("endpoint", "model", "body"),
    [
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 5}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 1, "stop_loss_price": "700.50"}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": True}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 1, "tag": 5}),
        ("update-price", "PriceUpdate", {"symbol": SBIN, "last_price": 800, "volume": 7}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": "5"}),
        ("update-price", "PriceUpdate", {"symbol": SBIN, "last_price": 800, "volume": "7"}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 1, "order_type": "market"}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 1, "product": "cnc"}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 1, "stop_loss_price": "abc"}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 1, "limit_price": "NaN"}),
        ("buy", "OrderRequest", {"symbol": SBIN, "quantity": 1, "stop_loss_price": 1e11}),
        ("update-price", "PriceUpdate", {"symbol": SBIN, "last_price": -1e11}),
    ],
)
async def test_request_schema_matches_what_the_api_accepts(
    endpoint: str, model: str, body: dict[str, Any]
) -> None:
    """A body is valid per the published schema exactly when the API does not answer 422."""
    session = await lt.open_session(seed=5, realtime=False, journal=False, name="api-probe")
    try:
        await session.run_for(ticks=3)
        transport = httpx.ASGITransport(app=create_app(session))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.post(f"{PREFIX}/{endpoint}", json=body)
        assert r.status_code < 500
        assert _request_validator(model).is_valid(body) == (r.status_code != 422), r.text
    finally:
        await session.close()
