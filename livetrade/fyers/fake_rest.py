"""Moved to :mod:`livetrade.testing.fake_rest` (test doubles live apart from the real client);
this import path keeps working and is the same module object."""

import sys

from livetrade.testing import fake_rest as _moved

sys.modules[__name__] = _moved
