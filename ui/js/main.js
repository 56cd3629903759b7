// The page: upload, library (with its tags and the pack builder), system panel, and the
// file view on #/region/{id}.

import { setupLibrary } from "./library.js";
import { setupStatus } from "./status.js";
import { onTagsChanged, setupTagCloud } from "./tags.js";
import { setupUpload } from "./upload.js";

const $ = (id) => document.getElementById(id);

const library = setupLibrary({ form: $("filters"), table: $("regions"), count: $("library-count"),
  prev: $("page-prev"), next: $("page-next"), pageLabel: $("page-label"), pageNumber: $("page-number"),
  pageCount: $("page-count") });

let refreshTimer = null;
let status = null;  // the system panel, once shown
const upload = setupUpload({
  zone: $("drop-zone"), input: $("file-input"), list: $("batches"),
  onAnalysed: () => {  // several files finish close together: one refresh for them
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { library.refresh(); tagCloud.refresh(); }, 300);
  },
  onEnded: () => status?.refresh(),  // "1 job running" should not outlive the job by 10 s
});
const tagCloud = setupTagCloud({ list: $("tag-cloud"), datalist: $("tag-names"), tagInput: $("filters").elements.tag });
onTagsChanged(() => library.refresh());

// What the first page of regions does not need waits until it is shown: the system panel
// (the slowest questions), the jobs still running (followed again after a reload), the tags.
library.ready.then(() => {
  status = setupStatus({ summary: $("system-summary"), facts: $("system-facts") });
  upload.restore();
  tagCloud.refresh();
});

// The pack builder loads when it is first opened.
$("pack").addEventListener("toggle", async () => {
  const { setupPack } = await import("./pack.js");
  setupPack({ details: $("pack"), form: $("pack-form"), weightsList: $("pack-weights"), categoryInput: $("pack-category"),
    addButton: $("pack-add"), exportButton: $("pack-export"), message: $("pack-message"), report: $("pack-report"),
    filters: library.filters });
  $("pack").dispatchEvent(new Event("toggle"));
}, { once: true });

// The file view (Peaks.js and Konva) loads the first time a region is opened.
let fileView = null;
async function getFileView() {
  if (!fileView) {
    const { FileView } = await import("./fileview.js");
    fileView = new FileView({ title: $("file-title"), message: $("file-message"), zoomview: $("zoomview"),
      overview: $("overview"), audio: $("player"), chips: $("file-regions"), detail: $("region-detail"),
      play: $("play"), prev: $("prev-region"), next: $("next-region"), loop: $("loop") });
    document.addEventListener("keydown", (event) => {
      if (!$("file-view").hidden && !$("token-dialog").open) fileView.onKey(event);
    });
  }
  return fileView;
}

async function route() {
  const match = location.hash.match(/^#\/region\/(\d+)$/);
  $("library-view").hidden = Boolean(match);
  $("file-view").hidden = !match;
  document.body.classList.toggle("file-open", Boolean(match));
  if (!match) {
    if (fileView?.fileId) {  // back from a file: its tags may have changed, or other pages' analyses landed
      library.refresh();
      tagCloud.refresh();
    }
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
