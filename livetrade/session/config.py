"""SessionConfig: what ``open_session`` accepts, checked once, each refusal naming its field.

``open_session(**keywords)`` builds one; ``open_session(config=SessionConfig(...))`` takes one
(keywords left at their defaults keep the config's values, any other keyword replaces it).
The config holds what was asked; the session derives what it runs with (the charges model, the
product enum, the square-off time, the calendar) through the properties below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING

from livetrade.brokers.paper import FillModel
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.market_hours import MarketHours
from livetrade.model import IST, Product
from livetrade.money import ChargesModel, FlatCommission, IndianEquityCharges, NoCharges
from livetrade.risk import RiskLimits

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.fyers.broker import FyersRestClient
    from livetrade.fyers.credentials import FyersConfig

DEFAULT_START = datetime(2025, 6, 2, 9, 15, tzinfo=IST)  # a Monday; charges use 2025 rates
DEFAULT_WALLET = Decimal("1000000")
FEEDS = ("sim", "replay", "fyers", "hub")
CHARGES: dict[str, Callable[[], ChargesModel]] = {
    "india": IndianEquityCharges,
    "flat": FlatCommission,
    "none": NoCharges,
}


@dataclass(frozen=True)
class SessionConfig:
    """Every setting of a session (see :func:`livetrade.session.open_session` for each one's
    meaning). Frozen: ``dataclasses.replace(config, name="other")`` makes a variant, checked
    again. A bad value raises ``InvalidInput`` naming the field (an unknown ``feed``:
    ``LiveTradeError``), before any session is closed or journal opened."""

    feed: str = "sim"
    broker: str = "paper"
    name: str = "default"
    seed: int | None = None
    realtime: bool = True
    symbols: dict[str, Decimal] | list[str] | None = None
    wallet_balance: Decimal | int | str | None = None
    start: datetime | None = None
    tick_interval: float = 1.0
    speed: float = 1.0
    charges: str | ChargesModel = "india"
    limits: RiskLimits | None = None
    slippage_bps: int = 0
    fills: FillModel = "touch"
    slippage_ticks: int = 0
    latency_ms: int = 0
    replay: pd.DataFrame | str | None = field(default=None, repr=False)
    history: int = 100_000
    default_product: Product | str = Product.INTRADAY
    journal: bool = True
    journal_dir: str | Path | None = None
    fyers: FyersConfig | None = None
    hub: str | None = None
    square_off: str | EllipsisType | None = ...
    live: bool = False
    shadow: bool = False
    fyers_client: FyersRestClient | None = field(default=None, repr=False)
    poll_interval: float | None = 1.0
    order_updates: str = "socket"
    respect_calendar: bool | MarketHours = False
    derivatives: bool = False
    tick_by_price: bool = False
    margin_check: bool = True

    def __post_init__(self) -> None:
        feed, broker, live = self.feed, self.broker, self.live
        if feed not in FEEDS:
            raise LiveTradeError(f"feed={feed!r} is not one of 'sim', 'replay', 'fyers', 'hub'.")
        if feed in ("fyers", "hub") and not self.realtime:
            raise InvalidInput("realtime", f"a {feed} feed runs on the wall clock (realtime=True)")
        if feed == "hub" and not self.hub:
            raise InvalidInput("hub", "feed='hub' needs hub='redis://host:port/db'")
        if broker not in ("paper", "fyers"):
            raise InvalidInput("broker", f"{broker!r} is not 'paper' or 'fyers'")
        if broker == "fyers" and not live:
            raise InvalidInput(
                "live",
                "broker='fyers' sends real orders with real money: say so with live=True "
                "(and then arm the session with session.arm_live(confirm='LIVE'))",
            )
        if live and broker != "fyers":
            raise InvalidInput("broker", "live=True needs broker='fyers'")
        if self.shadow and not live:
            raise InvalidInput("shadow", "shadow mode runs paper beside live: it needs live=True")
        if self.order_updates not in ("socket", "poll"):
            raise InvalidInput("order_updates", f"{self.order_updates!r} is not 'socket' or 'poll'")
        if not self.tick_interval > 0 or not self.speed > 0:
            raise InvalidInput("tick_interval", "tick_interval and speed must be positive")
        if isinstance(self.charges, str) and self.charges not in CHARGES:
            raise InvalidInput("charges", f"{self.charges!r} is not one of {', '.join(CHARGES)}")
        if isinstance(self.square_off, str):
            parse_hhmm(self.square_off)
        if feed == "replay" and self.replay is None:
            raise InvalidInput("replay", "feed='replay' needs replay=<DataFrame or CSV path>")
        if self.derivatives and feed != "sim":
            raise InvalidInput("derivatives", "simulated derivatives need feed='sim'")
        if not isinstance(self.margin_check, bool):
            raise InvalidInput("margin_check", "must be True or False")

    # ------------------------------------------------------------------ derived settings
    @property
    def wallet(self) -> Decimal | int | str:
        """The starting cash asked for (₹10,00,000 when not given)."""
        return DEFAULT_WALLET if self.wallet_balance is None else self.wallet_balance

    @property
    def product(self) -> Product:
        """``default_product`` as the enum (``ValueError`` for an unknown name, as always)."""
        p = self.default_product
        return Product(p) if isinstance(p, str) else p

    @property
    def square_off_time(self) -> time | None:
        """The daily INTRADAY square-off (IST): "15:15" by default on Fyers quotes or live
        orders, off on simulated markets."""
        text = self.square_off
        if text is ...:
            text = "15:15" if self.feed == "fyers" or self.live else None
        return None if text is None else parse_hhmm(text)

    @property
    def calendar(self) -> MarketHours | None:
        """The exchange calendar enforced, or None (hours not enforced)."""
        cal = self.respect_calendar
        return MarketHours() if cal is True else cal or None

    def charges_model(self) -> ChargesModel:
        """A new charges model by name, or the instance given."""
        return CHARGES[self.charges]() if isinstance(self.charges, str) else self.charges


def parse_hhmm(text: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise InvalidInput("square_off", f"{text!r} is not a time like '15:15'") from None


def charges_model(charges: str | ChargesModel) -> ChargesModel:
    """``charges=`` as a model ("india", "flat", "none", or an instance)."""
    if not isinstance(charges, str):
        return charges
    if charges not in CHARGES:
        raise InvalidInput("charges", f"{charges!r} is not one of {', '.join(CHARGES)}")
    return CHARGES[charges]()
