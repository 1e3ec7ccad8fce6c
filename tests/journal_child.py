"""A trading script for the crash test: prints one line per acknowledged order, flushed."""

from __future__ import annotations

import asyncio
import random
import sys

import livetrade as lt


async def main(journal_dir: str, seed: int) -> None:
    s = await lt.open_session(seed=seed, realtime=False, name="crash", journal_dir=journal_dir)
    rnd = random.Random(seed)
    await s.run_for(ticks=5)
    for _ in range(150):
        await s.run_for(ticks=rnd.randint(1, 30))
        sym = rnd.choice(["NSE:SBIN-EQ", "NSE:INFY-EQ"])
        q = s.stream.quote(sym)
        assert q is not None
        try:
            if rnd.random() < 0.5:
                o = await s.buy(
                    sym,
                    rnd.randint(1, 20),
                    stop_loss=q.last_price - rnd.randint(1, 4),
                    take_profit=q.last_price + rnd.randint(1, 4),
                )
            elif rnd.random() < 0.5:
                o = await s.sell(sym, rnd.randint(1, 20))
            else:
                o = await s.buy(
                    sym, rnd.randint(1, 5), order_type="LIMIT", limit_price=q.last_price - 1
                )
            print("ACK", o.order_id, o.status.value, o.filled_quantity, flush=True)
        except lt.OrderRejected as e:
            print("REJ", e.code, flush=True)
    await s.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
