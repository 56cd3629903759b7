"""Trainable taggers of a library: train one from a person's tags, keep it on disk, scan
the untagged regions with it, and report on its data and its held-out quality.

A tagger NAME lives in ``<data_dir>/taggers/``: ``NAME.joblib`` (the model),
``NAME.json`` (its health report) and ``NAME_confusion.png``. Training holds out a
stratified quarter of the labelled regions (at least one per class): the report's
metrics, confidence intervals, confusion matrix, open-set threshold, AUROC and FPR are
measured there and on the negatives (never trained on); the tagger kept is then fitted
on every labelled region. Tags it writes are model tags with model version
``tagger NAME vN``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np

from database import taggers as store
from database.session import Database
from database.tags import clean_tags

if TYPE_CHECKING:
    from core.tagger import Tagger

# scikit-learn (core.tagger, core.tagger_report) is imported by the functions that use it: it
# takes seconds, and the server imports this module when it starts.

#: Share of the labelled regions held out for the report.
HELD_OUT = 0.25
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def check_name(name: str) -> str:
    """Raises TaggerError for a name that is not 1-40 of a-z, 0-9, ``_``, ``-``."""
    from core.tagger import TaggerError

    if not NAME.fullmatch(name):
        raise TaggerError(f"a tagger name is 1-40 lower-case letters, digits, _ or -, not {name!r}")
    return name


def health(database: Database, classes: list[str], kind: str, negatives: list[str] | None = None) -> dict[str, Any]:
    """The report before training: counts per class, gates, negatives and left-out regions."""
    from core import tagger_report

    classes = clean_tags(classes)
    with database.session() as session:
        data = store.training_set(session, classes, kind, negatives)
    counts = data.counts(classes)
    return {"classes": classes, "kind": kind, "counts": counts, "gates": tagger_report.gates(counts),
            "negatives": len(data.negative_ids), "ambiguous": data.ambiguous}


def train(database: Database, folder: Path, name: str, classes: list[str], kind: str = "yamnet",
          negatives: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Train tagger ``name`` on ``classes`` (tags) from the stored ``kind`` vectors, save it
    and its report in ``folder``; returns the report. Raises TaggerError."""
    from sklearn.model_selection import train_test_split

    from core import tagger, tagger_report
    from core.tagger import Tagger, TaggerError

    check_name(name)
    classes = clean_tags(classes)
    with database.session() as session:
        data = store.training_set(session, classes, kind, negatives)
    counts = data.counts(classes)
    if len(classes) < 2:
        raise TaggerError("a tagger needs at least 2 classes")
    missing = ", ".join(f"{tag} ({count})" for tag, count in counts.items() if count < 2)
    if missing:
        raise TaggerError(f"every class needs at least 2 tagged regions with a {kind} vector; short: {missing}")
    labels = np.array(data.labels)
    held_out = max(HELD_OUT, len(classes) / len(labels))
    train_x, test_x, train_y, test_y = train_test_split(data.vectors, labels, test_size=held_out, stratify=labels,
                                                        random_state=seed)
    model, info = tagger.fit(train_x, list(train_y), seed)
    probabilities = model.predict_proba(test_x)
    order = list(model.classes_)
    predicted = np.array(order)[probabilities.argmax(axis=1)]
    threshold = tagger.open_set_threshold(probabilities.max(axis=1))
    negative_top = (model.predict_proba(data.negative_vectors).max(axis=1) if len(data.negative_ids)
                    else np.zeros(0))
    matrix = tagger_report.confusion(test_y, predicted, classes)
    version = _previous_version(folder, name) + 1
    report = {
        "name": name, "version": version, "trained_at": datetime.now(UTC).isoformat(), "classes": classes,
        "kind": kind, "vector_model": data.model, "counts": counts, "gates": tagger_report.gates(counts),
        "ambiguous": data.ambiguous, "seed": seed, "classifier": info["classifier"], "calibrated": info["calibrated"],
        "held_out": {"examples": len(test_y), **tagger_report.class_metrics(test_y, predicted, classes, seed=seed),
                     "confusion": matrix,
                     "open_set": tagger_report.open_set(probabilities.max(axis=1), negative_top, threshold)},
        "plot": str(tagger_report.plot_confusion(matrix, classes, folder / f"{name}_confusion.png",
                                                 f"{name} v{version}: held out")),
    }
    final, final_info = tagger.fit(data.vectors, data.labels, seed)
    report["calibrated"] = final_info["calibrated"]  # the tagger kept, fitted on every labelled region
    kept = Tagger(list(final.classes_), final, threshold, {"kind": kind, "vector_model": data.model,
                                                           "version": version})
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(kept, folder / f"{name}.joblib")
    (folder / f"{name}.json").write_text(json.dumps(report, indent=2))
    return report


def scan(database: Database, folder: Path, name: str, threshold: float | None = None) -> dict[str, Any]:
    """Label every region without a user tag of the tagger's classes: its best class and
    calibrated probability as a model tag, or "unknown" (no tag) under the threshold.
    Returns ``{"scanned", "unknown", "tags": {tag: n}, "kept", "threshold"}``."""
    from core import tagger

    kept: Tagger = load(folder, name)
    if threshold is not None:
        kept.threshold = threshold
    version = f"tagger {name} v{kept.info['version']}"
    summary: dict[str, Any] = {"scanned": 0, "unknown": 0, "tags": dict.fromkeys(kept.classes, 0), "kept": 0,
                               "threshold": round(kept.threshold, 4)}
    with database.session() as session:
        for ids, vectors in list(store.unlabelled(session, kept.classes, kept.info["kind"],
                                                  kept.info["vector_model"])):
            labels = kept.label(vectors)
            predictions = {i: (tag, round(p, 4)) if tag != tagger.UNKNOWN else None
                           for i, (tag, p) in zip(ids, labels, strict=True)}
            written = store.write_tags(session, version, predictions)
            summary["scanned"] += len(ids)
            summary["kept"] += written["kept"]
            for tag, _ in labels:
                if tag == tagger.UNKNOWN:
                    summary["unknown"] += 1
                else:
                    summary["tags"][tag] += 1
    return summary


def load(folder: Path, name: str) -> Tagger:
    """The saved tagger ``name``. Raises TaggerError when there is none."""
    from core.tagger import TaggerError

    path = folder / f"{check_name(name)}.joblib"
    if not path.is_file():
        raise TaggerError(f"no tagger named {name!r}: train it first (tagger train {name} --classes …)")
    return joblib.load(path)


def saved_report(folder: Path, name: str) -> dict[str, Any]:
    """The report saved when ``name`` was last trained. Raises TaggerError."""
    from core.tagger import TaggerError

    path = folder / f"{check_name(name)}.json"
    if not path.is_file():
        raise TaggerError(f"no tagger named {name!r}: train it first (tagger train {name} --classes …)")
    return json.loads(path.read_text())


def _previous_version(folder: Path, name: str) -> int:
    path = folder / f"{name}.json"
    return json.loads(path.read_text())["version"] if path.is_file() else 0
