"""A real headless Chromium watches a paper session on the simulator and kills it.

The session is the one ``binance-bot run --dashboard`` starts: the embedded simulator on a
running market clock, the real Binance client over HTTP and WebSocket, ``sma_cross`` with
tiny periods on 1m bars so an entry comes within seconds. As soon as the kernel holds a
position, the test stops the simulator's market clock (the exchange keeps answering, the
market just does not move), so the position cannot close on its own while the browser
looks at it; the market runs again after the kill, so the flattening sell can fill.
Screenshots are kept in the test's tmp folder (pytest keeps those of the last runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from decimal import Decimal
from decimal import Decimal as D
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from binance_bot.app import RunOptions, Session
from binance_bot.config import BotConfig, load_config
from binance_bot.monitoring.dashboard import start_dashboard
from binance_bot.monitoring.logs import remove_logging, setup_logging

pytestmark = pytest.mark.browser

SPEED = 300.0  # 5 one-minute bars per second


def paper_config(tmp_path: Path) -> BotConfig:
    overrides = {
        "trading": {
            "strategy": "sma_cross",
            "strategy_params": {"fast": 2, "slow": 3},
            "interval": "1m",
            "symbols": ["BTCUSDT"],
        },
        "data": {"data_dir": str(tmp_path / "data")},
        "storage": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
        "monitoring": {"log_dir": str(tmp_path / "logs"), "log_level": "INFO", "dashboard_port": 0},
    }
    return load_config(overrides=overrides, environ={}, use_default_file=False).config


async def until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


async def hold_first_position(session: Session) -> str:
    """Freeze the market once a position is open with no exit under way; its symbol."""
    kernel, simulator = session.kernel, session.simulator
    assert kernel is not None and simulator is not None
    while True:
        await until(lambda: kernel.portfolio.open_count > 0, 60, "a position opens")
        await simulator.set_speed(None)
        await asyncio.sleep(0.3)  # let fills already on their way arrive
        for symbol in kernel.portfolio.longs:
            if kernel.workers[symbol].state.exit_client_id is None:
                return symbol
        await simulator.set_speed(SPEED)  # it was closing anyway: wait for the next one


def position_row(driver: WebDriver, symbol: str) -> WebElement:
    return WebDriverWait(driver, 20).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, f'#positions tbody tr[data-symbol="{symbol}"]'))
    )


def press_kill_and_confirm(driver: WebDriver) -> str:
    driver.find_element(By.ID, "btn-kill").click()
    alert = WebDriverWait(driver, 10).until(ec.alert_is_present())
    text = alert.text
    alert.accept()
    return text


def wait_for_killed_page(driver: WebDriver) -> None:
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "state").text.lower() == "killed")
    WebDriverWait(driver, 20).until(
        lambda d: (
            not d.find_elements(By.CSS_SELECTOR, "#positions tbody tr")
            and d.find_element(By.ID, "positions-empty").is_displayed()
        )
    )


async def test_browser_sees_a_position_presses_kill_and_the_engine_stops(
    tmp_path: Path, browser: WebDriver
) -> None:
    config = paper_config(tmp_path)
    setup_logging(config.monitoring, console=False)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    stage = "starting"
    try:
        async with Session(config, RunOptions(speed=SPEED, warmup_bars=100)) as session:
            kernel = session.kernel
            assert kernel is not None
            secret = session.config.api.api_secret
            assert secret is not None
            dashboard = await start_dashboard(session, update_interval_s=0.25, announce=None)
            assert dashboard.host == "127.0.0.1"
            runner = asyncio.create_task(session.run())
            holder = asyncio.create_task(hold_first_position(session))
            try:
                stage = "opening the dashboard"
                await asyncio.to_thread(browser.get, dashboard.url)
                assert "?token=" not in browser.current_url  # exchanged for the session cookie
                stage = "waiting for a position"
                symbol = await asyncio.wait_for(holder, 60)
                row = await asyncio.to_thread(position_row, browser, symbol)
                cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
                pos = kernel.portfolio.position(symbol)
                assert pos is not None
                assert cells[0] == symbol
                shown = [Decimal(c.replace(",", "")) for c in cells[1:5]]
                assert shown == [
                    pos.held,
                    pos.entry_price.quantize(D("0.01")),
                    pos.stop_price,
                    pos.take_profit_price,
                ]
                page = await asyncio.to_thread(lambda: browser.page_source)
                assert secret.get_secret_value() not in page
                await asyncio.to_thread(browser.save_screenshot, str(shots / "1-position.png"))
                console = await asyncio.to_thread(browser.get_log, "browser")
                assert not [e for e in console if e["level"] == "SEVERE"], console

                stage = "pressing kill"
                question = await asyncio.to_thread(press_kill_and_confirm, browser)
                assert "kill switch" in question
                await asyncio.wait_for(runner, 20)  # the engine stopped: run() returned
                assert kernel.risk.kill_switch.tripped and kernel.killed and kernel.stopping
                assert kernel.risk.kill_switch.reason == "manual kill"

                stage = "flattening"
                await session.simulator.set_speed(SPEED)  # the market moves: the sell fills
                await until(lambda: kernel.portfolio.open_count == 0, 20, "the position is sold")
                [trade] = [t for t in kernel.portfolio.closed if t.exit_reason == "kill"]
                assert trade.symbol == symbol
                await asyncio.to_thread(wait_for_killed_page, browser)
                await asyncio.to_thread(browser.save_screenshot, str(shots / "2-killed.png"))
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(browser.save_screenshot, str(shots / "failure.png"))
                logging.getLogger(__name__).error("failed while %s; screenshots in %s", stage, shots)
                raise
            finally:
                for task in (holder, runner):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
    finally:
        remove_logging()
    assert (shots / "1-position.png").stat().st_size > 10_000
    assert (shots / "2-killed.png").stat().st_size > 10_000
