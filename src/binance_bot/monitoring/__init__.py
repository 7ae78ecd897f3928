"""Observability: logs with secret redaction, Prometheus metrics, the dashboard."""
