"""A real headless Chromium (the Debian ``chromium`` and ``chromium-driver`` packages).

Selenium drives the system browser through the system driver, named explicitly, so
selenium-manager never looks for (or downloads) another one. Tests using ``browser`` skip,
saying why, where either package is missing.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1600",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A fresh headless Chromium with its own profile folder under the test's tmp dir."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.skip(
            f"headless browser test needs the Debian packages chromium and chromium-driver "
            f"(missing: {', '.join(missing)})"
        )
    for chatty in ("selenium", "urllib3"):  # every WebDriver call at DEBUG buries real failures
        logging.getLogger(chatty).setLevel(logging.WARNING)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
