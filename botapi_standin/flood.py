"""Optional flood control: the stand-in answers 429 when the bot sends faster than Telegram allows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FloodLimits:
    """Optional flood control: answer 429 when the bot sends faster than Telegram allows.

    Limits apply to sending methods (``send*`` but ``sendChatAction``, ``copyMessage``,
    ``forwardMessage``) that succeed. Each limit is a token bucket (a burst of its size, then the
    steady rate), the same model as PTB's ``AIORateLimiter``, so a bot that respects the limits
    with that limiter never sees a 429 here. Defaults are Telegram's published ones: 30 messages
    per second overall, 20 per minute per group, and (a soft limit in reality) one per second per
    private chat after a burst of ``private_burst``. ``None`` disables a limit.
    """

    global_per_second: float | None = 30
    group_per_minute: float | None = 20
    private_per_second: float | None = 1
    private_burst: int = 3
    retry_after: int = 1
    tolerance: float = 0.1
    """A send that would be allowed this many seconds later passes (network jitter between the
    bot's limiter and this server would otherwise turn compliant traffic into 429s)."""


@dataclass
class TokenBucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 if one is)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1
