"""The library page with 10 000 regions in the database: it loads, pages and sorts. The
load time is printed (the Performance API's figures), not asserted."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page, Route, expect

from core import keys
from core.config import Settings
from core.waveform import peaks
from database import store
from database.session import Database
from tests.conftest import make_settings
from tests.live_server import serve

pytestmark = pytest.mark.ui
FILES, REGIONS_PER_FILE = 100, 100
KEYS = [keys.key_name(*keys.from_camelot(f"{number}{letter}")) for number in range(1, 13) for letter in "AB"]


def fill_library(settings: Settings) -> None:
    """FILES files of REGIONS_PER_FILE regions, each with a tempo, key and content result,
    written with the database's own store functions (no audio is analysed)."""
    settings.ensure_dirs()
    database = Database(settings.effective_database_url)
    database.migrate()
    rng = np.random.default_rng(0)
    region_peaks = peaks(np.zeros(2205, np.float32), 22_050, 10).to_dict()
    with database.session() as session:
        for f in range(FILES):
            regions = []
            for i in range(REGIONS_PER_FILE):
                results = [("tempo_meter", {"bpm": round(float(rng.uniform(70, 170)), 2)}),
                           ("key_finder", {"key": KEYS[int(rng.integers(24))]}),
                           ("content", {"label": ["music", "speech", "noise", "mixed"][int(rng.integers(4))]})]
                regions.append(store.RegionRecord(
                    index=i, start_s=3.0 * i, end_s=3.0 * i + 2.5, peaks=region_peaks,
                    analyses=[store.AnalysisRecord(plugin, "1.0.0", "ok", result) for plugin, result in results]))
            facts = store.FileFacts(path=f"/library/take {f:03d}.wav", content_hash=f"{f:064x}", size_bytes=1 << 20,
                                    info={"format": "wav", "duration_s": 3.0 * REGIONS_PER_FILE})
            store.replace_file(session, facts, regions=regions)
    database.dispose()


@pytest.fixture(scope="module")
def big_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("big"), plugins=["features"])
    fill_library(settings)
    with serve(settings) as base:
        yield base


TIMING = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return {html: nav.responseEnd, dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
            library: performance.getEntriesByName("library-rendered")[0].startTime};
}"""
#: How long the latest page of regions took, from asking to drawn (ms).
LAST_PAGE = """() => performance.getEntriesByName("library-page").at(-1).duration"""


def load_library(page: Page, url: str) -> dict[str, float]:
    """Open the page; the Performance API's milliseconds from navigation to DOM ready, to
    the load event and to the first page of regions drawn."""
    page.goto(url)
    expect(page.locator("#library-count")).to_have_text("10,000 regions")
    expect(page.locator("#regions tbody tr")).to_have_count(50)
    return page.evaluate(TIMING)


def test_the_library_page_with_10000_regions(page: Page, big_library: str, capsys: pytest.CaptureFixture) -> None:
    first = load_library(page, f"{big_library}/ui/")  # a server and a browser that just started
    again = load_library(page, f"{big_library}/ui/?again")
    with capsys.disabled():
        for name, timing in (("first load", first), ("second load", again)):
            print(f"\n10 000 regions, {name}: page received {timing['html']:.0f} ms, DOM ready {timing['dom']:.0f} ms, "
                  f"load event {timing['load']:.0f} ms, first page of regions drawn {timing['library']:.0f} ms after "
                  "navigation started", end="")
    page.click("#page-next")
    expect(page.locator("#page-label")).to_have_text("51–100 of 10,000")
    expect(page.locator("#page-count")).to_have_text("of 200")
    page.select_option("select[name=sort]", "bpm")
    page.check("input[name=order]")
    expect(page.locator("#page-label")).to_have_text("1–50 of 10,000")
    expect(page.locator("#regions tbody tr").first.locator("td").nth(1)).to_have_text(re.compile(r"^1(69|70)$"))
    page.fill("#page-number", "200")  # the last page, slowest to reach by offset
    page.keyboard.press("Enter")
    expect(page.locator("#page-label")).to_have_text("9,951–10,000 of 10,000")
    expect(page.locator("#regions tbody tr").last.locator("td").nth(1)).to_have_text(re.compile(r"^70\.\d$"))
    with capsys.disabled():
        print(f"\n10 000 regions sorted by bpm, the last page asked and drawn in {page.evaluate(LAST_PAGE):.0f} ms")


def test_a_total_counted_only_so_far_reads_as_at_least(page: Page, big_library: str) -> None:
    """A search stops counting 10 000 past its page's offset (database.queries.COUNT_MAX) and
    says so (total_exact false): the page shows the total as "at least", and keeps Next."""
    def at_least(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "total_exact": False})

    page.route(re.compile(r"/api/regions\?"), at_least)
    page.goto(f"{big_library}/ui/")
    expect(page.locator("#library-count")).to_have_text("10,000+ regions")
    expect(page.locator("#page-label")).to_have_text("1–50 of 10,000+")
    expect(page.locator("#page-count")).to_have_text("of 200+")
    page.fill("#page-number", "200")
    page.keyboard.press("Enter")
    expect(page.locator("#page-label")).to_have_text("9,951–10,000 of 10,000+")
    expect(page.locator("#page-next")).to_be_enabled()
