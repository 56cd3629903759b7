// Adding audio: drop files (or pick them), upload them as one job, follow each file
// through upload and analysis, cancel, and say what went wrong with a file.

import { ApiError, cancelJob, fileRegions, followJob, getJSON, postJSON, uploadFiles } from "./api.js";
import { fileError, uploadError } from "./messages.js";
import { el } from "./dom.js";

// The extensions the server reads (core/engine.py AUDIO_EXTENSIONS): other files are
// refused here, so one stray file does not make the server refuse the whole drop.
const AUDIO_EXTENSIONS = [".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".mp3", ".m4a", ".mp4", ".aac",
  ".alac", ".ogg", ".oga", ".opus", ".wma", ".caf", ".w64", ".wv"];

const isAudio = (file) => file.fromJob || AUDIO_EXTENSIONS.some((ext) => file.name.toLowerCase().endsWith(ext));

const ACTIVE = new Set(["queued", "running"]);
// Jobs that stopped before their end and can be resumed: offered again after a reload when
// recent (an interrupted one, the server stopped meanwhile); a cancelled one only on the page.
const RESUMABLE = new Set(["interrupted", "cancelled"]);
const OFFER_INTERRUPTED_H = 24;
const OFFER_INTERRUPTED_JOBS = 3;
// A file's errors that a resumed job tries again (api/jobs.py RETRYABLE): the others are final.
const RETRIED = new Set(["storage_error", "internal_error"]);

/**
 * Wire the drop zone and picker; onAnalysed(fileId) runs when a file's analysis is stored,
 * onEnded() when a job followed here ends.
 * Returns { restore() }: follow again the jobs still queued or running on the server (after
 * the page was reloaded, or jobs another page or a script started).
 */
export function setupUpload({ zone, input, list, onAnalysed, onEnded }) {
  input.accept = AUDIO_EXTENSIONS.join(",");
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  const hasFiles = (event) => [...event.dataTransfer.types].includes("Files");
  window.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    zone.classList.add("over");
  });
  window.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) zone.classList.remove("over");
  });
  window.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("over");
    addFiles([...event.dataTransfer.files]);
  });

  const following = new Set();

  function addFiles(files) {
    if (files.length === 0) return;
    const batch = new Batch(files, onAnalysed, following, onEnded);
    list.prepend(batch.element);
    batch.start();
  }

  async function restore() {
    const jobs = await getJSON("/api/jobs");  // the most recent first
    const since = Date.now() - OFFER_INTERRUPTED_H * 3600_000;
    const interrupted = jobs.filter((j) => j.state === "interrupted" && Date.parse(j.updated_at) > since
      && j.finished_files < j.total_files).slice(0, OFFER_INTERRUPTED_JOBS);
    const running = jobs.filter((j) => ACTIVE.has(j.state));
    for (const job of [...interrupted, ...running].filter((j) => !following.has(j.id)).reverse()) {
      const batch = new Batch(job.files.map((file) => ({ name: file.path.split("/").pop(), size: 0, fromJob: true })),
        onAnalysed, following, onEnded);
      list.prepend(batch.element);
      batch.reconnect(job);
    }
  }

  return { restore };
}

/** One drop: its files go up in one request and are analysed as one job. */
class Batch {
  constructor(files, onAnalysed, following, onEnded) {
    this.onAnalysed = onAnalysed;
    this.onEnded = onEnded;
    this.following = following;
    this.rows = files.map((file) => new FileRow(file));
    this.audio = this.rows.filter((row) => isAudio(row.file));
    this.summary = el("span", { class: "batch-summary" });
    this.cancelButton = el("button", { type: "button", class: "small", "aria-label": "Cancel the analysis of these files" },
      "Cancel");
    this.cancelButton.addEventListener("click", () => this.cancel());
    this.resumeButton = el("button", { type: "button", class: "small", hidden: true,
      "aria-label": "Resume the analysis of the files not analysed" }, "Resume");
    this.resumeButton.addEventListener("click", () => this.resume());
    this.element = el("li", { class: "batch" },
      el("div", { class: "batch-head" }, this.summary, this.cancelButton, this.resumeButton),
      el("ul", { class: "files" }, ...this.rows.map((row) => row.element)));
  }

  start() {
    for (const row of this.rows.filter((r) => !isAudio(r.file))) {
      row.fail("This isn't an audio file the sampler reads.", `${row.file.name}: not one of ${AUDIO_EXTENSIONS.join(" ")}`);
    }
    if (this.audio.length === 0) return this.finish();
    const sizes = this.audio.map((row) => row.file.size);
    const total = sizes.reduce((a, b) => a + b, 0);
    this.setSummary(`Uploading ${this.audio.length} file${this.audio.length > 1 ? "s" : ""}…`);
    this.upload = uploadFiles(this.audio.map((row) => row.file), (loaded, sent) => {
      // The request body holds the files in order (plus a little multipart framing).
      let offset = 0;
      const bytes = (loaded * total) / Math.max(sent, 1);
      this.audio.forEach((row, i) => {
        row.uploading(Math.min(1, Math.max(0, (bytes - offset) / Math.max(sizes[i], 1))));
        offset += sizes[i];
      });
    });
    this.upload.done.then((created) => this.follow(created.job_id), (error) => {
      for (const row of this.audio) row.fail(uploadError(error.status, error.message), error.message);
      this.finish();
    });
  }

