// The selected region: what it is, its content over time, every plugin's outcome
// (failures shown as failures), download / drag-out as WAV, and "more like this".

import { ApiError, getJSON } from "./api.js";
import { el } from "./dom.js";
import * as fmt from "./format.js";
import { outcome } from "./messages.js";
import { summarize } from "./plugin-results.js";

const CONTENT_LABELS = ["music", "speech", "mixed", "noise", "silence"];

/** Fill `container` with the region detail (the /api/regions/{id} answer). */
export function renderRegion(container, region) {
  const embeddings = region.analysis.embeddings?.status === "ok";
  const similar = el("div", { class: "similar" });
  const more = embeddings ? el("button", { type: "button" }, "More like this") : null;
  more?.addEventListener("click", () => showSimilar(similar, region.id, more));
  container.replaceChildren(
    el("h3", {}, `Region ${region.index + 1} · ${fmt.clock(region.start_s)}–${fmt.clock(region.end_s)} `,
      el("span", { class: "muted" }, `(${fmt.duration(region.duration_s)})`)),
    el("div", { class: "actions" }, exportLink(region), more),
    contentStrip(region),
    el("div", { class: "plugins" }, ...Object.entries(region.analysis).map(([name, entry]) => pluginCard(name, entry))),
    similar);
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
