"""One event style for the whole package: :class:`Event`, subscribed with ``+=``.

ib_async's idea: ``session.fill_event += handler`` and ``-=`` to stop. The session's events,
the engine's, and the feeds' state and error reports are all this one class. It also answers
to ``append``/``remove`` and iteration, so code written against the old list-style callbacks
(``feed.on_state.append(print)``) keeps working.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Event"]

log = logging.getLogger("livetrade.session")  # where handler failures were always logged


class Event:
    """A subscribable event (ib_async style): ``session.fill_event += handler``.

    Handlers get the payload; a handler that raises is logged and reported on the session's
    ``error_event``, never propagated into the engine.
    """

    def __init__(self, name: str, on_error: Callable[[BaseException], None] | None = None) -> None:
        self.name = name
        self._handlers: list[Callable[..., Any]] = []
        self._on_error = on_error
        self._tasks: set[asyncio.Task[Any]] = set()

    def connect(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        self._handlers.append(handler)
        return handler

    def disconnect(self, handler: Callable[..., Any]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    def __iadd__(self, handler: Callable[..., Any]) -> Event:
        self.connect(handler)
        return self

    def __isub__(self, handler: Callable[..., Any]) -> Event:
        self.disconnect(handler)
        return self

    append = connect  # the list-style spelling older callers use
    remove = disconnect

    def set(self, handler: Callable[..., Any] | None) -> None:
        """The single-slot spelling (``sock.on_event = handler``): ``handler`` replaces every
        handler (None: none left)."""
        self._handlers = [] if handler is None else [handler]

    def first(self) -> Callable[..., Any] | None:
        """The handler a single-slot reader sees (the first connected), or None."""
        return self._handlers[0] if self._handlers else None

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        return iter(tuple(self._handlers))

    def __bool__(self) -> bool:
        return bool(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)

    def emit(self, *args: Any) -> None:
        for handler in tuple(self._handlers):
            try:
                res = handler(*args)
                if inspect.isawaitable(res):
                    task = asyncio.ensure_future(res)
                    self._tasks.add(task)
                    task.add_done_callback(self._done)
            except Exception as exc:
                self._fail(exc)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        log.warning("%s handler failed: %r", self.name, exc, exc_info=exc)
        if self._on_error is not None and self.name != "error":
            self._on_error(exc)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, handlers={len(self._handlers)})"
