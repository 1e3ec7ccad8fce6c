"""The one way money is written and read back: Indian grouping, two decimals, sign before ₹.

    inr(-123456750)               -> '-₹12,34,567.50'     (int: paise)
    inr(Decimal("9.6"), sign=True) -> '+₹9.60'             (Decimal: rupees)
    parse_rupees("1,23,456.50")   -> Decimal('123456.50')  (plain 1,234.50 grouping too)
    parse_quantity("2.5")         -> ValueError            (shares are whole)

Every rupee amount the dashboard, its sentences and its chart axes show goes through
``inr``, so a trader never has to read one number in two notations. Nothing here imports
anything heavy: the engine's sentences and the UI share it.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["group_indian", "inr", "parse_quantity", "parse_rupees", "rupees_text"]


def group_indian(whole: int) -> str:
    """``1234567`` → ``'12,34,567'`` (lakh/crore grouping, as Indian contract notes print)."""
    s = str(abs(whole))
    if len(s) > 3:
        head, tail = s[:-3], s[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        s = ",".join([*groups, tail])
    return ("-" if whole < 0 else "") + s


def _paise(value: int | Decimal) -> int:
    if isinstance(value, bool):
        raise TypeError("money is int paise or Decimal rupees, not bool")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    raise TypeError(f"money is int paise or Decimal rupees, not {type(value).__name__}")


def inr(value: int | Decimal | None, *, sign: bool = False, symbol: bool = True) -> str:
    """Money as text: an ``int`` is paise, a ``Decimal`` is rupees (rounded to the paisa).

    ``sign=True`` writes ``+`` before gains (P&L, changes); losses always carry ``-``, and it
    goes before the ₹ (``-₹12.50``). ``symbol=False`` drops the ₹ for a table column whose
    header already says rupees. ``None`` is an en dash (no value yet)."""
    if value is None:
        return "–"
    paise = _paise(value)
    rupees, p = divmod(abs(paise), 100)
    body = f"{'₹' if symbol else ''}{group_indian(rupees)}.{p:02d}"
    if paise < 0:
        return "-" + body
    return "+" + body if sign and paise > 0 else body


def rupees_text(paise: int) -> str:
    """Paise as the plain rupee text a price box is filled with (``80005`` → ``'800.05'``):
    no grouping, so the engine and any other parser reads it back."""
    rupees, p = divmod(abs(paise), 100)
    return f"{'-' if paise < 0 else ''}{rupees}.{p:02d}"


_AMOUNT = re.compile(
    r"""^(?P<whole>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})
        (?:\.(?P<frac>[0-9]+))?$""",
    re.VERBOSE,
)


def parse_rupees(text: str, name: str = "Price") -> Decimal:
    """A rupee amount as typed: ``800``, ``800.05``, ``₹1,234.50``, ``1,23,456.50``.

    Grouping must be consistent (all threes, or Indian: threes at the end, then twos); a stray
    comma is more likely a typo than a price, so it is refused. Raises ``ValueError`` with a
    sentence that starts with ``name`` (the input's label)."""
    raw = text.strip().replace(" ", "")
    if raw.startswith("₹"):
        raw = raw[1:]
    m = _AMOUNT.match(raw)
    if m is None:
        shown = text.strip()
        raise ValueError(f"{name}: {shown!r} is not a rupee amount (write e.g. 1,234.50).")
    frac = m.group("frac") or ""
    if len(frac) > 2:
        raise ValueError(f"{name}: {text.strip()} has more than two decimals (paise).")
    try:
        return Decimal(m.group("whole").replace(",", "") + ("." + frac if frac else ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValueError(f"{name}: {text.strip()!r} is not a rupee amount.") from None


_WHOLE = re.compile(r"^(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})$")


def parse_quantity(text: str, name: str = "Qty") -> int:
    """A number of shares as typed: whole and positive (``10``, ``1,000``). ``2.5``, ``2.0``,
    ``1e3`` and ``abc`` are refused with a sentence naming ``name`` — never rounded, because
    a dropped decimal point turns 2.5 into 25."""
    raw = text.strip()
    if not raw:
        raise ValueError(f"{name} is empty: type a whole number of shares.")
    if _WHOLE.match(raw) is None:
        if re.fullmatch(r"[0-9,]*\.[0-9]*", raw):
            raise ValueError(f"{name} must be a whole number of shares; {raw} is not.")
        raise ValueError(f"{name}: {raw!r} is not a number of shares (type e.g. 10).")
    qty = int(raw.replace(",", ""))
    if qty <= 0:
        raise ValueError(f"{name} must be at least 1 share.")
    return qty
