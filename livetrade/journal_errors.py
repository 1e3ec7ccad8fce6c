"""The journal's typed errors, and the advice every damaged-journal message ends with.

Why its own module: the store (``livetrade.journal``), restore and replay all raise them, and
callers (the CLI, the API, ``open_session``) catch them without needing the store itself.
"""

from __future__ import annotations

from livetrade.errors import LiveTradeError

_MOVE_ASIDE = "Move it aside (or restore a backup) to start again; it is never overwritten."


class JournalError(LiveTradeError):
    """The journal cannot be used; the message says why and what to do."""


class JournalLocked(JournalError):
    """Another session (or process) has this journal open."""


class JournalCorrupt(JournalError, ValueError):
    """The file is not a readable livetrade journal: empty, truncated, or a row that does not
    decode, does not restore or does not match its hash. The message names the file, the row
    (``seq``) and the reason."""


class JournalTooNew(JournalError):
    """The journal was written by a newer livetrade (its schema version is higher)."""
