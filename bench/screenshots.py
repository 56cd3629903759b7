"""Screenshots of the web UI: the library and the file view at 1280×800 and 390×844.

    .venv/bin/python bench/screenshots.py            # or: make screenshots
    .venv/bin/python bench/screenshots.py --out DIR

Starts a server of its own (a temporary data folder, every plugin), uploads generated
files through the page (a drum loop in two takes, chords in a key, speech when espeak-ng
is there, and a broken file), waits for their analysis, then writes
``library-WxH.png``, ``pack-WxH.png`` (the pack builder after a draw) and ``file-WxH.png``
(whole pages), and ``file-export-WxH.png`` (the export form and tags, as the screen shows
them) into ``bench/out/screenshots/``.
Exits with 1 if the page logged a console error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import audio_factory as af  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.live_server import serve  # noqa: E402
from tests.ui.browser import DESKTOP, PHONE, collect_errors, launch  # noqa: E402

ANALYSIS_TIMEOUT_MS = 600_000


def make_files(folder: Path) -> list[Path]:
    gap = af.silence(1.5)
    loop = 0.6 * af.rhythm(124, 4, 7.8)
    files = [
        af.write(folder / "drum loop 124.wav", np.concatenate([loop, gap, 0.6 * af.rhythm(124, 4, 7.8, seed=1)])),
        af.write(folder / "chords in D major.flac", af.progression(2, "major", 12.0)),
        af.write(folder / "groove 96.wav", np.concatenate([af.music(9.0, bpm=96), gap, af.tone(440, 1.0, amp=0.3)])),
    ]
    if af.espeak_available():
        files.append(af.speech(folder / "spoken words.wav", ["one", "two", "sample", "library"]))
    broken = folder / "broken take.wav"
    broken.write_bytes(b"RIFF" + os.urandom(3000))
    return [*files, broken]


def tag_some(base: str) -> None:
    """A person's tags on the drum loop's regions and on the chords, and pack weights for them."""
    regions = httpx.get(f"{base}/api/regions", params={"limit": 100}).json()["items"]
    for region in regions:
        tag = "beat" if region["name"].startswith("drum loop") else "keys" if region["name"].startswith("chords") \
            else None
        if tag:
            httpx.post(f"{base}/api/regions/{region['id']}/tags", json={"tags": [tag, "keeper"]}).raise_for_status()
    httpx.put(f"{base}/api/packs/weights", json={"weights": {"beat": 0.6, "keys": 0.4}}).raise_for_status()


def shoot(page: Page, base: str, out: Path, size: dict[str, int]) -> None:
    label = f"{size['width']}x{size['height']}"
    page.set_viewport_size(size)
    page.goto(f"{base}/ui/")
    expect(page.locator("#regions tbody tr").first).to_be_visible()
    expect(page.locator("#tag-cloud button").first).to_be_visible()
    page.screenshot(path=out / f"library-{label}.png", full_page=True)
    page.locator("#pack summary").click()
    expect(page.locator("#pack-weights .weight")).to_have_count(2)
    page.fill("#pack-form input[name=size]", "3")
    page.get_by_role("button", name="Draw pack").click()
    expect(page.locator("#pack-report table")).to_be_visible()
    page.screenshot(path=out / f"pack-{label}.png", full_page=True)
    page.locator("#pack summary").click()
    page.locator("#regions tbody tr", has_text="drum loop").first.locator("a").click()
    expect(page.locator("#region-detail .plugin").first).to_be_visible()
    expect(page.locator("#region-detail .file-tags .tags-edit")).to_be_visible()
    page.wait_for_timeout(500)  # the zoom view's scroll to the region
    page.screenshot(path=out / f"file-{label}.png", full_page=True)
    page.locator("#region-detail details.export summary").click()
    page.locator("#region-detail .tag-editors").scroll_into_view_if_needed()
    page.screenshot(path=out / f"file-export-{label}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp, sync_playwright() as playwright:
        files = make_files(Path(temp))
        with serve(make_settings(Path(temp) / "data")) as base:
            browser = launch(playwright)
            page = browser.new_page(viewport=DESKTOP)
            errors = collect_errors(page)
            page.goto(f"{base}/ui/")
            page.set_input_files("#file-input", [str(f) for f in files])
            expect(page.locator("#batches .batch-summary")).to_contain_text("analysed", timeout=ANALYSIS_TIMEOUT_MS)
            page.screenshot(path=args.out / "upload-1280x800.png")
            tag_some(base)
            for size in (DESKTOP, PHONE):
                shoot(page, base, args.out, size)
            browser.close()
    for path in sorted(args.out.glob("*.png")):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    if errors:
        print("the page logged errors:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
