"""I/O adapters that implement the engine's ports: Binance (live, testnet, local simulator)."""
