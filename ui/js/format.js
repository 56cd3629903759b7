// How numbers, times, keys and tags read on the page.

/** 75.3 → "1:15.3"; 4.25 → "4.3 s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds - minutes * 60).toFixed(1).padStart(4, "0")}`;
}

/** A position in a file: 75.3 → "1:15.30". */
export function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds - minutes * 60).toFixed(2).padStart(5, "0")}`;
}

export const bpm = (value) => (value === null || value === undefined ? "–" : value.toFixed(value < 100 ? 1 : 0));

export const key = (name, camelot) => (name ? `${name}${camelot ? ` · ${camelot}` : ""}` : "–");

// A no-break space keeps a number with its unit when a line wraps.
export const percent = (share) => `${Math.round(share * 100)}\u00a0%`;

export function number(value, digits = 1, unit = "") {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  return `${value.toFixed(digits)}${unit ? `\u00a0${unit}` : ""}`;
}

export function megabytes(mb) {
  return mb >= 10240 ? `${(mb / 1024).toFixed(0)} GB` : mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${mb.toFixed(0)} MB`;
}

/** The first few tags as "loop, Drum 62 %, Snare 31 %" (a person's or a rule's tag has no probability). */
export function tags(list, count = 3) {
  if (!list || list.length === 0) return "";
  return list.slice(0, count).map((t) => (t.probability === null || t.probability === undefined ? t.tag
    : `${t.tag}\u00a0${percent(t.probability)}`)).join(", ");
}

/** "loop one.wav · region 2". */
export const regionName = (region) => `${region.name} · region ${region.index + 1}`;
