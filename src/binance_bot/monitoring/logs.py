"""Logging to the console (rich) and to rotating files in ``./logs/``, secrets redacted.

Redaction happens in the formatters, on the final text of each record, so it covers the
message, its arguments, exception text and tracebacks alike, whatever library logged it.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from binance_bot.config.redaction import redact
from binance_bot.config.schema import MonitoringConfig

LOG_FILE = "binance-bot.log"
JSON_LOG_FILE = "binance-bot.jsonl"
_INSTALLED_ATTR = "_binance_bot_handler"


class RedactingFormatter(logging.Formatter):
    """A plain formatter whose output has every secret masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]  # noqa: N802 (stdlib name)
        return redact(super().formatException(ei))


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line, for log shippers; redacted like the text logs."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, default=str))


class TailHandler(logging.Handler):
    """Keeps the last lines in memory (redacted) for the dashboard's log view."""

    def __init__(self, capacity: int = 500) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=capacity)
        self.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a broken record must never break the bot
            self.handleError(record)


_tail: TailHandler | None = None


def log_tail() -> list[str]:
    """The last redacted log lines (empty before :func:`setup_logging`)."""
    return list(_tail.lines) if _tail is not None else []


def setup_logging(
    config: MonitoringConfig,
    *,
    console: bool = True,
    level: str | None = None,
    stream: object | None = None,
    rich_console: Console | None = None,
) -> Path:
    """Install console, rotating-file and optional JSON-lines handlers; returns the log dir.

    Safe to call more than once: handlers installed earlier by this function are replaced.
    """
    global _tail
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _INSTALLED_ATTR, False):
            root.removeHandler(handler)
            handler.close()
    effective = (level or config.log_level).upper()
    root.setLevel(effective)

    fmt = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
    handlers: list[logging.Handler] = []
    if console:
        # a caller showing a rich Live display passes its console, so log lines print above it
        out = rich_console or Console(file=stream or sys.stderr, soft_wrap=True)
        ch = RichHandler(console=out, show_path=False, rich_tracebacks=False, markup=False)
        ch.setFormatter(RedactingFormatter("%(message)s"))
        handlers.append(ch)
    log_dir = Path(config.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    fh = logging.handlers.RotatingFileHandler(
        log_dir / LOG_FILE,
        maxBytes=config.log_max_bytes,
        backupCount=config.log_backup_count,
        encoding="utf-8",
    )
    fh.setFormatter(RedactingFormatter(fmt))
    handlers.append(fh)
    if config.json_logs:
        jh = logging.handlers.RotatingFileHandler(
            log_dir / JSON_LOG_FILE,
            maxBytes=config.log_max_bytes,
            backupCount=config.log_backup_count,
            encoding="utf-8",
        )
        jh.setFormatter(JsonLinesFormatter())
        handlers.append(jh)
    _tail = TailHandler()
    handlers.append(_tail)
    for handler in handlers:
        setattr(handler, _INSTALLED_ATTR, True)
        root.addHandler(handler)
    # Third-party libraries are chatty at DEBUG; keep them at WARNING unless asked.
    for noisy in ("asyncio", "aiohttp.access", "urllib3", "py4j", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return log_dir


def remove_logging() -> None:
    """Uninstall what :func:`setup_logging` installed (tests, and programs embedding the bot)."""
    global _tail
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _INSTALLED_ATTR, False):
            root.removeHandler(handler)
            handler.close()
    _tail = None
