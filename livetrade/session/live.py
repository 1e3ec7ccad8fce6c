"""A live session's Fyers side: arming, reconciliation, the order books, the token's day
(relogin), the REST budget and the shadow paper engine. Anything about a Fyers account
belongs here."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livetrade.errors import AuthError, InvalidInput, LiveTradeError
from livetrade.model import OrderStatus, Product
from livetrade.money import to_paise
from livetrade.session.orders import Orders

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.governor import GovernorStats
    from livetrade.live import LiveRouter, Reconciliation

log = logging.getLogger("livetrade.session")


class Live(Orders):
    """One layer of :class:`~livetrade.session.Session` (see ``livetrade.session.state``)."""

    @property
    def mode(self) -> str:
        """``"PAPER"``, ``"LIVE"`` (armed: orders go to Fyers) or ``"LIVE (not armed)"``."""
        if self.router is None:
            return "PAPER"
        return "LIVE" if self.router.armed else "LIVE (not armed)"

    async def _open_live(self, wallet_given: bool) -> None:
        """Live session start: check the token, take the wallet from Fyers' funds on a fresh
        session, reconcile, then start polling for order updates."""
        assert self.router is not None
        client = self.router.client
        client.check_token()
        if not wallet_given and not self.engine.orders:
            available = (await client.funds()).available_balance
            if available is not None and available >= 0:
                paise = to_paise(available, "available balance")
                self.engine.initial_paise = self.engine.cash_paise = paise
                if self.journal is not None:
                    config = self.journal.get_meta("config") or {}
                    self.journal.set_meta("config", {**config, "wallet_paise": paise})
                self._pnl.clear()
                self._sample(force=True)
        await self.reconcile()
        self.router.start()
        if self.order_socket is not None:
            self.order_socket.start()
        rec = self.reconciliation
        assert rec is not None
        log.warning(
            "LIVE session %r opened (not armed): %s",
            self.name,
            "in step with Fyers" if rec.ok else f"{len(rec.differences)} differences with Fyers",
        )

    async def reconcile(
        self, *, adopt: bool = False, cancel_unknown: bool = False
    ) -> Reconciliation:
        """Compare our positions and working orders with Fyers' (after reading back any fill
        and status change first). ``adopt=True`` takes on Fyers' position differences (orders
        placed elsewhere) at Fyers' average price; ``cancel_unknown=True`` cancels orders
        working at Fyers that are not ours. Returns the result (also ``session.reconciliation``).
        """
        from livetrade.live import reconcile

        self._check_open()
        router = self._live_router()
        await router.sync()
        rec = await reconcile(self.engine, router.client)
        if adopt or cancel_unknown:
            if adopt:
                self._adopt(rec)
            if cancel_unknown:
                for b in rec.broker_orders:
                    working = b.status in (OrderStatus.OPEN, OrderStatus.PENDING)
                    if working and router.order_for(b.order_id) is None:
                        await router.client.cancel_order(b.order_id)
            await router.sync()
            rec = await reconcile(self.engine, router.client)
        self.reconciliation = rec
        return rec

    def _adopt(self, rec: Reconciliation) -> None:
        """Book each position difference at Fyers' average price (else the last price)."""
        ours = {(p.symbol, p.product.value): p.quantity for p in self.engine.positions()}
        for key in set(rec.broker_positions) | set(ours):
            qty, avg = rec.broker_positions.get(key, (0, Decimal(0)))
            diff = qty - ours.get(key, 0)
            symbol, product = key
            if diff == 0:
                continue
            price = to_paise(avg) if avg > 0 else self.stream.last_paise(symbol)
            if product not in ("INTRADAY", "CNC", "MARGIN") or not price:
                log.warning("cannot adopt %s %s: product or price unknown", symbol, product)
                continue
            self.engine.adopt_position(symbol, Product(product), diff, price)

    def _live_router(self) -> LiveRouter:
        if self.router is None:
            raise LiveTradeError(
                "this is a paper session: open_session(broker='fyers', live=True, ...) to trade "
                "live"
            )
        return self.router

    async def arm_live(
        self, confirm: str = "", *, accept_differences: bool = False
    ) -> Reconciliation:
        """Allow real orders in this session: ``confirm`` must be exactly ``"LIVE"``. The token
        must be valid and a fresh reconciliation must show no blocking difference (or
        ``accept_differences=True``, having read them). Raises ``LiveNotArmed`` otherwise."""
        from livetrade.live import LiveNotArmed

        self._check_open()
        router = self._live_router()
        if confirm != "LIVE":
            raise InvalidInput(
                "confirm", "type confirm='LIVE' to send real orders with real money to Fyers"
            )
        router.client.check_token()
        rec = await self.reconcile()
        if not rec.ok and not accept_differences:
            raise LiveNotArmed(
                f"{len(rec.differences)} differences between this session and Fyers (see "
                "the exception's .differences): resolve them with session.reconcile(adopt=True"
                ", cancel_unknown=True), or arm_live(confirm='LIVE', accept_differences=True)",
                rec.differences,
            )
        router.armed = True
        log.warning("LIVE trading ARMED for session %r: orders go to Fyers", self.name)
        self.feed_event.emit(self.mode)
        return rec

    def disarm_live(self) -> None:
        """Stop sending new live orders (working orders stay; exits still go through)."""
        self._live_router().armed = False
        self.feed_event.emit(self.mode)

    async def sync_orders(self) -> Any:
        """Read Fyers' order book and tradebook now (also done every ``poll_interval``)."""
        return await self._live_router().sync()

    async def relogin(
        self, access_token: str | None = None, *, timeout: float | None = 30.0
    ) -> datetime:
        """Carry on with a new Fyers access token (after the daily login) without restarting:
        REST uses it from now on, the order socket and the data socket reconnect with it
        (watched symbols, orders and positions stay), the books are read back once, and a
        halt the dead token caused is lifted (never one you set). ``access_token`` is
        ``APP_ID:jwt`` or a bare JWT; None reads ``$FYERS_ACCESS_TOKEN`` / the token file.
        The token is tried on Fyers first: ``AuthError`` if it is refused or expired, and
        then nothing changed. Returns when the new token expires."""
        from dataclasses import replace

        from livetrade.fyers.credentials import load_access_token, token_claims

        self._check_open()
        if self.router is None and self.fyers_feed is None:
            raise LiveTradeError(f"a {self.feed} session without Fyers has no token to renew")
        token = load_access_token(access_token)  # AuthError naming where it looked
        claims = token_claims(token)
        if claims.expired(self.clock.now_ns() // 1_000_000_000):
            raise AuthError(
                "the new Fyers access token has already expired: log in again for a fresh one"
            )
        if self.router is not None:
            client = self.router.client
            old = client.token
            client.set_token(token)  # AuthError if it is for another app
            try:
                await client.profile()  # Fyers accepts it, or nothing changes
            except BaseException:
                client.set_token(old)
                raise
            if self.order_socket is not None:
                await self.order_socket.set_authorization(client.token.authorization)
        if self.fyers_feed is not None:
            feed = self.fyers_feed
            feed.config = replace(feed.config, access_token=token)
            self.market_data.fyers = None  # history requests: the new token from now on
            manager = feed.manager
            await manager.set_access_token(token)
            if manager.state.status != "failed":
                await manager.disconnect()  # the old token's connection: reconnect now
            await manager.reconnect(timeout)
        self._token_watch = self.token_notice = None
        if self.router is not None:
            if self.router.token_renewed():
                log.warning("new Fyers token: live trading resumed (%s)", self.engine.kill_switch)
            await self._read_back()
        expires = self.token_expires_at
        assert expires is not None
        log.warning("Fyers token renewed for session %r: valid until %s", self.name, expires)
        self.feed_event.emit(self.mode)
        return expires

    async def reload_token(
        self, token_file: str | Path | None = None, *, timeout: float | None = 30.0
    ) -> datetime:
        """:meth:`relogin` with the token ``livetrade login`` saved (or ``token_file``; see
        ``FyersConfig.load``), ignoring ``$FYERS_ACCESS_TOKEN`` (a shell's old token)."""
        import os

        from livetrade.fyers.credentials import ENV_TOKEN, load_access_token

        env = {k: v for k, v in os.environ.items() if k != ENV_TOKEN}
        token = load_access_token(None, token_file=token_file, env=env)
        return await self.relogin(token, timeout=timeout)

    def shadow_df(self) -> pd.DataFrame:
        """Shadow mode: per live order, live vs paper price, slippage and time to fill."""
        if self.shadow is None:
            raise LiveTradeError("no shadow engine: open the live session with shadow=True")
        return self.shadow.frame()

    def shadow_summary(self) -> dict[str, Any]:
        """Shadow mode in one line per figure: mean and median slippage (paise and ticks) of
        the paper fill model against Fyers' fills, fill ratio, orders compared, paper refusals."""
        if self.shadow is None:
            raise LiveTradeError("no shadow engine: open the live session with shadow=True")
        return self.shadow.summary()

    def rate_stats(self) -> GovernorStats | None:
        """Today's Fyers REST budget of a live session's app: requests, orders, 429 minutes and
        the governor's warnings (``livetrade.governor``); ``None`` without a Fyers client."""
        if self.router is None:
            return None
        from livetrade.governor import RateGovernor

        limiter = self.router.client.limiter
        return limiter.stats() if isinstance(limiter, RateGovernor) else None
