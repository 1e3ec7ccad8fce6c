"""One backoff for every reconnecting connection (Fyers sockets and the Redis hub)."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from livetrade.backoff import Backoff, ExponentialBackoff
from livetrade.fyers.stream import ExponentialBackoff as FromStream


def test_the_stream_uses_the_one_class() -> None:
    assert FromStream is ExponentialBackoff


@given(st.integers(1, 40), st.floats(0, 1))
def test_delays_double_to_the_cap_within_the_jitter(attempt: int, jitter: float) -> None:
    b = ExponentialBackoff(base=0.5, factor=2, cap=30, jitter=jitter, rng=random.Random(attempt))
    d = min(30.0, 0.5 * 2 ** (attempt - 1))
    assert d * (1 - jitter) - 1e-12 <= b(attempt) <= d + 1e-12


def test_the_hub_counts_its_attempts_and_resets() -> None:
    b = Backoff(base=0.05, cap=1.0)
    delays = [b.next() for _ in range(8)]
    caps = [min(1.0, 0.05 * 2**n) for n in range(8)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, caps, strict=True))
    assert b.attempt == 8
    b.reset()
    assert b.attempt == 0 and b.next() <= 0.05
