// One file: Peaks.js waveforms (zoom + overview) with its regions as segments, playing
// and looping a region, the selected region's beats as markers, and the keyboard.

import Peaks from "peaks.js";
import WaveformData from "waveform-data";
import { fileRegions, getArrayBuffer, getJSON } from "./api.js";
import { el } from "./dom.js";
import * as fmt from "./format.js";
import { renderRegion } from "./region-detail.js";

const COLORS = {
  segment: "rgba(46, 110, 200, 0.28)", selected: "rgba(230, 120, 20, 0.38)",
  beat: "#8a94a6", downbeat: "#c2185b", wave: "#2b5f9e", overview: "#7f93ad", played: "#17365d",
};

export class FileView {
  constructor({ title, message, zoomview, overview, audio, chips, detail, play, prev, next, loop }) {
    Object.assign(this, { title, message, zoomview, overview, audio, chips, detail, playButton: play, loop });
    this.regions = [];
    play.addEventListener("click", () => this.togglePlay());
    prev.addEventListener("click", () => this.step(-1));
    next.addEventListener("click", () => this.step(1));
    loop.addEventListener("change", () => { if (this.playing()) this.play(); });
    audio.addEventListener("play", () => { play.textContent = "Pause"; });
    audio.addEventListener("pause", () => { play.textContent = "Play"; });
    audio.addEventListener("error", () => {
      if (!this.audio.getAttribute("src")) return;
      if (this.audio.src.includes("/api/audio/") && this.path) {  // the original: try it decoded by the server
        this.audio.src = decodedUrl(this.path);
        return;
      }
      this.say("This file could not be played; download a region as WAV to listen to it.");
    });
    window.addEventListener("resize", () => this.peaks?.views.getView("zoomview")?.fitToContainer());
  }

  /** Show the region with id regionId (and its file). */
  async open(regionId) {
    const region = await getJSON(`/api/regions/${regionId}`);
    if (region.file_id !== this.fileId) await this.load(region.file_id, region.name, region.path);
    this.select(this.regions.find((r) => r.id === region.id), { play: false, detail: region });
  }

