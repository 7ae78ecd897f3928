from __future__ import annotations

import logging
from pathlib import Path

from binance_bot.config import MonitoringConfig, register_secret
from binance_bot.monitoring.logs import JSON_LOG_FILE, LOG_FILE, log_tail, setup_logging

SECRET = "MARKER-SECRET-9f8e7d6c"


def test_redaction_in_files_console_and_tracebacks(tmp_path: Path, capsys) -> None:
    register_secret(SECRET)
    config = MonitoringConfig(log_dir=tmp_path / "logs", json_logs=True)
    setup_logging(config, console=True)
    log = logging.getLogger("binance_bot.test")
    log.info("GET https://api.binance.com/api/v3/account?timestamp=1&signature=abcdef0123456789")
    log.warning("using secret %s", SECRET)
    try:
        raise RuntimeError(f"auth failed with {SECRET}")
    except RuntimeError:
        log.exception("request failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    texts = [
        (tmp_path / "logs" / LOG_FILE).read_text(),
        (tmp_path / "logs" / JSON_LOG_FILE).read_text(),
        capsys.readouterr().err,
        "\n".join(log_tail()),
    ]
    for text in texts:
        assert SECRET not in text
        assert "abcdef0123456789" not in text
        assert "request failed" in text
    assert "Traceback" in texts[0] and "RuntimeError" in texts[0]


def test_setup_is_idempotent(tmp_path: Path) -> None:
    config = MonitoringConfig(log_dir=tmp_path)
    setup_logging(config, console=False)
    setup_logging(config, console=False)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_binance_bot_handler", False)]
    assert len(ours) == 2  # file + tail
