// The library: regions matching the filters, sorted, a page at a time.

import { getJSON } from "./api.js";
import { el } from "./dom.js";
import * as fmt from "./format.js";
import { CAMELOT } from "./keys.js";

const PAGE = 50;
const TYPING_PAUSE_MS = 250;

/** Wire the filter form, table and pager. Returns { refresh(), filters(), ready: the first page shown }. */
export function setupLibrary({ form, table, count, prev, next, pageLabel, pageNumber, pageCount }) {
  const keySelect = form.elements.key;
  keySelect.append(...CAMELOT.map(([code, name]) => el("option", { value: code }, `${name} · ${code}`)));
  let offset = 0;
  let shown = 0;  // the request whose answer is on screen; older answers are dropped
  let timer = null;

  /** The search filters (what a pack is drawn among, too). */
  function filters() {
    const data = new FormData(form);
    return {
      query: data.get("query").trim(), bpm_min: data.get("bpm_min"), bpm_max: data.get("bpm_max"),
      key: data.get("key"), compatible: data.get("key") && data.get("compatible") ? "true" : "",
      content: data.get("content"), tag: data.get("tag").trim(),
      tag_min: data.get("tag") && data.get("tag_min") ? data.get("tag_min") / 100 : "",
    };
  }

  function params() {
    const data = new FormData(form);
    return { ...filters(), sort: data.get("sort"), order: data.get("order") ? "desc" : "asc", limit: PAGE, offset };
  }

  async function refresh() {
    const ticket = ++shown;
    performance.mark("library-asked");
    let page;
    try {
      page = await getJSON("/api/regions", params());
    } catch (error) {
      if (ticket === shown) count.textContent = `The library could not be read: ${error.message}`;
      return;
    }
    if (ticket !== shown) return;
    table.tBodies[0].replaceChildren(...page.items.map(row));
    const last = Math.min(offset + page.items.length, page.total);
    const more = page.total_exact ? "" : "+";  // the server stopped counting: at least that many
    const total = `${page.total.toLocaleString("en")}${more}`;
    count.textContent = page.total === 0 ? "No regions match." :
      `${total} region${page.total === 1 && !more ? "" : "s"}`;
    pageLabel.textContent = page.total ? `${(offset + 1).toLocaleString("en")}–${last.toLocaleString("en")} of `
      + total : "";
    prev.disabled = offset === 0;
    next.disabled = last >= page.total && !more;
    const pages = Math.max(1, Math.ceil(page.total / PAGE));
    pageNumber.max = pages;
    pageNumber.value = Math.floor(offset / PAGE) + 1;
    pageCount.textContent = `of ${pages.toLocaleString("en")}${more}`;
    table.hidden = page.total === 0;  // no empty header row
    prev.parentElement.hidden = page.total === 0;
    table.dataset.loaded = "true";
    performance.mark("library-rendered");
    performance.measure("library-page", "library-asked", "library-rendered");
  }

  function filtersChanged(event) {
    offset = 0;
    clearTimeout(timer);
    timer = setTimeout(refresh, event.type === "input" && event.target.type !== "checkbox" ? TYPING_PAUSE_MS : 0);
  }

  form.addEventListener("input", filtersChanged);
  form.addEventListener("change", filtersChanged);
  form.addEventListener("submit", (event) => event.preventDefault());
  prev.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); refresh(); });
  next.addEventListener("click", () => { offset += PAGE; refresh(); });
  pageNumber.addEventListener("change", () => {
    const wanted = Math.round(Number(pageNumber.value));
    if (!Number.isFinite(wanted) || wanted < 1) return;
    offset = (Math.min(wanted, Number(pageNumber.max) || wanted) - 1) * PAGE;
    refresh();
  });
  return { refresh, filters, ready: refresh() };
}

function row(region) {
  const link = el("a", { href: `#/region/${region.id}` }, region.name);
  return el("tr", { "data-region": region.id },
    el("th", { scope: "row" }, link,
      el("span", { class: "sub" }, ` region ${region.index + 1} · ${fmt.clock(region.start_s)}`)),
    el("td", { "data-label": "Length" }, fmt.duration(region.duration_s)),
    el("td", { "data-label": "BPM" }, fmt.bpm(region.bpm)),
    el("td", { "data-label": "Key" }, fmt.key(region.key, region.camelot)),
    el("td", { "data-label": "Content" }, region.content ? el("span", { class: `badge ${region.content}` },
      region.content) : "–"),
    el("td", { "data-label": "Tags", class: "tags" }, ...tagCells(region.tags)));
}

/** A person's tags as chips, then the models' top ones as text. */
function tagCells(tags = []) {
  const mine = tags.filter((t) => t.source === "user");
  const models = fmt.tags(tags.filter((t) => t.source !== "user"), Math.max(1, 3 - mine.length));
  return [...mine.map((t) => el("span", { class: "mine-tag", title: "your tag" }, t.tag)), models];
}
