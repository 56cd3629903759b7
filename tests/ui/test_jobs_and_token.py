"""The page against a server that asks for its API token (bound beyond loopback): the
token prompt, a job followed again after a reload and cancelled, an AIFF file played
through the server's WAV of it, a region dragged out of the page, and the storage errors
no file records shown in the system panel."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.engine import AudioSamplerEngine
from core.plugin import Context, Plugin
from database.models import Job, JobState
from plugins.features import Features
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.live_server import serve
from tests.ui.browser import unnamed_controls

pytestmark = [pytest.mark.ui, pytest.mark.slow]
TOKEN = "ui-token-5c2e"
SLOW_S = 3.0


class Slow(Plugin):
    """Takes SLOW_S a region: a job long enough to reload the page and cancel it."""

    name = "slow"
    version = "1.0.0"
    timeout_s = 60.0

    def analyze(self, audio, sr: int, ctx: Context) -> dict:
        time.sleep(SLOW_S)
        return {"slept_s": SLOW_S}


@pytest.fixture(scope="module")
def secured_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioSamplerEngine]:
    settings = make_settings(tmp_path_factory.mktemp("secured"), host="0.0.0.0", api_token=TOKEN)
    with AudioSamplerEngine(settings, plugins=[Features, Slow]) as engine:
        yield engine


@pytest.fixture(scope="module")
def secured(secured_engine: AudioSamplerEngine) -> Iterator[str]:
    with serve(secured_engine.settings, secured_engine) as base:  # on loopback, but in token mode
        yield base


def sign_in(page: Page, base: str, console_errors: list[str]) -> None:
    """Open the page: the library's first request is refused (401), the page asks for
    the token, a wrong one is refused, the right one opens the library."""
    page.goto(f"{base}/ui/")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-input")).to_be_focused()
    assert unnamed_controls(page) == []
    page.fill("#token-input", "not the token")
    page.keyboard.press("Enter")
    expect(page.locator("#token-message")).to_contain_text("did not accept")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # it cannot be dismissed: nothing works without the token
    expect(dialog).to_be_visible()
    page.fill("#token-input", TOKEN)
    page.get_by_role("button", name="Open the library").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#library-count")).not_to_be_empty()
    # the refused requests (before the token, and the wrong token) are logged by Chromium
    refused = [e for e in console_errors if "status of 401" in e]
    assert 1 <= len(refused) <= 3, console_errors
    for error in refused:
        console_errors.remove(error)


def test_a_reload_follows_the_running_job_again_cancel_stops_it_and_resume_ends_it(page: Page, secured: str,
                                                                     console_errors: list[str],
                                                                     tmp_path: Path) -> None:
    sign_in(page, secured, console_errors)
    files = [af.write(tmp_path / f"hit {i}.wav", af.tone(220 * (i + 1), 1.0)) for i in range(6)]
    page.set_input_files("#file-input", [str(f) for f in files])
    expect(page.locator("#batches .file").first).to_be_visible()
    expect(page.locator("#batches .file-status", has_text="analysing").first).to_be_visible(timeout=60_000)

    page.reload()  # the session cookie stays; the job goes on on the server
    batch = page.locator("#batches .batch.restored")
    expect(batch).to_have_count(1)
    expect(batch.locator(".file")).to_have_count(6)
    expect(batch.locator(".batch-summary")).to_contain_text("reconnected")
    batch.get_by_role("button", name="Cancel").click()
    expect(batch.locator(".batch-summary")).to_have_text(re.compile(r"^\d analysed, \d not$"), timeout=60_000)
    cancelled = batch.locator(".file.error", has_text="Cancelled before it was analysed.")
    assert cancelled.count() >= 1
    assert batch.locator(".file.ok").count() + cancelled.count() == 6
    expect(batch.get_by_role("button", name="Cancel")).to_be_hidden()

    # the files it dropped can be analysed after all
    batch.get_by_role("button", name="Resume").click()
    expect(batch.locator(".batch-summary")).to_have_text("6 analysed", timeout=90_000)
    expect(batch.locator(".file.ok")).to_have_count(6)
    expect(batch.get_by_role("button", name="Resume")).to_be_hidden()
    expect(page.locator("#library-count")).to_have_text("6 regions")


def test_aiff_plays_as_wav_and_a_region_drags_out(page: Page, secured: str, console_errors: list[str],
                                                 tmp_path: Path) -> None:
    sign_in(page, secured, console_errors)
    aiff = af.write(tmp_path / "pad.aiff", af.progression(9, "minor", 6.0))
    page.set_input_files("#file-input", [str(aiff)])
    row = page.locator("#batches .file", has_text="pad.aiff")
    expect(row).to_have_class(re.compile(r"\bok\b"), timeout=120_000)
    row.get_by_role("link", name="open").click()
    expect(page.locator("#file-title")).to_have_text("pad.aiff")

    # Chromium does not play AIFF: the page asks the server for a WAV of the file instead
    assert page.evaluate("document.getElementById('player').canPlayType('audio/aiff')") == ""
    decoded = re.compile(r"^/api/processed_audio/.*pad\.aiff\?format=wav$")
    expect(page.locator("#player")).to_have_attribute("src", decoded)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("document.getElementById('player').currentTime > 0.3")
    expect(page.locator("#file-message")).to_be_hidden()

    # dragging the download link out hands the OS a file: DownloadURL = type:name:url
    link = page.locator("#region-detail").get_by_role("link", name="Download WAV")
    dragged = link.evaluate("""(link) => {
        const data = new DataTransfer();
        link.dispatchEvent(new DragEvent("dragstart", {dataTransfer: data, bubbles: true}));
        return data.getData("DownloadURL");
    }""")
    kind, name, url = dragged.split(":", 2)
    assert (kind, name) == ("audio/wav", "pad region 1.wav")
    assert re.fullmatch(rf"{re.escape(secured)}/api/regions/\d+/audio", url)
    assert link.get_attribute("draggable") == "true"
    head = page.evaluate("""async (url) => {
        const answer = await fetch(url);
        const bytes = new Uint8Array(await answer.arrayBuffer());
        return [answer.status, String.fromCharCode(...bytes.slice(0, 4))];
    }""", url)
    assert head == [200, "RIFF"]  # served to the page's session cookie, as the OS's download would be


def test_the_system_panel_shows_errors_no_file_records(page: Page, secured: str, secured_engine: AudioSamplerEngine,
                                                      console_errors: list[str]) -> None:
    secured_engine.note_unrecorded("/library/full disk.wav", "storage_error",
                                   "database error: database or disk is full")
    sign_in(page, secured, console_errors)
    expect(page.locator("#system-summary")).to_contain_text("1 unrecorded error", timeout=30_000)
    page.locator("#system summary").click()
    facts = page.locator("#system-facts")
    expect(facts).to_contain_text("Errors not recorded")
    expect(facts.locator(".unrecorded li")).to_have_count(1)
    expect(facts.locator(".unrecorded li")).to_contain_text("full disk.wav storage error: database error: database or "
                                                            "disk is full")


def test_a_job_the_server_stopped_is_offered_to_resume(page: Page, secured: str, secured_engine: AudioSamplerEngine,
                                                       console_errors: list[str], tmp_path: Path) -> None:
    """A job left interrupted (as a server stopped mid-job leaves it) shows after a reload
    with what it did not analyse, and Resume analyses the rest."""
    done, left = (af.write(tmp_path / f"{name}.wav", af.tone(330, 1.0)) for name in ("stored take", "left take"))
    stored = {"status": "ok", "error_code": None, "error": None, "file_id": secured_engine.analyze_file(done)["id"],
              "regions": 1}
    with secured_engine.database.session() as session:
        session.add(Job(id="f" * 32, state=JobState.INTERRUPTED, paths=[str(done), str(left)], plugins=None,
                        force=False, outcomes={str(done): stored}))
    sign_in(page, secured, console_errors)
    batch = page.locator("#batches .batch.restored")
    expect(batch).to_have_count(1)
    expect(batch.locator(".file.ok")).to_contain_text("stored take.wav")
    opened = batch.locator(".file.ok").get_by_role("link", name="open")
    expect(opened).to_have_attribute("href", re.compile(r"^#/region/\d+$"))
    expect(batch.locator(".file.error")).to_contain_text("Not analysed: the server stopped first.")
    expect(batch.locator(".batch-summary")).to_have_text("1 analysed, 1 not")
    batch.get_by_role("button", name="Resume").click()
    expect(batch.locator(".batch-summary")).to_have_text("2 analysed", timeout=60_000)
    expect(batch.locator(".file.ok", has_text="left take.wav")).to_contain_text("1 region")
