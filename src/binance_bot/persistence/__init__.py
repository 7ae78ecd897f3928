"""Crash-safe state: SQLite by default, PostgreSQL by SQLAlchemy URL."""

from binance_bot.persistence.store import SqlStateStore, make_engine

__all__ = ["SqlStateStore", "make_engine"]