  async follow(jobId) {
    this.jobId = jobId;
    this.following.add(jobId);
    this.setSummary("Analysing…");
    this.listen(await getJSON(`/api/jobs/${jobId}`));
  }

  /** A job found on the server: its files' outcomes so far, then its events while it runs. */
  reconnect(job) {
    this.jobId = job.id;
    this.element.classList.add("restored");
    job.files.forEach((file, i) => {
      const row = this.audio[i];
      if (file.status === "ok") row.analysed(file);
      else if (file.status) row.fail(fileError(file.error_code), file.error);
      else if (file.stage) row.progress(file);
    });
    if (!ACTIVE.has(job.state)) {
      for (const row of this.audio.filter((r) => !r.finished)) row.fail("Not analysed: the server stopped first.",
        `job ${job.state}`);
      return this.finish(job.state);
    }
    this.following.add(job.id);
    this.setSummary("Analysing (reconnected)…");
    this.listen(job);
  }

  /** Analyse the files a cancelled or interrupted job left. */
  async resume() {
    this.resumeButton.disabled = true;
    let job;
    try {
      job = await postJSON(`/api/jobs/${encodeURIComponent(this.jobId)}/resume`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.resumeButton.disabled = false;
      return this.setSummary(`It could not be resumed: ${error.message}`);
    }
    this.resumeButton.hidden = true;
    this.cancelButton.hidden = false;
    this.cancelButton.disabled = false;
    job.files.forEach((file, i) => { if (!file.status || RETRIED.has(file.error_code)) this.audio[i].reset(); });
    this.following.add(job.id);
    this.setSummary("Analysing the rest…");
    this.listen(job);
  }

  listen(job) {
    const byPath = new Map(job.files.map((file, i) => [file.path, this.audio[i]]));
    for (const row of this.audio) row.queued();
    this.stop = followJob(job.id, {
      progress: (event) => byPath.get(event.path)?.progress(event),
      file: (event) => {
        const row = byPath.get(event.path);
        if (!row || row.finished) return;
        if (event.status === "ok") {
          row.analysed(event);
          this.onAnalysed(event.file_id);
        } else {
          row.fail(fileError(event.error_code), event.error);
        }
      },
      error: (event) => this.setSummary(`The analysis stopped: ${event.error}`),
      end: (event) => {
        for (const row of this.audio) {
          if (!row.finished) row.fail(event.state === "cancelled" ? "Cancelled before it was analysed." :
            "Not analysed: the server stopped first.", `job ${event.state}`);
        }
        this.following.delete(job.id);
        this.finish(event.state);
        this.onEnded?.();
      },
    });
  }

  async cancel() {
    this.cancelButton.disabled = true;
    if (!this.jobId) return this.upload?.abort();
    this.setSummary("Cancelling: files already started are finished first…");
    try {
      await cancelJob(this.jobId);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;  // 409: it had ended already
    }
  }

  finish(state) {
    this.cancelButton.disabled = true;
    this.cancelButton.hidden = true;
    const left = this.audio.some((row) => !row.ok);
    if (this.jobId && RESUMABLE.has(state) && left) {
      this.resumeButton.hidden = false;
      this.resumeButton.disabled = false;
    }
    const ok = this.rows.filter((row) => row.ok).length;
    const failed = this.rows.length - ok;
    this.setSummary(`${ok} analysed${failed ? `, ${failed} not` : ""}`);
  }

  setSummary(text) {
    this.summary.textContent = text;
  }
}

/** One file's line: name, a progress bar, what is happening, and what went wrong. */
class FileRow {
  constructor(file) {
    this.file = file;  // a File, or { name, size } for a job found on the server
    this.finished = false;
    this.ok = false;
    this.bar = el("progress", { max: 1, value: 0, "aria-label": `${file.name} progress` });
    this.status = el("span", { class: "file-status" }, "waiting");
    this.element = el("li", { class: "file" }, el("span", { class: "file-name" }, file.name), this.bar, this.status);
  }

  uploading(share) {
    this.bar.value = share;
    this.status.textContent = share < 1 ? `uploading ${Math.round(share * 100)} %` : "uploaded";
  }

  queued() {
    if (this.finished) return;
    this.bar.removeAttribute("value");  // indeterminate until analysis reports
    this.status.textContent = "waiting for analysis";
  }

  progress({ stage, done, total }) {
    if (this.finished) return;
    if (total) {
      this.bar.max = total;
      this.bar.value = done;
    }
    this.status.textContent = stage === "analysing" && total ? `analysing ${done}/${total}` : stage;
  }

  async analysed({ file_id: fileId, regions }) {
    this.finish("ok");
    this.ok = true;
    this.bar.max = 1;
    this.bar.value = 1;
    this.status.textContent = `${regions} region${regions === 1 ? "" : "s"}`;
    const [first] = regions ? await fileRegions(fileId) : [];
    if (first) this.status.append(" · ", el("a", { href: `#/region/${first.id}` }, "open"));
  }

  /** Waiting again (its job is resumed). */
  reset() {
    this.finished = false;
    this.ok = false;
    this.element.classList.remove("ok", "error");
    this.bar.hidden = false;
    this.bar.max = 1;
    this.status.replaceChildren("waiting for analysis");
  }

  fail(text, detail) {
    this.finish("error");
    this.bar.hidden = true;
    this.status.replaceChildren(el("details", { class: "error" },
      el("summary", {}, text), el("p", { class: "detail-text" }, detail || "")));
  }

  finish(kind) {
    this.finished = true;
    this.element.classList.add(kind);
  }
}
