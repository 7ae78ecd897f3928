"""Orchestration: the trading kernel, per-symbol workers, order lifecycle, control facade."""
