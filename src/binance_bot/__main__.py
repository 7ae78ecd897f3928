"""``python -m binance_bot`` runs the command-line interface."""

from binance_bot.cli.main import run

if __name__ == "__main__":
    run()
