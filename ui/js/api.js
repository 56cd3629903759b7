// Talking to the server: JSON requests, uploads with progress, a job's event stream.

const REGION_PAGE = 500;  // the most /api/regions gives at once

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** A same-origin URL with the non-empty params as its query string. */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function request(method, path, params) {
  const response = await fetch(apiUrl(path, params), { method, headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error || response.statusText);
  return body;
}

export const getJSON = (path, params) => request("GET", path, params);
export const cancelJob = (jobId) => request("DELETE", `/api/jobs/${encodeURIComponent(jobId)}`);

/** Every region of a file, in order: a search by the file's name, kept to its id. */
export async function fileRegions(fileId, name) {
  const found = [];
  for (let offset = 0, total = 1; offset < total; offset += REGION_PAGE) {
    const page = await getJSON("/api/regions", { query: name, sort: "name", limit: REGION_PAGE, offset });
    found.push(...page.items.filter((item) => item.file_id === fileId));
    total = page.total;
  }
  return found.sort((a, b) => a.index - b.index);
}

export async function getArrayBuffer(path, params) {
  const response = await fetch(apiUrl(path, params));
  if (!response.ok) throw new ApiError(response.status, response.statusText);
  return response.arrayBuffer();
}

/**
 * Upload files as one analysis job. onProgress(loadedBytes, totalBytes) follows the request
 * body. Returns { done: Promise<{job_id, files}>, abort() }.
 */
export function uploadFiles(files, onProgress) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.total));
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: the status says enough */ }
      if (xhr.status === 202) resolve(body);
      else reject(new ApiError(xhr.status, body.error || `the server answered ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "the server could not be reached")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "cancelled")));
  });
  xhr.open("POST", "/api/analyze/upload");
  xhr.send(form);
  return { done, abort: () => xhr.abort() };
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
