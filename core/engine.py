"""The engine: decode → regions → plugins → database, for one file or many.

:meth:`AudioSamplerEngine.analyze_file` and :meth:`~AudioSamplerEngine.analyze_paths`
never raise: every file ends as a report (the stable JSON of DESIGN.md) whose
``status`` is ``ok`` or ``error``, and every plugin outcome on every region is
recorded. Decoding and plugins run in the sandbox; this process only hashes files,
schedules work and writes the database, one transaction per file.

Work already done is not redone: a file whose content hash is unchanged keeps its
regions, and a plugin whose stored result on a region has the plugin's current
version is not run again (``force=True`` runs the chosen plugins again all the same).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from core import audio
from core.bridge import environment_status
from core.config import SAMPLE_RATE, Settings, get_settings, user_path
from core.excerpt_cache import ExcerptCache
from core.pcm import remove_stale, temp_path
from core.plugin import Plugin, PluginError, discover, resolve
from core.sandbox import Outcome, Sandbox, TaskResult
from database import queries, store
from database.models import File, FileStatus
from database.session import Database

log = logging.getLogger(__name__)

#: Extensions picked up when a folder is scanned (a file named explicitly is always tried).
AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".mp3", ".m4a", ".mp4", ".aac",
                              ".alac", ".ogg", ".oga", ".opus", ".wma", ".caf", ".w64", ".wv"})
_ERROR_CODES = {cls.__name__: cls.code for cls in (audio.AudioError, *audio.AudioError.__subclasses__())}
#: Errors of a decoding worker that come from writing the decoded audio (a full or read-only
#: disk), not from the file: reported, never stored as the file's status.
_STORAGE_ERRORS = {cls.__name__ for cls in (OSError, *OSError.__subclasses__())}
#: Settings workers never need, kept out of them: the initializer travels in the environment,
#: which every child process inherits (the Essentia worker included).
WORKER_SECRETS = {"api_token", "database_url"}
#: Errors that could not be stored (the database refused them, or they are not about a file) kept for /status.
UNRECORDED_KEPT = 20
#: Error codes of a file's report that are the machine's fault, not the file's (a full or
#: read-only disk or database, an internal error): nothing was stored, and trying again may do.
MACHINE_ERRORS = frozenset({"storage_error", "internal_error"})
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class Progress:
    """One step of the work on a file.

    stage: ``hashing`` | ``decoding`` | ``analysing`` | ``storing`` | ``done`` | ``skipped``.
    done, total: plugin calls finished and planned for this file.
    """

    path: str
    stage: str
    done: int = 0
    total: int = 0


ProgressCallback = Callable[[Progress], None]


class AudioSamplerEngine:
    """Analyse audio files into the database through sandboxed plugins.

    plugins: the plugin classes to use (default: every installed plugin, ordered by
    ``Settings.plugins`` or DESIGN order). The engine owns its sandbox unless one is given.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        database: Database | None = None,
        plugins: Iterable[type[Plugin]] | None = None,
        sandbox: Sandbox | None = None,
    ):
        self.settings = settings or get_settings()
        self.settings.ensure_dirs()
        remove_stale(self.settings.tmp_dir)
        self.database = database or Database(self.settings.effective_database_url)
        self.database.migrate()
        self.available = discover() if plugins is None else {p.name: p for p in plugins}
        self.plugins = resolve(self.available, self.settings.plugins or None)
        modules = sorted({p.__module__ for p in self.available.values()})
        self._owns_sandbox = sandbox is None
        self.sandbox = sandbox or Sandbox(
            self.settings.effective_workers,
            preload=("core.tasks", *modules),
            initializer=("core.tasks:warm_up", {"plugin_refs": [p.ref() for p in self.plugins],
                                                "lock_path": str(self.settings.data_dir / "warm-up.lock"),
                                                "settings": self.settings.model_dump(mode="json",
                                                                                     exclude=WORKER_SECRETS)}),
        )
        self._write_lock = threading.Lock()
        self._unrecorded_errors: deque[dict[str, Any]] = deque(maxlen=UNRECORDED_KEPT)
        self.excerpts = ExcerptCache(self.sandbox, self.settings.cache_dir / "excerpts",
                                     self.settings.excerpt_cache_mb, self.settings.max_duration_s)

    # ------------------------------------------------------------------ public API

    def analyze_file(
        self,
        path: str | Path,
        plugins: list[str] | None = None,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Analyse one file and return its report; never raises."""
        shown = str(path)
        try:
            chain = self.select_plugins(plugins)
            return self._analyze(user_path(path).absolute(), chain, force, _safe(progress))
        except PluginError as exc:
            return error_report(shown, "plugin_error", str(exc))
        except SQLAlchemyError as exc:  # a full disk, a read-only or unreachable database: nothing was stored
            log.error("database error while storing %s: %s", shown, exc)
            return self._unrecorded(error_report(shown, "storage_error", f"database error: {database_reason(exc)}"))
        except Exception as exc:  # the promise: a report, whatever happened
            log.exception("internal error while analysing %s", shown)
            return self._unrecorded(error_report(shown, "internal_error",
                                                 f"internal error: {type(exc).__name__}: {exc}"))

    def analyze_paths(
        self,
        paths: Iterable[str | Path],
        plugins: list[str] | None = None,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Analyse files and folders (recursively), several files at a time.

        Yields one report per file, in the order the files were found.
        """
        files = list(expand_paths(paths))
        pool = ThreadPoolExecutor(self.sandbox.size, thread_name_prefix="analyze-file")
        try:
            yield from pool.map(lambda p: self.analyze_file(p, plugins, force, progress), files)
        finally:  # a caller that stops early (Ctrl-C) does not wait for the files not started
            pool.shutdown(wait=False, cancel_futures=True)

    def select_plugins(self, names: list[str] | None) -> list[type[Plugin]]:
        """The configured chain, or the named plugins (plus what they require) in order."""
        if not names:
            return self.plugins
        return resolve(self.available, names)

    def status(self) -> dict[str, Any]:
        with self.database.session() as session:
            totals = queries.totals(session)
        with self._write_lock:
            unrecorded = list(self._unrecorded_errors)
        return {
            "plugins": [p.name for p in self.plugins],
            "sandbox": self.sandbox.status(),
            "bridge": environment_status(self.settings.experimental_python, self.settings.experimental_worker),
            "musicnn": environment_status(self.settings.experimental_python, self.settings.musicnn_worker, wait=False)
            if any(plugin.name == "classifier" for plugin in self.plugins) else None,
            "database": {"url": self.database.redacted_url(), **totals},
            "unrecorded_errors": unrecorded,
        }

    def close(self) -> None:
        if self._owns_sandbox:
            self.sandbox.close()
        self.database.dispose()

    def __enter__(self) -> AudioSamplerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ one file

    def _analyze(self, path: Path, chain: list[type[Plugin]], force: bool, progress: ProgressCallback) -> dict:
        if _printable(str(path)) != str(path):  # the database (and JSON) hold UTF-8 text only
            return self._unrecorded(error_report(str(path), "invalid_name", "the file name is not valid UTF-8 (an "
                                                 "old archive's encoding?): rename the file to analyse it"))
        if not path.is_file():
            return error_report(str(path), "not_found", "no such file" if not path.exists() else "not a regular file")
        progress(Progress(str(path), "hashing"))
        try:
            facts = store.FileFacts(path=str(path), content_hash=content_hash(path), size_bytes=path.stat().st_size)
        except OSError as exc:
            unreadable = store.FileFacts(path=str(path), content_hash="", size_bytes=0)
            return self._store_error(unreadable, "unreadable", f"cannot read the file: {exc.strerror or exc}")
        with self.database.session() as session:
            existing = queries.get_file(session, facts.path)
            same = existing is not None and existing.content_hash == facts.content_hash
            if same and not force and (existing.status == FileStatus.ERROR or not _missing(existing, chain)):
                progress(Progress(facts.path, "skipped"))
                return queries.file_report(existing)
            prior = _stored_outcomes(existing) if same and existing.status == FileStatus.OK else {}
        pcm_path = temp_path(self.settings.tmp_dir, facts.content_hash[:12])
        try:
            progress(Progress(facts.path, "decoding"))
            decoded = self._decode(facts.path, pcm_path)
            if self.sandbox.closed:
                return _cancelled(facts.path)
            if decoded.error_type in _STORAGE_ERRORS:  # writing the decoded audio failed: this machine's fault
                return self._unrecorded(error_report(facts.path, "storage_error", "the decoded audio could not be "
                                                     f"written to {self.settings.tmp_dir}: {decoded.error}"))
            if not decoded.ok:
                return self._store_error(facts, *_decode_failure(decoded))
            facts = store.FileFacts(facts.path, facts.content_hash, facts.size_bytes, decoded.value["info"])
            regions = _region_records(decoded.value)
            if prior and prior["bounds"] != [(r.start_s, r.end_s) for r in regions]:
                prior = {}  # regions moved (new thresholds): everything is redone
            self._run_chain(chain, pcm_path, regions, prior.get("outcomes", {}), force, facts.path, progress)
            if self.sandbox.closed:  # outcomes of a shutdown are not results: store nothing
                return _cancelled(facts.path)
            progress(Progress(facts.path, "storing"))
            report = self._store(facts, regions, decoded.value["waveform"], incremental=bool(prior))
            progress(Progress(facts.path, "done"))
            return report
        finally:
            pcm_path.unlink(missing_ok=True)

    def _decode(self, path: str, pcm_path: Path) -> TaskResult:
        return self.sandbox.call(
            "core.tasks:decode_file",
            {
                "path": path,
                "pcm_path": str(pcm_path),
                "sr": SAMPLE_RATE,
                "max_duration_s": self.settings.max_duration_s,
                "region_settings": self.settings.region.model_dump(),
            },
            timeout_s=self.settings.decode_timeout_s,
            memory_mb=self.settings.decode_memory_mb,
        )

    def _run_chain(
        self,
        chain: list[type[Plugin]],
        pcm_path: Path,
        regions: list[store.RegionRecord],
        prior: dict[tuple[int, str], store.AnalysisRecord],
        force: bool,
        path: str,
        progress: ProgressCallback,
    ) -> None:
        """Run each plugin on every region that needs it (all of them with ``force``); a
        (plugin, region) task starts once the plugins it requires are done with that
        region, so independent plugins run side by side on the workers, even on a file of
        one region. Outcomes land in ``regions``, in chain order. ``prior``: stored outcomes
        by (region index, plugin name)."""
        known = dict(prior)
        todo = [(p, r) for p in chain for r in regions if force or not _done(known.get((r.index, p.name)), p)]
        unfinished = {(r.index, p.name) for p, r in todo}
        waiting: dict[int, list[tuple[type[Plugin], store.RegionRecord]]] = {}
        for plugin, region in todo:
            waiting.setdefault(region.index, []).append((plugin, region))
        progress(Progress(path, "analysing", 0, len(todo)))
        with ThreadPoolExecutor(self.sandbox.size, thread_name_prefix="analyze-region") as pool:
            running: dict[Future, tuple[type[Plugin], store.RegionRecord]] = {}

            def start_ready(index: int) -> None:
                """Start the tasks of region ``index`` whose requirements are done."""
                ready = [t for t in waiting[index] if not unfinished & {(index, name) for name in t[0].requires}]
                for plugin, region in ready:
                    waiting[index].remove((plugin, region))
                    running[pool.submit(self._run_plugin, plugin, pcm_path, region, known, path)] = (plugin, region)

            for index in waiting:
                start_ready(index)
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    plugin, region = running.pop(future)
                    known[(region.index, plugin.name)] = future.result()
                    unfinished.discard((region.index, plugin.name))
                    progress(Progress(path, "analysing", len(todo) - len(unfinished), len(todo)))
                    start_ready(region.index)
        for plugin, region in todo:
            region.analyses.append(known[(region.index, plugin.name)])

    def _run_plugin(
        self,
        plugin: type[Plugin],
        pcm_path: Path,
        region: store.RegionRecord,
        known: dict[tuple[int, str], store.AnalysisRecord],
        path: str,
    ) -> store.AnalysisRecord:
        inputs = {}
        for name in plugin.requires:
            needed = known.get((region.index, name))
            if needed is None or needed.status != Outcome.OK:
                state = needed.status if needed else "missing"
                return store.AnalysisRecord(plugin.name, plugin.version, Outcome.SKIPPED.value,
                                            error=f"requires {name}, whose result is {state}")
            inputs[name] = needed.result
        start, stop = (round(t * SAMPLE_RATE) for t in (region.start_s, region.end_s))
        duration_s = (stop - start) / SAMPLE_RATE
        if duration_s < plugin.min_duration_s:
            return store.AnalysisRecord(
                plugin.name, plugin.version, Outcome.NOT_APPLICABLE.value,
                error=f"{duration_s:.2f} s is shorter than the {plugin.min_duration_s:g} s {plugin.name} needs")
        outcome = self.sandbox.call(
            "core.tasks:run_plugin",
            {
                "plugin_ref": plugin.ref(),
                "pcm_path": str(pcm_path),
                "sr": SAMPLE_RATE,
                "start": start,
                "stop": stop,
                "context": {"file_path": path, "region_index": region.index, "start_s": region.start_s,
                            "results": inputs},
            },
            timeout_s=self.settings.plugin_timeouts.get(plugin.name, plugin.timeout_s) * max(1.0, duration_s / 60),
            memory_mb=self.settings.plugin_memory_mb.get(plugin.name, plugin.memory_mb) + (stop - start) * 4 // 2**20,
        )
        return store.AnalysisRecord(
            plugin=plugin.name,
            version=plugin.version,
            status=outcome.status.value,
            result=outcome.value if outcome.ok else None,
            error=outcome.error,
            elapsed_s=outcome.elapsed_s,
        )

    # ------------------------------------------------------------------ storing

    def _store(
        self, facts: store.FileFacts, regions: list[store.RegionRecord], waveform: dict, incremental: bool
    ) -> dict:
        with self._write_lock, self.database.session() as session:
            if incremental:
                file = queries.get_file(session, facts.path)
                assert file is not None
                for row, record in zip(file.regions, regions, strict=True):
                    store.upsert_analyses(row, record.analyses)
            else:
                file = store.replace_file(session, facts, regions=regions, waveform=waveform)
            store.set_summary(session, file, self._summary(file))
            return queries.file_report(file)

    def note_unrecorded(self, path: str, code: str, message: str) -> None:
        """Keep an error of work outside this engine that the database could not hold (a job
        the API could not create) for :meth:`status`."""
        self._unrecorded(error_report(path, code, message))

    def _unrecorded(self, report: dict) -> dict:
        """Keep ``report`` (an error the database does not hold) for :meth:`status`."""
        with self._write_lock:
            self._unrecorded_errors.append({"at": datetime.now(UTC).isoformat(timespec="seconds"),
                                            **{key: report[key] for key in ("path", "error_code", "error")}})
        return report

    def _store_error(self, facts: store.FileFacts, code: str, message: str) -> dict:
        log.info("%s: %s", facts.path, message)
        with self._write_lock, self.database.session() as session:
            file = store.replace_file(session, facts, error_code=code, error=message)
            return queries.file_report(file)

    def _summary(self, file: File) -> dict[str, Any]:
        """Counts per plugin and status, plus each plugin's own ``summarize``."""
        summary: dict[str, Any] = {"regions": len(file.regions),
                                   "audio_in_regions_s": round(sum(r.duration_s for r in file.regions), 4)}
        statuses: dict[str, dict[str, int]] = {}
        for region in file.regions:
            for row in region.analyses:
                counts = statuses.setdefault(row.plugin, {})
                counts[row.status] = counts.get(row.status, 0) + 1
        for plugin in self.available.values():
            pairs = [(row.result, r.duration_s) for r in file.regions for row in r.analyses
                     if row.plugin == plugin.name and row.status == Outcome.OK and row.result is not None]
            if not pairs:
                continue
            try:
                summary.update(plugin.summarize([p[0] for p in pairs], [p[1] for p in pairs]))
            except Exception:  # a broken summary must not lose the file's results
                log.exception("summary of plugin %s failed", plugin.name)
        summary["analysis_status"] = statuses
        return summary


# ---------------------------------------------------------------------- helpers


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named directly, and audio files under folders (recursively, sorted)."""
    for raw in paths:
        path = user_path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
        else:
            yield path


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def error_report(path: str, code: str, message: str) -> dict[str, Any]:
    """The report of a file that could not even be recorded (missing, unreadable...)."""
    path = _printable(path)
    return {"id": None, "path": path, "name": Path(path).name, "status": "error", "error": message,
            "error_code": code, "duration_s": None, "regions": [], "summary": {}}


def database_reason(exc: SQLAlchemyError) -> str:
    """The database's own words ("database or disk is full"), without the SQL statement."""
    return str(getattr(exc, "orig", None) or type(exc).__name__)


def _printable(path: str) -> str:
    """``path`` as UTF-8 text: bytes of a name that is not UTF-8 are written ``\\xff``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _cancelled(path: str) -> dict[str, Any]:
    return error_report(path, "cancelled", "the engine shut down before the file was finished")


def _decode_failure(failure: TaskResult) -> tuple[str, str]:
    if failure.status is Outcome.ERROR:
        return _ERROR_CODES.get(failure.error_type or "", "decode_error"), failure.error or "decoding failed"
    if failure.status is Outcome.TIMEOUT:
        return "decode_timeout", f"decoding {failure.error}"
    if failure.status is Outcome.OOM:
        return "decode_oom", f"decoding {failure.error}"
    return "decoder_crashed", f"the decoder crashed on this file: {failure.error}"


def _region_records(decoded: dict) -> list[store.RegionRecord]:
    return [
        store.RegionRecord(index=i, start_s=start / SAMPLE_RATE, end_s=stop / SAMPLE_RATE, peaks=peaks)
        for i, ((start, stop), peaks) in enumerate(zip(decoded["regions"], decoded["region_peaks"], strict=True))
    ]


def _done(record: store.AnalysisRecord | None, plugin: type[Plugin]) -> bool:
    return record is not None and record.version == plugin.version


def _missing(file: File, chain: list[type[Plugin]]) -> bool:
    stored = _stored_outcomes(file)["outcomes"]
    return any(not _done(stored.get((r.index, p.name)), p) for r in file.regions for p in chain)


def _stored_outcomes(file: File | None) -> dict[str, Any]:
    """``{"bounds": [(start_s, end_s)], "outcomes": {(region index, plugin): AnalysisRecord}}``."""
    if file is None:
        return {}
    return {
        "bounds": [(r.start_s, r.end_s) for r in file.regions],
        "outcomes": {
            (r.index, row.plugin): store.AnalysisRecord(row.plugin, row.plugin_version, row.status, row.result,
                                                        row.error, row.elapsed_s)
            for r in file.regions
            for row in r.analyses
        },
    }


def _safe(progress: ProgressCallback | None) -> ProgressCallback:
    """A callback that never raises into the engine."""

    def call(event: Progress) -> None:
        if progress is None:
            return
        try:
            progress(event)
        except Exception:
            log.exception("progress callback failed")

    return call
