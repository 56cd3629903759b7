// Sample packs: category weights (saved with the library), a draw among the regions the
// library's filters let through, the shares drawn next to those asked, and the pack as a ZIP.

import { ApiError, download, getJSON, postJSON } from "./api.js";
import { el } from "./dom.js";
import * as fmt from "./format.js";

const SHOWN_ITEMS = 50;

/** Wire the pack form; `filters()` gives the library's current search parameters. */
export function setupPack({ details, form, weightsList, categoryInput, addButton, exportButton, message, report,
  filters }) {
  const weights = new Map();  // category → weight 0-100, in the order added
  let loaded = false;

  // Each slider shows its category's share of the pack: its weight over the sum of all.
  const outputs = new Map();
  function showShares() {
    const sum = [...weights.values()].reduce((a, b) => a + b, 0);
    for (const [tag, [range, output]] of outputs) {
      const share = sum ? `${Math.round((100 * weights.get(tag)) / sum)}\u00a0%` : "–";
      output.textContent = share;
      range.setAttribute("aria-valuetext", `${share} of the pack`);
    }
  }

  function showWeights() {
    outputs.clear();
    weightsList.replaceChildren(...[...weights].map(([tag, weight]) => {
      const id = `weight-${[...tag].map((c) => c.codePointAt(0).toString(16)).join("")}`;
      const range = el("input", { type: "range", id, min: 0, max: 100, step: 1, value: weight });
      const shown = el("output", { for: id });
      outputs.set(tag, [range, shown]);
      range.addEventListener("input", () => {
        weights.set(tag, Number(range.value));
        showShares();
      });
      const remove = el("button", { type: "button", class: "small remove", "aria-label": `Remove the category ${tag}`,
        title: "Remove" }, "×");
      remove.addEventListener("click", () => { weights.delete(tag); showWeights(); });
      return el("li", { class: "weight" }, el("label", { for: id }, tag), range, shown, remove);
    }));
    if (weights.size === 0) weightsList.append(el("li", { class: "muted" }, "No category yet: add tags below."));
    showShares();
  }

  function addCategory() {
    const tag = categoryInput.value.trim().toLowerCase();
    if (!tag) return;
    if (!weights.has(tag)) weights.set(tag, 50);
    categoryInput.value = "";
    showWeights();
  }

  async function load() {
    if (loaded) return;
    loaded = true;
    try {
      const saved = Object.entries((await getJSON("/api/packs/weights")).weights);
      const most = Math.max(...saved.map(([, weight]) => weight), 0) || 1;
      for (const [tag, weight] of saved) weights.set(tag, Math.round((100 * weight) / most));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
    showWeights();
  }

  function body() {
    const data = new FormData(form);
    const given = Object.fromEntries([...weights].filter(([, w]) => w > 0));
    return {
      size: Number(data.get("size")), balanced: data.get("balanced") === "on",
      seed: data.get("seed") === "" ? null : Number(data.get("seed")),
      weights: Object.keys(given).length ? given : null,
    };
  }

  async function draw(event) {
    event.preventDefault();
    message.textContent = "Drawing…";
    let pack;
    try {
      pack = await postJSON("/api/packs", body(), filters());
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message.textContent = `No pack: ${error.message}`;
      return;
    }
    message.textContent = "";
    showReport(pack);
  }

  function showReport({ report: r, items }) {
    const rows = r.categories.map((c) => el("tr", {},
      el("th", { scope: "row" }, c.tag), el("td", {}, fmt.percent(c.asked)),
      el("td", {}, `${c.drawn} (${fmt.percent(c.drawn_share)})`), el("td", {}, c.available.toLocaleString("en"))));
    report.replaceChildren(
      el("p", {}, `${r.drawn} of ${r.size} regions drawn (${r.mode}, seed ${r.seed}).`),
      ...r.messages.map((text) => el("p", { class: "muted" }, text)),
      el("table", { class: "pack-table" },
        el("caption", { class: "visually-hidden" }, "Shares asked and drawn per category"),
        el("thead", {}, el("tr", {}, ...["Category", "Asked", "Drawn", "Available"]
          .map((name) => el("th", { scope: "col" }, name)))),
        el("tbody", {}, ...rows)),
      el("ol", { class: "pack-items" }, ...items.slice(0, SHOWN_ITEMS).map((item) => el("li", {},
        el("a", { href: `#/region/${item.id}` }, fmt.regionName(item)),
        el("span", { class: "muted" }, ` ${fmt.duration(item.duration_s)} · ${fmt.bpm(item.bpm)} BPM`)))),
      ...(items.length > SHOWN_ITEMS ? [el("p", { class: "muted" }, `… and ${items.length - SHOWN_ITEMS} more.`)] : []));
  }

  async function exportPack() {
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    exportButton.disabled = true;
    message.textContent = "Rendering the pack…";
    try {
      const saved = await download("/api/packs/export", { ...body(),
        export: { format: data.get("format"), normalise: data.get("normalise") } }, "pack.zip", filters());
      message.textContent = `Saved ${saved.name}: ${saved.exported} samples${Number(saved.failed) ? `, ${saved.failed}`
        + " could not be rendered (see the manifest)" : ""}.`;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message.textContent = `The pack could not be exported: ${error.message}`;
    } finally {
      exportButton.disabled = false;
    }
  }

  details.addEventListener("toggle", () => { if (details.open) load(); });
  addButton.addEventListener("click", addCategory);
  categoryInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      addCategory();
    }
  });
  form.addEventListener("submit", draw);
  exportButton.addEventListener("click", exportPack);
}
