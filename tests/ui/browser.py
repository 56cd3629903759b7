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


#: Roles of what a person operates: each needs an accessible name.
CONTROL_ROLES = {"button", "link", "textbox", "searchbox", "combobox", "checkbox", "spinbutton", "slider", "listbox",
                 "radio", "switch", "menuitem", "tab", "DisclosureTriangle"}


def unnamed_controls(page: Page) -> list[str]:
    """The controls shown on ``page`` whose accessible name is empty, as Chromium's own
    accessibility tree computes it (labels, aria-label, content, title …)."""
    session = page.context.new_cdp_session(page)
    try:
        nodes = session.send("Accessibility.getFullAXTree")["nodes"]
        unnamed = []
        for node in nodes:
            role = node.get("role", {}).get("value")
            if node.get("ignored") or role not in CONTROL_ROLES:
                continue
            if not str(node.get("name", {}).get("value", "")).strip():
                described = session.send("DOM.describeNode", {"backendNodeId": node["backendDOMNodeId"]})["node"]
                attributes = described.get("attributes", [])
                unnamed.append(f"{role} <{described['localName']} {' '.join(attributes)}>")
        return unnamed
    finally:
        session.detach()


WIDER_THAN_SCREEN = """() => {
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll("body *")]
        .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > width + 1
                       && !e.closest(".visually-hidden, .skip"))
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.getAttribute("class")}`.slice(0, 80));
}"""


def wider_than_screen(page: Page) -> list[str]:
    """Elements that stick out to the right of the viewport (a page that scrolls sideways)."""
    return page.evaluate(WIDER_THAN_SCREEN)