  /** The keyboard: space plays or pauses, the arrows step through the regions. */
  onKey(event) {
    if (event.target.closest("input, select, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === " " && event.target.closest("button, a, summary")) return;  // space presses what has focus
    const actions = { " ": () => this.togglePlay(), ArrowLeft: () => this.step(-1), ArrowRight: () => this.step(1) };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }

  async load(fileId, name, path) {
    this.close();
    this.fileId = fileId;
    this.path = path;
    this.title.textContent = name;
    this.say("");
    const [regions, data] = await Promise.all([fileRegions(fileId),
      getArrayBuffer(`/api/files/${fileId}/waveform`, { format: "dat", level: "zoom" })]);
    this.regions = regions;
    this.waveform = WaveformData.create(data);
    this.peaks = await initPeaks({
      zoomview: { container: this.zoomview, waveformColor: COLORS.wave, playedWaveformColor: COLORS.played },
      overview: { container: this.overview, waveformColor: COLORS.overview },
      mediaElement: this.audio,
      waveformData: { arraybuffer: data },
      // Peaks.js draws the zoom view from this one data set (the 8 000-point level) and
      // resamples it for the overview; no zoom level may be finer than the data.
      zoomLevels: [1, 2, 4, 8, 16].map((times) => this.waveform.scale * times),
      segments: regions.map((region) => ({
        id: `r${region.id}`, startTime: region.start_s, endTime: region.end_s,
        labelText: `${region.index + 1}`, color: COLORS.segment, editable: false,
      })),
    });
    this.zoomview.dataset.segments = this.peaks.segments.getSegments().length;
    this.peaks.on("segments.click", (event) => {
      event.preventViewEvent();
      this.select(this.regions.find((r) => `r${r.id}` === event.segment.id), { play: true });
    });
    // The original file where the browser plays its format; otherwise (AIFF, WMA, CAF …)
    // the server's WAV of it. Should the original still fail, the error handler falls back.
    this.audio.src = this.audio.canPlayType(mediaType(name)) ? `/api/audio/${fileId}` : decodedUrl(path);
    this.chips.replaceChildren(...regions.map((region) => el("li", {}, el("button", {
      type: "button", "data-region": region.id,
      "aria-label": `Region ${region.index + 1}, ${fmt.clock(region.start_s)}, ${fmt.duration(region.duration_s)}`,
    }, `${region.index + 1}`, el("span", { class: "sub" }, ` ${fmt.duration(region.duration_s)}`)))));
    for (const button of this.chips.querySelectorAll("button")) {
      button.addEventListener("click", () => this.select(this.regions.find((r) => r.id === +button.dataset.region),
        { play: true }));
    }
  }

  close() {
    this.audio.pause();
    this.peaks?.destroy();
    this.peaks = null;
    this.fileId = null;
    this.selected = null;
  }

  async select(region, { play, detail }) {
    if (!region) return;
    const previous = this.selected;
    this.selected = region;
    this.peaks.segments.getSegment(`r${previous?.id}`)?.update({ color: COLORS.segment });
    this.peaks.segments.getSegment(`r${region.id}`).update({ color: COLORS.selected });
    for (const button of this.chips.querySelectorAll("button")) {
      button.setAttribute("aria-current", String(+button.dataset.region === region.id));
    }
    this.showInZoom(region);
    if (play) this.play();
    const full = detail || await getJSON(`/api/regions/${region.id}`);
    if (this.selected !== region) return;  // another region was chosen meanwhile
    this.markBeats(region, full.analysis.tempo_meter);
    renderRegion(this.detail, full);
  }

  showInZoom(region) {
    const view = this.peaks.views.getView("zoomview");
    const finest = (this.waveform.scale * this.zoomview.clientWidth) / this.waveform.sample_rate;
    const seconds = Math.min(Math.max(region.duration_s * 1.25, finest, 1), this.waveform.duration);
    view.setZoom({ seconds });
    view.setStartTime(Math.max(0, region.start_s - (seconds - region.duration_s) / 2));
  }

  /** The region's beats and downbeats (tempo_meter, seconds from the region's start). */
  markBeats(region, tempo) {
    this.peaks.points.removeAll();
    if (tempo?.status !== "ok") return;
    const downbeats = new Set(tempo.downbeats || []);
    this.peaks.points.add(tempo.beats.map((time) => ({
      time: region.start_s + time, editable: false, labelText: downbeats.has(time) ? "bar" : "",
      color: downbeats.has(time) ? COLORS.downbeat : COLORS.beat,
    })));
  }

  playing() {
    return !this.audio.paused;
  }

  play() {
    if (!this.selected) return;
    const segment = this.peaks.segments.getSegment(`r${this.selected.id}`);
    this.peaks.player.playSegment(segment, this.loop.checked).catch((error) => {
      if (error.name !== "AbortError") this.say(`Playback failed: ${error.message}`);
    });
  }

  togglePlay() {
    if (this.playing()) this.audio.pause();
    else this.play();
  }

  step(direction) {
    const at = this.regions.indexOf(this.selected);
    const next = this.regions[Math.min(this.regions.length - 1, Math.max(0, at + direction))];
    if (next && next !== this.selected) this.select(next, { play: this.playing() });
  }

  say(text) {
    this.message.textContent = text;
  }
}

// What the audio element is asked about, by extension; "" (unknown) means "decode it first".
const MEDIA_TYPES = {
  wav: "audio/wav", wave: "audio/wav", mp3: "audio/mpeg", flac: "audio/flac", ogg: "audio/ogg", oga: "audio/ogg",
  opus: "audio/ogg; codecs=opus", m4a: "audio/mp4", mp4: "audio/mp4", aac: "audio/aac", webm: "audio/webm",
  aif: "audio/aiff", aiff: "audio/aiff", aifc: "audio/aiff",
};

function mediaType(name) {
  return MEDIA_TYPES[name.split(".").pop().toLowerCase()] || "";
}

/** The whole file decoded by the server as WAV (GET /api/processed_audio/{path}?format=wav). */
function decodedUrl(path) {
  const parts = path.split("/").filter(Boolean).map(encodeURIComponent);
  return `/api/processed_audio/${parts.join("/")}?format=wav`;
}

/** Peaks.init as a promise. */
function initPeaks(options) {
  return new Promise((resolve, reject) => Peaks.init(options, (error, peaks) => (error ? reject(error) : resolve(peaks))));
}
