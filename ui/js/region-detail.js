// The selected region: what it is, its content over time, every plugin's outcome
// (failures shown as failures), download / drag-out as WAV, and "more like this".

import { ApiError, download, getJSON } from "./api.js";
import { el } from "./dom.js";
import * as fmt from "./format.js";
import { CAMELOT } from "./keys.js";
import { outcome } from "./messages.js";
import { summarize } from "./plugin-results.js";
import { tagEditor } from "./tags.js";

const CONTENT_LABELS = ["music", "speech", "mixed", "noise", "silence"];

/** Fill `container` with the region detail (the /api/regions/{id} answer). */
export function renderRegion(container, region) {
  const embeddings = region.analysis.embeddings?.status === "ok";
  const similar = el("div", { class: "similar" });
  const more = embeddings ? el("button", { type: "button" }, "More like this") : null;
  more?.addEventListener("click", () => showSimilar(similar, region.id, more));
  const fileTags = el("div", { class: "file-tags" });
  container.replaceChildren(
    el("h3", {}, `Region ${region.index + 1} · ${fmt.clock(region.start_s)}–${fmt.clock(region.end_s)} `,
      el("span", { class: "muted" }, `(${fmt.duration(region.duration_s)})`)),
    el("div", { class: "actions" }, exportLink(region), more),
    exportForm(region),
    el("div", { class: "tag-editors" },
      tagEditor({ title: "Your tags on this region", path: `/api/regions/${region.id}/tags`, tags: region.tags,
        what: "this region" }), fileTags),
    contentStrip(region),
    el("div", { class: "plugins" }, ...Object.entries(region.analysis).map(([name, entry]) => pluginCard(name, entry))),
    similar);
  getJSON(`/api/files/${region.file_id}/tags`).then((answer) => fileTags.replaceChildren(tagEditor({
    title: "Your tags on the whole file", path: `/api/files/${region.file_id}/tags`, tags: answer.tags,
    what: "the whole file" })), (error) => {
    if (!(error instanceof ApiError)) throw error;
    fileTags.replaceChildren(el("p", { class: "muted" }, `The file's tags could not be read: ${error.message}`));
  });
}

/** Export as a ready-to-use sample (POST /api/export): format, level, fades, tempo and key. */
function exportForm(region) {
  const select = (name, label, options) => el("label", {}, label, el("select", { name },
    ...options.map(([value, text]) => el("option", { value }, text))));
  const message = el("p", { class: "message", role: "status" });
  const button = el("button", { type: "submit" }, "Export sample (ZIP)");
  const form = el("form", { class: "export-form" },
    select("format", "Format", [["wav", "WAV 24-bit"], ["flac", "FLAC"], ["mp3", "MP3"]]),
    select("normalise", "Level", [["none", "as recorded"], ["peak", "peak −1 dBFS"], ["lufs", "−14 LUFS"]]),
    el("label", {}, "Fades, ms", el("input", { name: "fade", type: "number", min: 0, max: 60000, step: 1, value: 0,
      inputmode: "numeric" })),
    el("label", {}, "Stretch to BPM", el("input", { name: "target_bpm", type: "number", min: 20, max: 400, step: "any",
      inputmode: "decimal", placeholder: region.bpm ? `now ${fmt.bpm(region.bpm)}` : "no tempo", disabled: !region.bpm })),
    select("target_key", "Shift to key", [["", region.key ? `as is (${region.key})` : "as is"],
      ...(region.key ? CAMELOT.map(([code, name]) => [name, `${name} · ${code}`]) : [])]),
    button, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const fade = Number(data.get("fade") || 0);
    button.disabled = true;
    message.textContent = "Rendering…";
    try {
      const saved = await download("/api/export", {
        region_ids: [region.id], format: data.get("format"), normalise: data.get("normalise"), fade_in_ms: fade,
        fade_out_ms: fade, target_bpm: data.get("target_bpm") ? Number(data.get("target_bpm")) : null,
        target_key: data.get("target_key") || null,
      }, "export.zip");
      message.textContent = Number(saved.failed) ? "The sample could not be rendered: see the manifest in the ZIP."
        : `Saved ${saved.name}.`;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message.textContent = `The sample could not be exported: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return el("details", { class: "export" }, el("summary", {}, "Export as a sample…"), form);
}

function exportLink(region) {
  const file = `${region.name.replace(/\.[^.]+$/, "")} region ${region.index + 1}.wav`;
  const href = `/api/regions/${region.id}/audio`;
  const link = el("a", { class: "button", href, download: file, draggable: "true",
    title: "Download, or drag into your DAW or onto the desktop" }, "Download WAV");
  // Chromium turns a dragged DownloadURL into a file dropped wherever the user lets go.
  link.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("DownloadURL", `audio/wav:${file}:${new URL(href, location.href)}`);
  });
  return link;
}

/** The content plugin's timeline: a coloured strip, one block per segment. */
function contentStrip(region) {
  const content = region.analysis.content;
  if (content?.status !== "ok" || !content.timeline?.length) return null;
  const total = region.duration_s || 1;
  const blocks = content.timeline.map((s) => el("span", {
    class: `strip-part ${s.label}`, style: `flex-grow: ${Math.max(s.end - s.start, 0.001) / total}`,
    title: `${fmt.clock(s.start)}–${fmt.clock(s.end)}: ${s.label} (${fmt.percent(s.confidence)})`,
  }));
  const present = CONTENT_LABELS.filter((label) => content.timeline.some((s) => s.label === label));
  return el("figure", { class: "content" },
    el("div", { class: "strip", role: "img", "aria-label": `Content over time: ${content.timeline.map((s) => s.label)
      .join(", ")}` }, ...blocks),
    el("figcaption", { class: "legend" }, ...present.map((label) => el("span", { class: `key-chip ${label}` }, label))));
}

function pluginCard(name, entry) {
  const ok = entry.status === "ok";
  const lines = ok ? summarize(name, entry) : [];
  return el("section", { class: `plugin ${ok ? "ok" : "failed"}`, "data-plugin": name },
    el("h4", {}, name.replaceAll("_", " "), " ",
      el("span", { class: `status ${entry.status}` }, outcome(entry.status))),
    ok ? el("dl", {}, ...lines.flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]))
      : el("p", { class: "plugin-error" }, entry.error || outcome(entry.status)));
}

async function showSimilar(container, regionId, button) {
  button.disabled = true;
  container.replaceChildren(el("p", { class: "muted" }, "Looking for similar regions…"));
  let answer;
  try {
    answer = await getJSON(`/api/regions/${regionId}/similar`, { k: 20 });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    container.replaceChildren(el("p", { class: "muted" }, error.status === 404
      ? "Similarity search is not available on this server." : `Similar regions could not be found: ${error.message}`));
    return;
  }
  container.replaceChildren(el("h4", {}, "More like this"), el("ol", { class: "similar-list" },
    ...answer.items.map((item) => el("li", {},
      el("a", { href: `#/region/${item.id}` }, fmt.regionName(item)),
      el("span", { class: "muted" }, ` similarity ${fmt.number(item.score, 2)} · ${fmt.bpm(item.bpm)} BPM · `
        + fmt.key(item.key, item.camelot))))));
}
