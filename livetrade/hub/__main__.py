"""``python -m livetrade.hub ...``: the hub without the ``livetrade`` command (tests, services)."""

import sys

from livetrade.hub.server import hub_main

raise SystemExit(hub_main(sys.argv[1:]))
