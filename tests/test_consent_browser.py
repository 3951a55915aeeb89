"""The consent page in a real browser: headless Chromium fills it in and submits it.

Uses Debian's chromium and chromium-driver (.ci/run installs them); never
downloads a browser. Skipped, with the reason, where they are missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import write_config
from oauth_helpers import (
    BOTH,
    CLIENT_ID,
    HELLO,
    call,
    exchange,
    free_port,
    oauth_config,
    serving,
)
from werkzeug.test import Client

from emulator.app import Emulator

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CALLBACK = "/__emulator__/oauth/callback"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver "
    "(apt-get install chromium chromium-driver; .ci/run does it)",
)


@pytest.fixture
def live(
    project: Path, make_app: Any, write_function: Any
) -> Iterator[tuple[str, Emulator]]:
    """The app on a real socket, in a thread; yields its base URL."""
    write_function("hello", HELLO)
    port = free_port()
    data = oauth_config()
    data["oauth"]["clients"][0]["redirect_uris"] = [
        f"http://127.0.0.1:{port}{CALLBACK}"
    ]
    write_config(project, data)
    app = make_app()
    with serving(app, port) as base:
        yield base, app


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module (starting it is the slow part)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    tmp_path = tmp_path_factory.mktemp("chromium")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download
        driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: Any) -> Any:
    chromium.delete_all_cookies()
    return chromium


def wait_for_callback(browser: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda b: CALLBACK in b.current_url)


def consent_url(base: str, **extra: str) -> str:
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": base + CALLBACK,
        "scope": BOTH,
        "access_type": "offline",
        "state": "browser",
    } | extra
    return f"{base}/oauth/v2/auth?{urlencode(params)}"


def test_a_person_approves_the_consent_page_in_chromium(live, browser):
    from selenium.webdriver.common.by import By

    base, app = live
    browser.get(consent_url(base))
    assert browser.title == "Authorize Test App"
    assert browser.find_element(By.TAG_NAME, "h1").text == (
        "Test App wants to access your Zoho CRM"
    )
    scopes = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#scopes li")]
    assert scopes == [
        "ZohoCRM.functions.execute.READ – call functions with GET",
        "ZohoCRM.functions.execute.CREATE – call functions with POST",
    ]
    sam = browser.find_element(
        By.CSS_SELECTOR, "input[name=user][value='4150868000000225014']"
    )
    sam.click()
    assert sam.is_selected()
    browser.find_element(By.ID, "approve").click()
    wait_for_callback(browser)

    assert browser.current_url.startswith(f"{base}{CALLBACK}?code=1000.")
    assert "state=browser" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "h1").text == "Authorization code received"
    code = browser.find_element(By.XPATH, "//th[text()='code']/../td").text
    client = Client(app)
    token = exchange(client, code, redirect_uri=base + CALLBACK)["access_token"]
    response = call(client, token)
    assert response.status_code == 200
    assert response.json["details"]["id"] == "4150868000000225014"


def test_a_person_rejects_the_consent_page_in_chromium(live, browser):
    from selenium.webdriver.common.by import By

    base, _ = live
    browser.get(consent_url(base))
    browser.find_element(By.ID, "deny").click()
    wait_for_callback(browser)
    assert browser.current_url == f"{base}{CALLBACK}?error=access_denied&state=browser"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Access denied"


def test_an_unregistered_redirect_shows_an_error_page_in_chromium(live, browser):
    from selenium.webdriver.common.by import By

    base, _ = live
    url = consent_url(base, redirect_uri="http://127.0.0.1:1/elsewhere")
    browser.get(url)
    assert browser.current_url == url
    assert browser.find_element(By.TAG_NAME, "h1").text == "Invalid Redirect Uri"
