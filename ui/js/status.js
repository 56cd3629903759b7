// The system panel: workers, jobs, the experimental environment, database and disk.

import { getJSON } from "./api.js";
import { el } from "./dom.js";
import * as fmt from "./format.js";

const EVERY_MS = 10_000;
const UNRECORDED_SHOWN = 5;

export function setupStatus({ summary, facts }) {
  async function refresh() {
    let status;
    let resources;
    try {
      [status, resources] = await Promise.all([getJSON("/status"), getJSON("/api/system/resources")]);
    } catch (error) {
      summary.textContent = "· server unreachable";
      facts.replaceChildren(el("dt", {}, "Server"), el("dd", {}, error.message));
      return;
    }
    const { sandbox, bridge, database } = status;
    const failures = Object.entries(sandbox.failures).filter(([, n]) => n > 0);
    const unrecorded = status.unrecorded_errors || [];
    summary.replaceChildren(`· ${resources.active_jobs ? `${resources.active_jobs} job${resources.active_jobs > 1 ? "s" : ""}`
      + " running" : "idle"} · ${fmt.megabytes(resources.disk_free_mb)} free`, unrecorded.length ? el("span",
      { class: "warning" }, ` · ${unrecorded.length} unrecorded error${unrecorded.length > 1 ? "s" : ""}`) : "");
    const rows = [
      ["Workers", `${sandbox.alive} of ${sandbox.workers} alive, ${sandbox.idle} idle`],
      ["Plugin calls", `${sandbox.calls.toLocaleString("en")}${failures.length ? ` (failed: ${failures
        .map(([kind, n]) => `${n} ${kind}`).join(", ")})` : ""}`],
      ["Jobs running", String(resources.active_jobs)],
      ["Essentia", availability(bridge)],
      ...(status.musicnn ? [["musicnn", availability(status.musicnn)]] : []),
      ["Library", `${database.files.toLocaleString("en")} files, ${database.regions.toLocaleString("en")} regions`],
      ["CPU", `${resources.cpu_percent.toFixed(0)} % of ${resources.cpu_count} cores`],
      ["Memory free", fmt.megabytes(resources.memory_available_mb)],
      ["Disk free", fmt.megabytes(resources.disk_free_mb)],
      ["Plugins", status.plugins.join(", ")],
      // Files whose error could not be written to the database (a full or read-only disk):
      // the library does not show them, so they are listed here, latest first.
      ["Errors not recorded", unrecorded.length === 0 ? "none" : el("ul", { class: "unrecorded" },
        ...unrecorded.slice(-UNRECORDED_SHOWN).reverse().map((e) => el("li", {},
          el("span", { class: "file-name" }, e.path.split("/").pop() || e.path), ` ${e.error_code.replace("_", " ")}: `,
          e.error, el("span", { class: "muted" }, ` (${new Date(e.at).toLocaleString("en-GB")})`))))],
    ];
    facts.replaceChildren(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
  }
  refresh();
  setInterval(refresh, EVERY_MS);
  return { refresh };
}

// A child of the experimental environment (/status's bridge or musicnn): available, being
// checked (available null), or unavailable and why.
function availability(child) {
  if (child.available === null) return "being checked";
  return child.available ? "available" : `unavailable${child.reason ? `: ${child.reason}` : ""}`;
}
