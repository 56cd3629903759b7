// Talking to the server: JSON requests, uploads with progress, a job's event stream,
// downloads of what the server renders, and the API token when the server asks for one.

import { askForToken } from "./signin.js";

const REGION_PAGE = 500;  // the most /api/regions gives at once

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** A same-origin URL with the non-empty params as its query string (arrays: one each). */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") query.append(name, one);
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

// A server bound beyond this machine answers 401 until the page has traded the token for
// a session cookie (POST /api/session); the cookie then carries every request, the audio
// element's, the event stream's and the download links' included. One prompt at a time.
let signingIn = null;

export function signIn() {
  signingIn ||= askForToken(async (token) => {
    const response = await fetch("/api/session", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }),
    });
    return response.ok;
  }).finally(() => { signingIn = null; });
  return signingIn;
}

/** fetch(), asking for the token and trying once more when the server wants one. */
async function send(url, init) {
  let response = await fetch(url, init);
  if (response.status === 401) {
    await signIn();
    response = await fetch(url, init);
  }
  return response;
}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return new ApiError(response.status, body.error || response.statusText);
}

async function request(method, path, params, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await send(apiUrl(path, params),
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export const getJSON = (path, params) => request("GET", path, params);
export const postJSON = (path, body, params) => request("POST", path, params, body);
export const putJSON = (path, body) => request("PUT", path, undefined, body);
export const deleteJSON = (path, params) => request("DELETE", path, params);
export const cancelJob = (jobId) => deleteJSON(`/api/jobs/${encodeURIComponent(jobId)}`);

/** Every region of a file, in order. */
export async function fileRegions(fileId) {
  const found = [];
  for (let offset = 0, total = 1; offset < total; offset += REGION_PAGE) {
    const page = await getJSON("/api/regions", { file_id: fileId, sort: "name", limit: REGION_PAGE, offset });
    found.push(...page.items);
    total = page.total;
  }
  return found.sort((a, b) => a.index - b.index);
}

export async function getArrayBuffer(path, params) {
  const response = await send(apiUrl(path, params));
  if (!response.ok) throw await failure(response);
  return response.arrayBuffer();
}

/** POST a JSON body and save what comes back as a file (the name the server gives, or `fallback`). */
export async function download(path, body, fallback, params) {
  const response = await send(apiUrl(path, params), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  const named = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(response.headers.get("Content-Disposition") || "");
  const name = named ? decodeURIComponent(named[1]) : fallback;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, exported: response.headers.get("X-Exported"), failed: response.headers.get("X-Failed") };
}

/**
 * Upload files as one analysis job. onProgress(loadedBytes, totalBytes) follows the request
 * body. Returns { done: Promise<{job_id, files}>, abort() }.
 */
export function uploadFiles(files, onProgress) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  let xhr = null;
  let aborted = false;
  const attempt = () => new Promise((resolve, reject) => {
    xhr = new XMLHttpRequest();
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.total));
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: the status says enough */ }
      if (xhr.status === 202) resolve(body);
      else reject(new ApiError(xhr.status, body.error || `the server answered ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "the server could not be reached")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "cancelled")));
    xhr.open("POST", "/api/analyze/upload");
    xhr.send(form);
  });
  const done = attempt().catch(async (error) => {
    if (error.status !== 401 || aborted) throw error;
    await signIn();
    return attempt();
  });
  return { done, abort: () => { aborted = true; xhr?.abort(); } };
}

/**
 * Follow a job's Server-Sent Events: handlers.{state, progress, file, error, end}(data).
 * Returns a function that stops following.
 */
export function followJob(jobId, handlers) {
  const source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events`);
  for (const type of ["state", "progress", "file", "error"]) {
    source.addEventListener(type, (event) => {
      // An "error" without data is the connection's: the browser reconnects by itself and
      // the server replays the job's events from the start, which the handlers tolerate.
      if (event.data !== undefined) handlers[type]?.(JSON.parse(event.data));
    });
  }
  source.addEventListener("end", (event) => {
    source.close();
    handlers.end?.(JSON.parse(event.data));
  });
  return () => source.close();
}
