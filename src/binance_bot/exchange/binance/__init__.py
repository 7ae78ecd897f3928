"""Binance Spot: wire schemas, signed REST client, streams and the connector facade."""
