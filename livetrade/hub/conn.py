"""Redis plumbing shared by the hub and its sessions: one way to connect, to retry, to read.

Both sides retry on their own terms (state changes, backoff, resubscribe), so redis-py's
built-in command retries are turned off: a lost connection surfaces at once as an error the
caller's loop handles, instead of stalling a heartbeat for several hidden retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "RETRYABLE",
    "BlockingReads",
    "as_bytes",
    "as_text",
    "iter_xread",
    "open_redis",
    "pairs",
    "redact",
    "still_running",
    "stop_tasks",
    "wait_event",
    "xread_raw",
]

RETRYABLE: Final = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
"""Errors that mean "Redis is unreachable for now" (``BusyLoadingError`` is one of them)."""


def _raw(response: Any, **options: Any) -> Any:
    return response


def open_redis(
    url: str, *, socket_timeout: float | None = 5.0, connect_timeout: float = 2.0
) -> aredis.Redis:
    """A ``redis.asyncio.Redis`` for ``url`` with no hidden retries and raw ``XREAD`` replies.

    The raw reply skips redis-py's per-entry dict building on the hot path; :func:`iter_xread`
    reads it whichever RESP version the server speaks. ``socket_timeout=None`` is for the hot
    paths (the hub's writes, a session's reads), which bound each call with ``asyncio.timeout``
    instead: with a socket timeout redis-py runs every send in a task of its own under
    ``asyncio.wait_for``, which costs about a fifth of a small command's CPU.
    """
    client = aredis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    client.set_response_callback("XREAD", _raw)
    return client


async def xread_raw(
    client: aredis.Redis,
    keys: list[bytes],
    ids: list[bytes],
    *,
    count: int,
    block_ms: int,
    timeout: float = 5.0,
) -> Any:
    """``XREAD COUNT count BLOCK block_ms STREAMS keys ids``, reply left raw (see
    :func:`open_redis`); ``keys`` and ``ids`` pair up in order. ``TimeoutError`` (an
    ``OSError``, so in :data:`RETRYABLE`) if Redis has not answered ``timeout`` seconds after
    the block ended."""
    async with asyncio.timeout(block_ms / 1000 + timeout):
        return await client.execute_command(  # type: ignore[no-untyped-call]
            "XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", *keys, *ids
        )


class BlockingReads:
    """A session's ``XREAD BLOCK`` loop on a connection of its own, the command packed here.

    The same streams are read over and over with new ids: the command's head (streams and
    options) is packed once per change of the symbol set, and only the ids are packed per
    call. redis-py's generic packing of a few hundred arguments, and the pool's bookkeeping
    around each call, were a sixth of a session's CPU at 10,000 quotes/s. The connection is
    redis-py's own, so the handshake, RESP version and reply parsing (hiredis) are unchanged.
    """

    def __init__(self, client: aredis.Redis) -> None:
        self._client = client
        self._conn: Any = None
        self._shape: tuple[tuple[bytes, ...], int, int] | None = None
        self._head = b""

    async def read(
        self, keys: list[bytes], ids: list[bytes], *, count: int, block_ms: int, timeout: float
    ) -> Any:
        """The raw reply (see :func:`iter_xread`); ``TimeoutError`` if Redis has not answered
        ``timeout`` seconds after the block ended, ``RETRYABLE`` errors if it is gone."""
        shape = (tuple(keys), count, block_ms)
        if shape != self._shape:
            self._shape = shape
            head = [b"XREAD", b"COUNT", b"%d" % count, b"BLOCK", b"%d" % block_ms, b"STREAMS"]
            self._head = b"*%d\r\n" % (len(head) + 2 * len(keys)) + b"".join(
                [b"$%d\r\n%s\r\n" % (len(a), a) for a in (*head, *keys)]
            )
        body = b"".join([b"$%d\r\n%s\r\n" % (len(i), i) for i in ids])
        if self._conn is None:
            self._conn = await self._client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        conn = self._conn
        try:
            async with asyncio.timeout(block_ms / 1000 + timeout):
                await conn.send_packed_command([self._head, body], check_health=False)
                return await conn.read_response()
        except BaseException:
            await conn.disconnect(nowait=True)  # a reply may be half read: never reuse it
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.disconnect(nowait=True)
            await self._client.connection_pool.release(conn)


def as_bytes(value: bytes | str | None) -> bytes:
    """redis-py types replies as ``bytes | str``; without ``decode_responses`` they are bytes."""
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode()


def as_text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; ``True`` if it is set.

    Not ``asyncio.wait_for``: on Python 3.11 it can swallow a cancellation that arrives as its
    timeout fires, and a loop built on it then never stops. ``asyncio.timeout`` counts
    cancellations properly.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
    return event.is_set()


def still_running() -> bool:
    """``False`` once the current task was asked to stop.

    redis-py sends each command under ``asyncio.wait_for``, which on Python 3.11 swallows a
    cancellation that lands just as the send completes; the task then runs on with its
    cancel request still counted. Loops test this so they end anyway.
    """
    task = asyncio.current_task()
    return task is None or task.cancelling() == 0


async def stop_tasks(tasks: list[asyncio.Task[None]], timeout: float = 5.0) -> None:
    """Cancel ``tasks`` and wait for them, cancelling again any that swallowed it (see
    :func:`still_running`), for at most ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = [t for t in tasks if not t.done()]
    while pending and loop.time() < deadline:
        for t in pending:
            t.cancel()
        await asyncio.wait(pending, timeout=0.05)
        pending = [t for t in pending if not t.done()]
    for t in tasks:
        if t.done() and not t.cancelled():
            t.exception()  # retrieved: a task that failed while stopping is not news


def iter_xread(reply: Any) -> Iterator[tuple[bytes, list[Any]]]:
    """``(stream key, [[id, [field, value, ...]], ...])`` pairs of a raw ``XREAD`` reply
    (a map in RESP3, a list of pairs in RESP2, ``None`` on timeout)."""
    if not reply:
        return iter(())
    if isinstance(reply, dict):
        return iter(reply.items())
    return ((key, entries) for key, entries in reply)


def pairs(fields: list[Any]) -> dict[bytes, bytes]:
    """A raw entry's ``[field, value, ...]`` as a dict."""
    it = iter(fields)
    return dict(zip(it, it, strict=True))


def redact(url: str) -> str:
    """``url`` without its password, for logs and state reasons."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
