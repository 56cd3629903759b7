// A person's tags: the editor on a region or a file (add, remove), and the library's most
// used tags with their counts (a click filters by one; every tag is offered as you type).

import { ApiError, deleteJSON, getJSON, postJSON } from "./api.js";
import { el } from "./dom.js";

const CLOUD_SIZE = 14;  // the rest are offered as you type in the Tag filter
const listeners = new Set();

/** Run `callback` whenever a tag is added or removed on this page. */
export const onTagsChanged = (callback) => listeners.add(callback);
const changed = () => listeners.forEach((callback) => callback());

/**
 * The editor of a target's tags. `path` is "/api/regions/ID/tags" or "/api/files/ID/tags";
 * `tags` its tags as the API lists them (a person's are editable, a model's are not shown).
 */
export function tagEditor({ title, path, tags, what }) {
  const list = el("ul", { class: "tag-list", "aria-label": `${title}` });
  const input = el("input", { type: "text", list: "tag-names", autocomplete: "off", maxlength: 128,
    placeholder: "e.g. kick, dark, keeper" });
  const message = el("p", { class: "message", role: "status" });
  const form = el("form", { class: "tag-add" },
    el("label", {}, el("span", { class: "visually-hidden" }, `Add a tag to ${what}`), input),
    el("button", { type: "submit", "aria-label": `Add the tag to ${what}` }, "Add tag"));
  const section = el("section", { class: "tags-edit" }, el("h4", {}, title), list, form, message);

  function show(all) {
    const mine = all.filter((t) => t.source === "user");
    list.replaceChildren(...(mine.length ? mine.map((t) => el("li", { class: "tag-chip" }, t.tag,
      removeButton(t.tag))) : [el("li", { class: "muted none" }, "none yet")]));
  }

  function removeButton(tag) {
    const button = el("button", { type: "button", class: "small remove", "aria-label": `Remove the tag ${tag} from ${what}`,
      title: "Remove" }, "×");
    button.addEventListener("click", () => apply(() => deleteJSON(path, { tag: [tag] })));
    return button;
  }

  async function apply(call) {
    message.textContent = "";
    try {
      show((await call()).tags);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message.textContent = `The tag could not be changed: ${error.message}`;
      return;
    }
    changed();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const names = input.value.split(",").map((t) => t.trim()).filter(Boolean);
    if (names.length === 0) return;
    input.value = "";
    apply(() => postJSON(path, { tags: names }));
  });
  show(tags);
  return section;
}

/** The most used tags as buttons that set the library's tag filter, and every tag in `datalist`. */
export function setupTagCloud({ list, datalist, tagInput }) {
  async function refresh() {
    let counts;
    try {
      counts = (await getJSON("/api/tags")).items;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return;
    }
    datalist.replaceChildren(...counts.map((c) => el("option", { value: c.tag }, `${c.tag} (${c.regions})`)));
    // A person's own tags first (they are what a person sorts by), then the models', most used first.
    const mine = (c) => c.user.regions + c.user.files > 0;
    const shown = [...counts.filter(mine), ...counts.filter((c) => !mine(c))].slice(0, CLOUD_SIZE);
    list.replaceChildren(...shown.map((c) => {
      // regions tagged themselves; a file's tag (which finds all its regions) is counted in files
      const files = c.user.files + c.model.files;
      const count = [c.regions ? `${c.regions.toLocaleString("en")}` : "",
        files ? `${files.toLocaleString("en")} file${files === 1 ? "" : "s"}` : ""].filter(Boolean).join(" · ");
      const spoken = [c.regions ? `${c.regions} region${c.regions === 1 ? "" : "s"}` : "",
        files ? `${files} file${files === 1 ? "" : "s"}` : ""].filter(Boolean).join(", ");
      const button = el("button", { type: "button", class: `tag-count${mine(c) ? " mine" : ""}`,
        "aria-label": `${c.tag} ${spoken}`, title: "Filter the library by this tag",
        "aria-pressed": String(tagInput.value.trim().toLowerCase() === c.tag) }, c.tag, " ",
      el("span", { class: "count" }, count));
      button.addEventListener("click", () => {
        tagInput.value = button.getAttribute("aria-pressed") === "true" ? "" : c.tag;
        for (const other of list.querySelectorAll("button")) other.setAttribute("aria-pressed", "false");
        button.setAttribute("aria-pressed", String(tagInput.value !== ""));
        tagInput.dispatchEvent(new Event("change", { bubbles: true }));
      });
      return el("li", {}, button);
    }));
    list.closest("nav").hidden = counts.length === 0;
  }
  onTagsChanged(refresh);
  return { refresh };
}
