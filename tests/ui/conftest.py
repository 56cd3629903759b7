"""Browser fixtures: one Chromium per test session, a fresh page per test that fails the
test when the page logged any console error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.ui.browser import DESKTOP, collect_errors, launch


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """The page's console errors and uncaught exceptions; a test may take out those it
    caused on purpose (and says so), any other fails it."""
    return []


@pytest.fixture
def page(browser: Browser, console_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    collect_errors(page, console_errors)
    yield page
    context.close()
    assert console_errors == [], "the page logged errors:\n" + "\n".join(console_errors)
