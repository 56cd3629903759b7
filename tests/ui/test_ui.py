"""The web UI in Chromium against a live server: upload, analysis, library filters, the
file view, playback, the keyboard, and a broken file's error."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from core.engine import AudioSamplerEngine
from plugins.classifier import Classifier
from plugins.content import Content
from plugins.embeddings import Embeddings
from plugins.features import Features
from plugins.key_finder import KeyFinder
from plugins.tempo_meter import TempoMeter
from tests import audio_factory as af
from tests import fault_plugins as bad
from tests.conftest import make_settings
from tests.live_server import serve
from tests.ui.browser import DESKTOP, PHONE, unnamed_controls, wider_than_screen

pytestmark = [pytest.mark.ui, pytest.mark.slow]

#: The chain the page is tested with: everything the library's columns and the file view
#: show (bpm, key, content timeline, tag groups, beats, similar regions) and a plugin that
#: always fails.
PLUGINS = [Features, Content, Classifier, TempoMeter, KeyFinder, Embeddings, bad.Raises]
ANALYSIS_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    engine = AudioSamplerEngine(make_settings(tmp_path_factory.mktemp("ui")), plugins=PLUGINS)
    with serve(engine.settings, engine) as base:
        yield base
    engine.close()


def groove(bpm: float, tonic: int, mode: str, seconds: float, seed: int = 0) -> np.ndarray:
    """Clicks on every beat at ``bpm`` over chords in a key: a region with a tempo and a key."""
    return af.clicks(bpm / 60, seconds, amp=0.5) + af.progression(tonic, mode, seconds, chord_s=1.0 + seed / 10)


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("uploads")
    gap = af.silence(1.5)
    files = {
        # two regions at 120 bpm in C major (8B)
        "groove 120.wav": np.concatenate([groove(120, 0, "major", 8.0), gap, groove(120, 0, "major", 8.0, seed=1)]),
        # 90 bpm in F# minor (11A), then a 2 s tone too short for a tempo or a key
        "slow 90.wav": np.concatenate([groove(90, 6, "minor", 9.0), gap, af.tone(330, 2.0, amp=0.3)]),
    }
    paths = {name: af.write(folder / name, audio) for name, audio in files.items()}
    paths["broken.wav"] = folder / "broken.wav"
    paths["broken.wav"].write_bytes(b"RIFF" + os.urandom(4000))
    return paths


def rows(page: Page):
    return page.locator("#regions tbody tr")


def test_upload_browse_filter_play(page: Page, server: str, uploads: dict[str, Path]) -> None:
    page.goto(f"{server}/ui/")
    expect(page.locator("#library-count")).to_have_text("No regions match.")
    page.set_input_files("#file-input", list(uploads.values()))

    # each file's row follows it: two analysed, the broken one explained
    files = page.locator("#batches .file")
    expect(files).to_have_count(3)
    expect(page.locator("#batches .file.ok")).to_have_count(2, timeout=ANALYSIS_TIMEOUT_MS)
    expect(files.filter(has_text="groove 120.wav")).to_contain_text("2 regions")
    expect(files.filter(has_text="slow 90.wav")).to_contain_text("2 regions")
    broken = files.filter(has_text="broken.wav")
    expect(broken).to_have_class("file error")
    expect(broken.locator("summary")).to_contain_text("The sampler can't read this file")
    expect(broken.locator(".detail-text")).to_be_hidden()
    broken.locator("summary").click()  # the server's own words, on demand
    expect(broken.locator(".detail-text")).to_be_visible()
    expect(broken.locator(".detail-text")).not_to_be_empty()
    expect(page.locator("#batches .batch-summary")).to_have_text("2 analysed, 1 not")
    expect(page.locator("#system-summary")).to_contain_text("idle", timeout=8_000)  # asked again at the job's end

    # the library lists the four regions, with bpm and key
    expect(rows(page)).to_have_count(4)
    expect(page.locator("#library-count")).to_have_text("4 regions")
    expect(rows(page).filter(has_text="groove 120.wav").first).to_contain_text("C major · 8B")
    expect(rows(page).filter(has_text="slow 90.wav").first).to_contain_text("F# minor · 11A")

    page.fill("input[name=bpm_min]", "110")
    page.fill("input[name=bpm_max]", "130")
    expect(rows(page)).to_have_count(2)
    for text in rows(page).all_inner_texts():
        assert "groove 120.wav" in text and "120" in text
    page.fill("input[name=bpm_min]", "")
    page.fill("input[name=bpm_max]", "")
    expect(rows(page)).to_have_count(4)

    page.select_option("select[name=key]", "11A")
    expect(rows(page)).to_have_count(1)
    expect(rows(page)).to_contain_text("slow 90.wav")
    page.select_option("select[name=key]", "9B")  # G major: C major (8B) is its neighbour
    expect(rows(page)).to_have_count(0)
    page.check("input[name=compatible]")
    expect(rows(page)).to_have_count(2)
    for text in rows(page).all_inner_texts():
        assert "groove 120.wav" in text
    page.select_option("select[name=key]", "")
    expect(rows(page)).to_have_count(4)

    # the file view: both regions drawn as segments, the first selected
    rows(page).filter(has_text="groove 120.wav").first.locator("a").click()
    expect(page.locator("#file-title")).to_have_text("groove 120.wav")
    expect(page.locator("#zoomview")).to_have_attribute("data-segments", "2")
    expect(page.locator("#overview canvas").first).to_be_visible()
    chips = page.locator("#file-regions button")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_have_attribute("aria-current", "true")
    detail = page.locator("#region-detail")
    expect(detail.locator("[data-plugin=tempo_meter] .status")).to_have_text("done")
    expect(detail.locator("[data-plugin=tempo_meter]")).to_contain_text("120")
    expect(detail.locator(".strip .strip-part")).to_have_count(19)
    failed = detail.locator("[data-plugin=raises]")
    expect(failed).to_have_class("plugin failed")
    expect(failed).to_contain_text("failed with an error")
    expect(failed).to_contain_text("this plugin always fails")
    download = detail.get_by_role("link", name="Download WAV")
    expect(download).to_have_attribute("download", "groove 120 region 1.wav")
    wav = httpx.get(server + download.get_attribute("href"))
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    detail.get_by_role("button", name="More like this").click()
    expect(detail.locator(".similar-list li")).to_have_count(3)  # every other region with a vector
    expect(detail.locator(".similar-list li").first).to_contain_text("groove 120.wav · region 2")

    # playing the second region: the audio element's clock runs inside it
    start = httpx.get(f"{server}/api/regions", params={"query": "groove 120"}).json()["items"][1]["start_s"]
    chips.nth(1).click()
    expect(chips.nth(1)).to_have_attribute("aria-current", "true")
    page.wait_for_function(f"document.getElementById('player').currentTime > {start + 0.3}")
    expect(page.locator("#play")).to_have_text("Pause")

    # the keyboard: left goes back a region, space pauses
    page.locator("#file-title").focus()
    page.keyboard.press("ArrowLeft")
    expect(chips.nth(0)).to_have_attribute("aria-current", "true")
    page.keyboard.press("Space")
    expect(page.locator("#play")).to_have_text("Play")
    assert page.evaluate("document.getElementById('player').paused")


def test_a_region_too_short_for_tempo_and_key_says_so(page: Page, server: str) -> None:
    regions = httpx.get(f"{server}/api/regions", params={"query": "slow 90"}).json()["items"]
    short = next(r for r in regions if r["index"] == 1)
    page.goto(f"{server}/ui/#/region/{short['id']}")
    detail = page.locator("#region-detail")
    for plugin in ("tempo_meter", "key_finder"):
        expect(detail.locator(f"[data-plugin={plugin}] .status")).to_have_text("does not apply to this region")
    expect(detail.locator("[data-plugin=features] .status")).to_have_text("done")
    expect(page.locator("#file-regions button").nth(1)).to_have_attribute("aria-current", "true")


def region_id(server: str, name: str, index: int) -> int:
    items = httpx.get(f"{server}/api/regions", params={"query": name}).json()["items"]
    return next(r["id"] for r in items if r["name"] == name and r["index"] == index)


def zip_names(download) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())).namelist()


def test_tags_packs_and_export(page: Page, server: str) -> None:
    """Issue 7 on the page: a person's tags on a region and its file, the tag counts as a
    filter, a pack drawn by category weights and exported, a region exported as a sample."""
    groove, groove_2, slow = (region_id(server, "groove 120.wav", 0), region_id(server, "groove 120.wav", 1),
                              region_id(server, "slow 90.wav", 0))
    page.goto(f"{server}/ui/#/region/{groove}")
    detail = page.locator("#region-detail")
    classifier = detail.locator("[data-plugin=classifier]")
    expect(classifier).to_contain_text("Genre")  # AudioSet's Music is in the genre group
    expect(classifier).to_contain_text("Drum type")

    mine = detail.locator(".tags-edit").nth(0)
    mine.get_by_label("Add a tag to this region").fill("stab, Keeper")
    mine.get_by_label("Add a tag to this region").press("Enter")
    expect(mine.locator(".tag-chip")).to_have_text(["keeper×", "stab×"])
    mine.get_by_role("button", name="Remove the tag keeper from this region").click()
    expect(mine.locator(".tag-chip")).to_have_text(["stab×"])
    whole_file = detail.locator(".tags-edit").nth(1)
    expect(whole_file).to_contain_text("Your tags on the whole file")
    whole_file.get_by_label("Add a tag to the whole file").fill("demo take")
    whole_file.get_by_role("button", name="Add the tag to the whole file").click()
    expect(whole_file.locator(".tag-chip")).to_have_text(["demo take×"])
    assert httpx.post(f"{server}/api/regions/{groove_2}/tags", json={"tags": ["stab"]}).status_code == 200
    assert httpx.post(f"{server}/api/regions/{slow}/tags", json={"tags": ["bed"]}).status_code == 200

    # a region as a sample: WAV, peak-normalised, in a ZIP with its manifest
    detail.locator("details.export summary").click()
    detail.get_by_label("Level").select_option("peak")
    with page.expect_download() as exported:
        detail.get_by_role("button", name="Export sample (ZIP)").click()
    names = zip_names(exported.value)
    assert exported.value.suggested_filename == "export.zip"
    assert "export/manifest.json" in names and sum(n.endswith(".wav") for n in names) == 1, names
    expect(detail.locator(".export-form .message")).to_contain_text("Saved export.zip")
    assert unnamed_controls(page) == []

    # the library: a person's tags lead the tag counts; one is a filter
    page.get_by_role("link", name="← Library").click()
    stab = page.locator("#tag-cloud button", has_text="stab")
    expect(stab).to_contain_text("2")
    expect(page.locator("#tag-cloud button", has_text="demo take")).to_have_text("demo take 1 file")
    stab.click()
    expect(stab).to_have_attribute("aria-pressed", "true")
    expect(page.locator("input[name=tag]")).to_have_value("stab")
    expect(rows(page)).to_have_count(2)
    stab.click()
    expect(rows(page)).to_have_count(4)

    # a pack: stab and bed at equal weights, two regions, seeded; then as a ZIP
    page.locator("#pack summary").click()
    page.get_by_label("Category", exact=True).fill("stab")
    page.get_by_role("button", name="Add category").click()
    page.get_by_label("Category", exact=True).fill("bed")
    page.get_by_label("Category", exact=True).press("Enter")
    expect(page.locator("#pack-weights .weight")).to_have_count(2)
    page.get_by_label("Regions", exact=True).fill("2")
    page.get_by_label("Seed").fill("7")
    page.get_by_role("button", name="Draw pack").click()
    report = page.locator("#pack-report")
    expect(report).to_contain_text("2 of 2 regions drawn (weights, seed 7)")
    expect(report.locator("tbody tr", has_text="bed")).to_contain_text("1 (50\u00a0%)")
    expect(report.locator(".pack-items li")).to_have_count(2)
    assert httpx.get(f"{server}/api/packs/weights").json()["weights"] == {"stab": 50.0, "bed": 50.0}
    with page.expect_download() as packed:
        page.get_by_role("button", name="Export pack (ZIP)").click()
    names = zip_names(packed.value)
    assert "pack/manifest.csv" in names and sum(n.endswith(".wav") for n in names) == 2, names
    assert unnamed_controls(page) == []


def test_keyboard_names_and_both_screen_sizes(page: Page, server: str) -> None:
    """Every control has a name; the main actions work from the keyboard; nothing sticks
    out sideways at 1280×800 or 390×844."""
    page.goto(f"{server}/ui/")
    expect(rows(page)).to_have_count(4)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the library")
    expect(skip).to_be_focused()
    for _ in range(3):  # the home link, the system panel, then the file picker
        page.keyboard.press("Tab")
    expect(page.locator("#file-input")).to_be_focused()
    skip.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("input[name=query]")).to_be_focused()
    page.locator("#system summary").click()  # the system panel, open, is checked too
    expect(page.locator("#system-facts")).to_contain_text("Errors not recorded")
    expect(page.locator("#system-facts")).to_contain_text(re.compile(r"musicnn\s*(available|being checked)"))
    assert unnamed_controls(page) == []

    # open a region from the keyboard, step with the arrows, play and pause with space
    rows(page).first.locator("a").focus()
    page.keyboard.press("Enter")
    chips = page.locator("#file-regions button")
    expect(chips.first).to_have_attribute("aria-current", "true")
    expect(page.locator("#file-title")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(chips.nth(1)).to_have_attribute("aria-current", "true")
    page.keyboard.press("Space")
    expect(page.locator("#play")).to_have_text("Pause")
    page.keyboard.press("Space")
    expect(page.locator("#play")).to_have_text("Play")
    assert unnamed_controls(page) == []

    file_url = page.url
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.goto(f"{server}/ui/")
        expect(rows(page)).to_have_count(4)
        page.locator("#pack summary").click()
        assert wider_than_screen(page) == [], size
        page.goto(file_url)
        expect(page.locator("#region-detail .plugin").first).to_be_visible()
        page.locator("details.export summary").click()
        assert wider_than_screen(page) == [], size
