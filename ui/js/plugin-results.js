// Each plugin's result as a few lines a musician reads: [label, value] pairs. Plugins
// this page does not know show their plain (number, text, yes/no) fields.

import * as fmt from "./format.js";

const orDash = (value) => (value === null || value === undefined || value === "" ? "–" : String(value));

const SUMMARIES = {
  features: (r) => [
    ["Loudness", fmt.number(r.loudness_lufs, 1, "LUFS")], ["Peak", fmt.number(r.peak_dbfs, 1, "dBFS")],
    ["RMS", fmt.number(r.rms_dbfs, 1, "dBFS")], ["Crest", fmt.number(r.crest_db, 1, "dB")],
    ["Centroid", fmt.number(r.spectral_centroid_hz?.mean, 0, "Hz")],
    ["Onsets", `${orDash(r.onset_count)} (${fmt.number(r.onset_rate_hz, 1, "/s")})`],
  ],
  content: (r) => [
    ["Content", `${r.label} (${fmt.percent(r.confidence)} sure)`],
    ["Speech", fmt.percent(r.speech_ratio ?? 0)], ["Music", fmt.percent(r.music_ratio ?? 0)],
  ],
  classifier: (r) => [
    ...tagGroups(r.tags),
    ["Kind", orDash(r.sample_type?.replace("_", "-"))], ["Drum type", orDash(r.drum_type)],
    ...(r.musicnn && r.musicnn.status !== "ok" ? [["musicnn", r.musicnn.status.replace("_", " ")]] : []),
  ],
  tempo_meter: (r) => [
    ["Tempo", `${fmt.bpm(r.bpm)} BPM (${fmt.percent(r.confidence)} steady)`],
    ["Time signature", orDash(r.time_signature)], ["Beats", `${r.beats?.length ?? 0}, ${r.downbeats?.length ?? 0} bars`],
    ["Method", r.fallback_reason ? `${r.method} (${r.fallback_reason})` : orDash(r.method)],
  ],
  key_finder: (r) => [
    ["Key", fmt.key(r.key, r.camelot)], ["Strength", fmt.number(r.strength, 2)],
    ["Method", r.fallback_reason ? `${r.method} (${r.fallback_reason})` : `${r.method}${r.profile ? `, ${r.profile}` : ""}`],
    ...(r.key_changes?.length ? [["Key changes", r.key_changes.map((c) => `${fmt.clock(c.time)} ${c.key}`).join(", ")]] : []),
  ],
  embeddings: (r) => [["Vectors", Object.values(r).filter((v) => v && v.dim).map((v) => `${v.model}, ${v.dim}\u00a0dimensions`)
    .join(", ") || "–"]],
};

// The classifier's tag groups (plugins/classifier.py GROUPS), in the order a producer asks.
const GROUPS = [["instrument", "Instrument"], ["instrument_family", "Instrument family"], ["genre", "Genre"],
  ["mood", "Mood"], ["vocal", "Vocal"], ["sound_effect", "Sound effect"]];
const PER_GROUP = 4;

/** One line per group that has tags: its most probable ones; tags without a group last. */
function tagGroups(given = []) {
  const tags = [...given].sort((a, b) => (b.probability ?? 1) - (a.probability ?? 1));
  const known = new Set(GROUPS.map(([group]) => group));
  const lines = GROUPS.map(([group, label]) => [label, fmt.tags(tags.filter((t) => t.group === group), PER_GROUP)]);
  lines.push(["Other tags", fmt.tags(tags.filter((t) => !known.has(t.group)), PER_GROUP)]);
  const shown = lines.filter(([, text]) => text);
  return shown.length ? shown : [["Tags", "–"]];
}

const BOOKKEEPING = new Set(["status", "version", "elapsed_s", "error"]);

function plainFields(result) {
  return Object.entries(result)
    .filter(([name, value]) => !BOOKKEEPING.has(name) && ["number", "string", "boolean"].includes(typeof value))
    .map(([name, value]) => [name.replaceAll("_", " "), typeof value === "number" ? fmt.number(value, 2) : String(value)]);
}

/** [label, value] lines for a successful result of plugin `name`. */
export function summarize(name, result) {
  return (SUMMARIES[name] || plainFields)(result);
}
