"""Failed API-token attempts counted per client: past a limit in a window the client is
refused (429 with Retry-After) until its oldest failure in the window has aged out.

A client is its IP address as the server sees it (behind a proxy, every client is the
proxy). Memory is bounded: at most ``max_clients`` addresses are remembered, the ones
that failed longest ago are forgotten first.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Wrong tokens a client may send within WINDOW_S before it is refused.
LIMIT = 10
WINDOW_S = 60.0
MAX_CLIENTS = 10_000


class FailureThrottle:
    """Counts failures per client in a sliding window of ``window_s`` seconds."""

    def __init__(self, limit: int = LIMIT, window_s: float = WINDOW_S, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.max_clients, self.clock = limit, window_s, max_clients, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int:
        """Seconds ``client`` must wait before its next attempt is looked at; 0 if it may try now."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[0] + self.window_s - self.clock()))

    def failed(self, client: str) -> None:
        """Count a failed attempt of ``client``."""
        failures = self._recent(client)
        failures.append(self.clock())
        self._failures[client] = failures
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
        if len(failures) == self.limit:
            log.warning("%s sent %d wrong API tokens within %.0f s: refused for a while", client, self.limit,
                        self.window_s)

    def _recent(self, client: str) -> deque[float]:
        """``client``'s failures within the window (older ones dropped)."""
        failures = self._failures.get(client, deque(maxlen=self.limit))
        while failures and failures[0] <= self.clock() - self.window_s:
            failures.popleft()
        if not failures:
            self._failures.pop(client, None)
        return failures
