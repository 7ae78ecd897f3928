"""Named places where a crash-campaign run kills its own process, to prove recovery.

``BINANCE_BOT_CRASH_AT=<point>[:<n>]`` makes the process SIGKILL itself the ``n``-th time
(default 1st) execution reaches ``<point>``. Unset (always, outside the crash tests) the
check is one dictionary lookup. The points follow an order's life:

* ``intent_written``: the intent is committed, nothing sent yet;
* ``order_in_flight``: the request is on the wire, its answer not yet read (the kill is
  scheduled a moment after sending);
* ``acknowledged``: the exchange answered, nothing recorded from the answer yet;
* ``filled``: a fill was accounted in memory, the position not yet saved;
* ``protection_sent``: the OCO was acknowledged, its legs not yet recorded.
"""

from __future__ import annotations

import asyncio
import os
import signal

ENV = "BINANCE_BOT_CRASH_AT"
POINTS = ("intent_written", "order_in_flight", "acknowledged", "filled", "protection_sent")

_spec = os.environ.get(ENV, "")
_target, _, _nth = _spec.partition(":")
_remaining = int(_nth) if _nth.isdigit() else 1
_IN_FLIGHT_DELAY_S = 0.05


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def crash_point(name: str) -> None:
    """SIGKILL this process here when the campaign asks for it (see the module docstring)."""
    global _remaining
    if name != _target:
        return
    _remaining -= 1
    if _remaining > 0:
        return
    if name == "order_in_flight":
        asyncio.get_running_loop().call_later(_IN_FLIGHT_DELAY_S, _die)
    else:
        _die()
