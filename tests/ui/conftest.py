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
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors = collect_errors(page)
    yield page
    context.close()
    assert errors == [], "the page logged errors:\n" + "\n".join(errors)
