"""Lost answers and many orders in one go: a place whose answer was lost is looked up in the
order book by tag (never resent blind); baskets (``POST /multi-order/sync``) and sliced orders
(``isSliceOrder``) are answered leg by leg, and a lost answer settled leg by leg the same
way. Used by :class:`~livetrade.fyers.broker.FyersRestClient`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from livetrade.errors import AuthError, FyersApiError, RateLimited
from livetrade.fyers.failures import Lost, NotSent, SubmitUncertain
from livetrade.fyers.order_args import basket_body
from livetrade.fyers.records import (
    _RATE_CODE,
    BasketAck,
    BasketLeg,
    BrokerOrder,
    FyersOrderRejected,
    LegResult,
    OrderAck,
    _int_or_none,
    _leg_results,
    _str,
    rejection_from,
)
from livetrade.model import OrderStatus

if TYPE_CHECKING:
    from livetrade.fyers.broker import FyersRestClient

__all__ = ["BASKET_PATH", "look_for", "look_for_slices", "place_basket", "recovered", "sliced"]

log = logging.getLogger("livetrade.fyers.broker")

BASKET_PATH: Final = "/multi-order/sync"


async def place_basket(
    client: FyersRestClient, legs: Sequence[BasketLeg | Mapping[str, Any]]
) -> BasketAck:
    """Place up to 10 orders in one request (``POST /multi-order/sync``); Fyers answers
    each on its own, so one may be refused while the others are placed (see
    ``BasketAck.legs``). Legs are :class:`BasketLeg` or dicts of its fields.

    A lost answer is settled by tag in the order book: legs found there are placed, the
    rest resent (only those) while ``submit_attempts`` allow, else marked ``uncertain``.
    Raises :class:`FyersOrderRejected` for a bad leg (nothing sent) or a basket Fyers
    refused whole, :class:`~livetrade.errors.AuthError` for a dead token.
    """
    bodies = basket_body(client.token.fy_id, legs)
    results: dict[int, LegResult] = {}
    todo = list(range(len(bodies)))
    attempts = 0
    message, code = "", None
    while todo:
        attempts += 1
        log.info("placing a Fyers basket of %d orders (attempt %d)", len(todo), attempts)
        try:
            status, data = await client._call(
                "POST", BASKET_PATH, body=[bodies[i] for i in todo], order=True
            )
        except NotSent as exc:
            if attempts >= client.submit_attempts:
                if results:  # an earlier send placed some: report, do not raise
                    for i in todo:
                        results[i] = LegResult(
                            i, bodies[i]["orderTag"], None, f"not sent ({exc})", uncertain=True
                        )
                    break
                raise FyersOrderRejected(
                    "BROKER_UNREACHABLE",
                    f"Fyers could not be reached ({exc}); the basket was not placed.",
                ) from None
            continue
        except Lost as exc:
            found = await _basket_lookup(client, [bodies[i] for i in todo], str(exc))
            if found is None:  # cannot tell: never resend blind
                for i in todo:
                    results[i] = LegResult(
                        i, bodies[i]["orderTag"], None, f"answer lost ({exc})", uncertain=True
                    )
                break
            for i in list(todo):
                row = found.get(bodies[i]["orderTag"])
                if row is not None:
                    results[i] = LegResult(i, row.tag, row.order_id, row.message, recovered=True)
                    todo.remove(i)
            if todo and attempts >= client.submit_attempts:
                for i in todo:
                    results[i] = LegResult(
                        i, bodies[i]["orderTag"], None, f"answer lost ({exc})", uncertain=True
                    )
                break
            continue
        except RateLimited as exc:
            raise FyersOrderRejected(
                "RATE_LIMITED",
                f"{exc}; the basket was not placed.",
                fyers_code=_RATE_CODE,
                http_status=429,
            ) from None
        if data.get("s") != "ok":
            refused = rejection_from(
                client._scrub(_str(data.get("message"))),
                _int_or_none(data.get("code")),
                status,
                action="the basket",
            )
            if not results:
                raise refused
            for i in todo:  # a resend refused whole: the legs placed before stand
                tag = bodies[i]["orderTag"]
                results[i] = LegResult(i, tag, None, refused.reason, rejection=refused)
            break
        message, code = _str(data.get("message")), _int_or_none(data.get("code"))
        legs_back = _leg_results(
            data.get("data"), [bodies[i]["orderTag"] for i in todo], client._scrub
        )
        for leg in legs_back:
            results[todo[leg.index]] = dataclasses.replace(leg, index=todo[leg.index])
        todo = []
    return BasketAck(
        tuple(results[i] for i in range(len(bodies))), message, code, attempts=attempts
    )


async def _basket_lookup(
    client: FyersRestClient, bodies: list[dict[str, Any]], why: str
) -> dict[str | None, BrokerOrder] | None:
    """After a lost basket answer: the legs the order book shows, by tag (None if it
    could not be read: those legs end up ``uncertain``, never resent blind)."""
    await client._sleep(client.settle_delay)
    try:
        book = await client.orderbook()
    except (FyersApiError, AuthError) as exc:
        log.warning("basket answer lost (%s); the order book could not be read: %s", why, exc)
        return None
    tags = {b["orderTag"] for b in bodies}
    return {o.tag: o for o in book if o.tag in tags}


def sliced(client: FyersRestClient, data: Mapping[str, Any], tag: str, attempts: int) -> OrderAck:
    """The Auto-Order Slice answer: one result per slice; raises if none was placed."""
    code = data.get("code")
    rows = data.get("data")
    legs = _leg_results(rows, [tag] * len(rows if isinstance(rows, list) else []), client._scrub)
    placed = [leg for leg in legs if leg.order_id is not None]
    if not placed:
        first = next((leg.rejection for leg in legs if leg.rejection is not None), None)
        raise first or rejection_from("no slice was placed", _int_or_none(code), None)
    return OrderAck(
        placed[0].order_id or "",
        tag,
        _str(data.get("message")),
        _int_or_none(code),
        attempts=attempts,
        slices=tuple(legs),
    )


async def look_for_slices(
    client: FyersRestClient, tag: str, body: Mapping[str, Any], why: str, attempts: int
) -> OrderAck | None:
    """After a lost answer to a sliced order: the slices the order book shows under its
    tag (None: none, so nothing was placed). Never resent blind: an unreadable book is
    :class:`SubmitUncertain`."""
    last = ""
    for _ in range(client.lookup_attempts):
        await client._sleep(client.settle_delay)
        try:
            rows = [o for o in await client.orderbook() if o.tag == tag]
        except (FyersApiError, AuthError) as exc:
            last = str(exc)
            if isinstance(exc, AuthError):
                break
            continue
        if any(r.symbol != body["symbol"] or int(r.side) != body["side"] for r in rows):
            raise SubmitUncertain(
                f"the order book has orders tagged {tag!r} for another symbol or side: "
                "tags must be unique",
                tag,
            )
        log.info("after %s the sliced order tagged %s has %d slices", why, tag, len(rows))
        if not rows:
            return None
        legs = tuple(
            LegResult(i, tag, r.order_id, r.message, recovered=True) for i, r in enumerate(rows)
        )
        return OrderAck(
            rows[0].order_id,
            tag,
            "found in the order book after a lost answer",
            recovered=True,
            attempts=attempts,
            slices=legs,
        )
    raise SubmitUncertain(
        f"the answer to the sliced order tagged {tag!r} was lost ({why}) and the order "
        f"book could not be read ({last}); check the order book before placing it again",
        tag,
    )


async def look_for(
    client: FyersRestClient, tag: str, body: Mapping[str, Any], why: str
) -> BrokerOrder | None:
    """After a lost answer: is the tagged order in the book? (None = certainly not.)"""
    last = ""
    for _ in range(client.lookup_attempts):
        await client._sleep(client.settle_delay)
        try:
            found = await client.find_by_tag(tag)
        except SubmitUncertain:
            raise
        except (FyersApiError, AuthError) as exc:  # cannot tell: never resend blind
            last = str(exc)
            if isinstance(exc, AuthError):
                break
            continue
        if found is not None and (
            found.symbol != body["symbol"]
            or int(found.side) != body["side"]
            or found.quantity != body["qty"]
        ):
            raise SubmitUncertain(
                f"the order book has order {found.order_id} tagged {tag!r} but for "
                f"{found.side.name} {found.quantity} {found.symbol}: tags must be unique",
                tag,
            )
        log.info(
            "after %s the order tagged %s is %s",
            why,
            tag,
            "in the book" if found else "not in the book",
        )
        return found
    raise SubmitUncertain(
        f"the answer to the order tagged {tag!r} was lost ({why}) and the order book "
        f"could not be read ({last}); check find_by_tag() before placing it again",
        tag,
    )


def recovered(found: BrokerOrder, tag: str, attempts: int) -> OrderAck:
    if found.status is OrderStatus.REJECTED:
        raise rejection_from(found.message, None, None)
    return OrderAck(
        found.order_id,
        tag,
        "found in the order book after a lost answer",
        recovered=True,
        attempts=attempts,
    )
