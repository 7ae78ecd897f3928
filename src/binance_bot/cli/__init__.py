"""The ``binance-bot`` command line: one module per command group."""
