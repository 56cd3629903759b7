// The page: upload, library, system panel, and the file view on #/region/{id}.

import { setupLibrary } from "./library.js";
import { setupStatus } from "./status.js";
import { setupUpload } from "./upload.js";

const $ = (id) => document.getElementById(id);

const library = setupLibrary({ form: $("filters"), table: $("regions"), count: $("library-count"),
  prev: $("page-prev"), next: $("page-next"), pageLabel: $("page-label") });
// The system panel asks the server the slowest questions: after the library is shown.
library.ready.then(() => setupStatus({ summary: $("system-summary"), facts: $("system-facts") }));

let refreshTimer = null;
setupUpload({
  zone: $("drop-zone"), input: $("file-input"), list: $("batches"),
  onAnalysed: () => {  // several files finish close together: one refresh for them
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(library.refresh, 300);
  },
});

// The file view (Peaks.js and Konva) loads the first time a region is opened.
let fileView = null;
async function getFileView() {
  if (!fileView) {
    const { FileView } = await import("./fileview.js");
    fileView = new FileView({ title: $("file-title"), message: $("file-message"), zoomview: $("zoomview"),
      overview: $("overview"), audio: $("player"), chips: $("file-regions"), detail: $("region-detail"),
      play: $("play"), prev: $("prev-region"), next: $("next-region"), loop: $("loop") });
    document.addEventListener("keydown", (event) => { if (!$("file-view").hidden) fileView.onKey(event); });
  }
  return fileView;
}

async function route() {
  const match = location.hash.match(/^#\/region\/(\d+)$/);
  $("library-view").hidden = Boolean(match);
  $("file-view").hidden = !match;
  document.body.classList.toggle("file-open", Boolean(match));
  if (!match) {
    fileView?.close();
    return;
  }
  const view = await getFileView();
  try {
    await view.open(Number(match[1]));
  } catch (error) {
    view.say(`This region could not be shown: ${error.message}`);
  }
  $("file-title").focus();
}

window.addEventListener("hashchange", route);
route();
