"""Reconnect delays: one exponential backoff with jitter for every connection that retries.

The Fyers data and order sockets ask :class:`ExponentialBackoff` for the delay before attempt
*n*; the Redis hub, which counts its own attempts, uses the stateful :class:`Backoff` over it.
"""

from __future__ import annotations

import random

from livetrade.errors import InvalidInput

__all__ = ["Backoff", "ExponentialBackoff"]


class ExponentialBackoff:
    """Delay before reconnect attempt *n* (1-based): ``base * factor**(n-1)``, capped, with jitter.

    The jitter spreads clients that lost the same server: the delay is drawn uniformly from
    ``[d * (1 - jitter), d]``.
    """

    def __init__(
        self,
        base: float = 1.0,
        factor: float = 2.0,
        cap: float = 30.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if base < 0 or factor < 1 or cap < 0 or not 0 <= jitter <= 1:
            raise InvalidInput(
                "backoff", "needs base >= 0, factor >= 1, cap >= 0, 0 <= jitter <= 1"
            )
        self.base, self.factor, self.cap, self.jitter = base, factor, cap, jitter
        self._rng = rng if rng is not None else random.Random()

    def __call__(self, attempt: int) -> float:
        delay = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        return delay * (1.0 - self.jitter * self._rng.random())

    def __repr__(self) -> str:
        return (
            f"ExponentialBackoff(base={self.base}, factor={self.factor}, cap={self.cap}, "
            f"jitter={self.jitter})"
        )


class Backoff:
    """An :class:`ExponentialBackoff` that counts its own attempts: ``next()`` for the next
    delay, ``reset()`` after a success.

    The hub's defaults are small (0.05 s doubling to 1 s): Redis on loopback comes back in well
    under a second after a restart, and every second of waiting is a second of quotes held back.
    """

    def __init__(self, base: float = 0.05, cap: float = 1.0) -> None:
        self.delays = ExponentialBackoff(base=base, factor=2.0, cap=cap, jitter=0.5)
        self.attempt = 0

    @property
    def base(self) -> float:
        return self.delays.base

    @property
    def cap(self) -> float:
        return self.delays.cap

    def next(self) -> float:
        self.attempt += 1
        return self.delays(self.attempt)

    def reset(self) -> None:
        self.attempt = 0
