"""Debian's Chromium driven by Playwright (which cannot download browsers here), and the
console errors a page logs."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
#: Headless, with nothing that reaches beyond this machine (its network is closed), and
#: audio allowed to start without a click (a test's play is scripted).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]
#: The sizes the page must be readable at: a laptop and a phone, CSS pixels.
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def collect_errors(page: Page, errors: list[str] | None = None) -> list[str]:
    """A list (``errors``, or a new one) that fills with every console error and uncaught
    exception of ``page``."""
    errors = [] if errors is None else errors

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors
