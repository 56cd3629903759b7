// What went wrong, in words a musician understands. The server's own message stays
// available as the technical detail.

const FILE_ERRORS = {
  empty: "There is no sound in this file: it is empty.",
  unsupported_format: "The sampler can't read this file: its contents are not in an audio format it knows, "
    + "whatever its name says. It may be damaged, or not audio at all.",
  decode_error: "This file looks damaged: its audio could not be read. It may be cut short, or not really audio.",
  invalid_samples: "The audio in this file is corrupt (it holds values that are not sound).",
  too_long: "This file is longer than the sampler accepts.",
  decode_timeout: "Reading this file took too long, so it was stopped.",
  decode_oom: "This file needed more memory to read than the sampler allows.",
  decoder_crashed: "The audio decoder crashed on this file; it is probably damaged.",
  not_found: "The file was gone before it could be analysed.",
  plugin_error: "The analysis was set up wrongly on the server (a plugin is missing).",
};

/** A failed file's explanation from its error code. */
export const fileError = (code) => FILE_ERRORS[code] || "This file could not be analysed.";

/** An upload the server refused (HTTP status and its message). */
export function uploadError(status, message) {
  if (status === 413) return "This file is too big to upload.";
  if (status === 400 && /not an audio file/.test(message)) return "This isn't an audio file the sampler reads.";
  if (status === 400 && /empty/.test(message)) return "This file is empty.";
  if (status === 0) return message === "cancelled" ? "Upload cancelled." : "The sampler's server could not be reached.";
  return "The upload failed.";
}

const OUTCOMES = {
  ok: "done",
  error: "failed with an error",
  timeout: "took too long and was stopped",
  crashed: "crashed",
  oom: "ran out of memory",
  not_applicable: "does not apply to this region",
  skipped: "skipped: an analysis it needs failed",
};

/** A plugin outcome's status in words. */
export const outcome = (status) => OUTCOMES[status] || status;
