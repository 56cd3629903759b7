"""A tagger trained from a person's tags: region vectors in, calibrated class
probabilities out, with an open-set "unknown" below a threshold.

- Classifier: scikit-learn HistGradientBoosting, or logistic regression when the data
  is tiny (fewer than ``SMALL_DATA`` examples), each fitted on a **balanced sample** of
  its training data (equal probability per class, then per item), so a class with 500
  examples does not drown one with 6.
- Calibration: isotonic ``CalibratedClassifierCV(cv=3)`` only when every class has at
  least ``MIN_CALIBRATION`` examples (each fold then holds two of each); uncalibrated
  otherwise. The balanced sampling happens inside each fold's fit, so the folds that
  calibrate hold only examples their model never saw.
- Open set: a region whose highest probability is under ``threshold`` is "unknown"; the
  threshold is the probability that 95 % of held-out known examples reach.

Vectors: float32 [n, dim] (database.vector_index.as_matrix of one kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

#: Fewer training examples than this: logistic regression instead of gradient boosting.
SMALL_DATA = 60
#: Least examples of every class for isotonic calibration with 3 folds.
MIN_CALIBRATION = 6
#: Share of held-out known examples the open-set threshold keeps (its true positive rate).
OPEN_SET_TPR = 0.95
UNKNOWN = "unknown"


class TaggerError(ValueError):
    """A tagger that cannot be trained (fewer than two classes, a class without examples)."""


def balanced_sample(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices into ``labels`` drawn with replacement: a class uniformly, then one of
    its items uniformly. labels: [n]; returns int [size]."""
    classes = np.unique(labels)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    chosen = rng.choice(len(classes), size=size)
    return np.array([rng.choice(members[classes[k]]) for k in chosen], dtype=np.int64)


class BalancedClassifier(ClassifierMixin, BaseEstimator):
    """``estimator`` fitted on a balanced sample (:func:`balanced_sample`) of the data it
    is given, of ``max class count × classes`` draws."""

    def __init__(self, estimator: Any = None, seed: int = 0):
        self.estimator = estimator
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> BalancedClassifier:
        y = np.asarray(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        picks = balanced_sample(y, int(counts.max()) * len(self.classes_), np.random.default_rng(self.seed))
        self.estimator_ = clone(self.estimator).fit(x[picks], y[picks])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.estimator_.predict_proba(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]


@dataclass
class Tagger:
    """A trained tagger. classes: its tags; model: a fitted scikit-learn classifier over
    them; threshold: least top probability of a known class (else "unknown");
    info: how it was trained (classifier, calibrated, counts, kind …)."""

    classes: list[str]
    model: Any
    threshold: float
    info: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """float [n, classes]: each region's probability of each class (rows sum to 1)."""
        return self.model.predict_proba(vectors)

    def label(self, vectors: np.ndarray) -> list[tuple[str, float]]:
        """Per region (best class or UNKNOWN, its probability)."""
        probabilities = self.probabilities(vectors)
        best = probabilities.argmax(axis=1)
        return [(self.classes[k] if p[k] >= self.threshold else UNKNOWN, float(p[k]))
                for k, p in zip(best, probabilities, strict=True)]


def fit(vectors: np.ndarray, labels: list[str], seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """A classifier fitted to ``vectors`` [n, dim] and ``labels`` [n], and how:
    ``{"classifier", "calibrated", "counts"}``. Raises TaggerError."""
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise TaggerError(f"a tagger needs at least two classes with examples, not {len(classes)}")
    small = len(y) < SMALL_DATA
    base = (LogisticRegression(max_iter=2000, C=1.0) if small
            else HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed))
    balanced = BalancedClassifier(base, seed)
    calibrated = int(counts.min()) >= MIN_CALIBRATION
    model = CalibratedClassifierCV(balanced, cv=3, method="isotonic") if calibrated else balanced
    model.fit(vectors, y)
    return model, {"classifier": "logistic regression" if small else "hist gradient boosting",
                   "calibrated": calibrated, "counts": dict(zip(classes.tolist(), counts.tolist(), strict=True))}


def open_set_threshold(known_top: np.ndarray, tpr: float = OPEN_SET_TPR) -> float:
    """The top-probability threshold that keeps ``tpr`` of the known examples whose top
    probabilities are ``known_top`` [n] (0 when there are none)."""
    return float(np.quantile(known_top, 1.0 - tpr)) if len(known_top) else 0.0
