"""Headless Chromium for the web-interface tests: the system's browser, driven by selenium.

The browser comes from Debian (``make browser`` installs ``chromium`` and ``chromium-driver``);
nothing is downloaded at test time. When no browser can be had the tests skip and say why —
never when a browser is there and a page misbehaves.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "web"

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
    "--lang=en-GB",
]


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


def missing_browser() -> str | None:
    """Why no browser can be driven here, or None when one can."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (make install adds it with the dev extras)"
    if _find("/usr/bin/chromium", "chromium", "chromium-browser") is None:
        return "no Chromium (make browser installs Debian's chromium with apt-get, as root)"
    if _find("/usr/bin/chromedriver", "chromedriver") is None:
        return "no chromedriver (make browser installs Debian's chromium-driver)"
    return None


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium WebDriver with a throw-away profile; skips when none can be had."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _find("/usr/bin/chromium", "chromium", "chromium-browser") or ""
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with tempfile.TemporaryDirectory(prefix="khabar-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        service = Service(_find("/usr/bin/chromedriver", "chromedriver"))
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_script_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """Save the whole page (the window grown to its height) as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1280, min(max(height, 800), 3000))
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def console_errors(driver: Any) -> list[str]:
    """Script errors and CSP violations the page logged.

    HTTP error answers are left out: pages probe optional endpoints (a 404 from
    ``/articles/{id}/trace`` is an expected answer) and Chromium logs each one.
    """
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry.get("level") == "SEVERE" and "Failed to load resource" not in entry["message"]
    ]
