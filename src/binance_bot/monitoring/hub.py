"""What a trading session observes about itself beside the kernel: event counts, the webhook.

:class:`Monitoring` is created with the session, before the kernel starts, so no fill or
kill-switch notice of the run is missed by the counters or the webhook, whether or not a
dashboard is ever opened.
"""

from __future__ import annotations

from binance_bot.config import MonitoringConfig
from binance_bot.errors import ConfigError
from binance_bot.monitoring.events import EventCounter, Notifier
from binance_bot.monitoring.webhook import WebhookNotifier


class Monitoring:
    def __init__(self, config: MonitoringConfig) -> None:
        self.events = EventCounter()
        self.webhook: WebhookNotifier | None = None
        if config.webhook_url:
            try:
                self.webhook = WebhookNotifier(config.webhook_url)
            except ValueError as exc:
                raise ConfigError(str(exc), key="monitoring.webhook_url") from None

    @property
    def notifiers(self) -> list[Notifier]:
        """The callables to add to the session's notifier list."""
        return [self.events] if self.webhook is None else [self.events, self.webhook]

    async def start(self) -> None:
        if self.webhook is not None:
            await self.webhook.start()

    async def close(self) -> None:
        """Give queued webhook events a few seconds to go out (the kill-switch notice last)."""
        if self.webhook is not None:
            await self.webhook.close()
