"""The dataset health report of a tagger: readiness gates on the counts per class,
held-out per-class precision / recall / F1 with bootstrap 95 % confidence intervals,
the confusion matrix (numbers, and an image), and the open-set AUROC and false
positive rate at 95 % true positive rate from held-out negatives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

#: Readiness gates: least examples of each class, largest ratio of the biggest class to the smallest.
MIN_PER_CLASS = 6
MAX_IMBALANCE = 10.0
#: Bootstrap resamples of the held-out set for the confidence intervals.
BOOTSTRAP = 1000


def gates(counts: dict[str, int], min_per_class: int = MIN_PER_CLASS,
          max_imbalance: float = MAX_IMBALANCE) -> list[dict[str, Any]]:
    """``[{"gate", "passed", "detail"}]`` for the examples per class ``counts``."""
    small = sorted(tag for tag, count in counts.items() if count < min_per_class)
    smallest, largest = min(counts.values(), default=0), max(counts.values(), default=0)
    ratio = largest / smallest if smallest else float("inf")
    short = "; short: " + ", ".join(f"{tag} ({counts[tag]})" for tag in small) if small else ""
    return [
        {"gate": "classes", "passed": len(counts) >= 2, "detail": f"{len(counts)} classes (at least 2)"},
        {"gate": "min_per_class", "passed": not small, "detail": f"at least {min_per_class} examples per class{short}"},
        {"gate": "imbalance", "passed": ratio <= max_imbalance,
         "detail": f"largest / smallest class {ratio:.1f} (at most {max_imbalance:g})"},
    ]


def class_metrics(truth: np.ndarray, predicted: np.ndarray, classes: list[str], resamples: int = BOOTSTRAP,
                  seed: int = 0) -> dict[str, Any]:
    """Held-out precision, recall and F1 per class and macro F1, each with a bootstrap
    95 % interval (``resamples`` draws of the held-out set with replacement).

    truth, predicted: labels [n]. Returns ``{"classes": {tag: {"precision", "recall",
    "f1", "support", "ci": {metric: [low, high]}}}, "macro_f1", "macro_f1_ci"}``.
    """
    def scores(t: np.ndarray, p: np.ndarray) -> np.ndarray:
        precision, recall, f1, _ = precision_recall_fscore_support(t, p, labels=classes, zero_division=0)
        return np.stack([precision, recall, f1])  # [3, classes]

    point = scores(truth, predicted)
    rng = np.random.default_rng(seed)
    draws = np.stack([scores(truth[i], predicted[i]) for i in rng.integers(0, len(truth), (resamples, len(truth)))])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    macro = np.percentile(draws[:, 2].mean(axis=1), [2.5, 97.5])
    support = {tag: int((truth == tag).sum()) for tag in classes}
    return {
        "classes": {tag: {"precision": _r(point[0, k]), "recall": _r(point[1, k]), "f1": _r(point[2, k]),
                          "support": support[tag],
                          "ci": {name: [_r(low[m, k]), _r(high[m, k])]
                                 for m, name in enumerate(("precision", "recall", "f1"))}}
                    for k, tag in enumerate(classes)},
        "macro_f1": _r(point[2].mean()), "macro_f1_ci": [_r(macro[0]), _r(macro[1])],
    }


def open_set(known_top: np.ndarray, negative_top: np.ndarray, threshold: float) -> dict[str, Any]:
    """How well the top probability tells known classes (held-out) from negatives (regions
    of none of the classes): AUROC, and the share of negatives accepted at ``threshold``
    (the 95 % TPR threshold). None values when there are no negatives."""
    if not len(negative_top) or not len(known_top):
        return {"auroc": None, "fpr_at_95_tpr": None, "negatives": int(len(negative_top)), "threshold": _r(threshold)}
    scores = np.concatenate([known_top, negative_top])
    truth = np.concatenate([np.ones(len(known_top)), np.zeros(len(negative_top))])
    return {"auroc": _r(roc_auc_score(truth, scores)), "fpr_at_95_tpr": _r(float(np.mean(negative_top >= threshold))),
            "negatives": int(len(negative_top)), "threshold": _r(threshold)}


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: list[str]) -> list[list[int]]:
    """Counts [true class][predicted class], in ``classes`` order."""
    return confusion_matrix(truth, predicted, labels=classes).tolist()


def plot_confusion(matrix: list[list[int]], classes: list[str], path: Path, title: str) -> Path:
    """The confusion matrix as a PNG at ``path`` (rows: true class, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    counts = np.array(matrix)
    figure, axes = plt.subplots(figsize=(1.2 + 0.9 * len(classes), 1.0 + 0.9 * len(classes)), dpi=100)
    try:
        axes.imshow(counts, cmap="Blues")
        axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
        axes.set_yticks(range(len(classes)), classes)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_title(title)
        for (row, column), value in np.ndenumerate(counts):
            axes.text(column, row, str(value), ha="center", va="center",
                      color="white" if value > counts.max() / 2 else "black")
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def as_text(report: dict[str, Any]) -> str:
    """The report (core.taggers' dict) as lines a person reads."""
    lines = [f"tagger {report['name']} v{report['version']}: {', '.join(report['classes'])} "
             f"on {report['kind']} vectors; {report['classifier']}, "
             f"{'calibrated (isotonic, 3 folds)' if report['calibrated'] else 'uncalibrated'}"]
    for gate in report["gates"]:
        lines.append(f"  [{'ok' if gate['passed'] else 'FAIL'}] {gate['gate']}: {gate['detail']}")
    held_out = report.get("held_out")
    if held_out:
        lines.append(f"held out: {held_out['examples']} examples; macro F1 {held_out['macro_f1']:.3f} "
                     f"(95 % CI {held_out['macro_f1_ci'][0]:.3f}-{held_out['macro_f1_ci'][1]:.3f})")
        lines.append(f"  {'class':<20} {'P':>6} {'R':>6} {'F1':>6}  {'F1 95 % CI':<13} {'n':>4}")
        for tag, m in held_out["classes"].items():
            lines.append(f"  {tag:<20} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f}  "
                         f"{m['ci']['f1'][0]:.3f}-{m['ci']['f1'][1]:.3f}   {m['support']:>4}")
        lines.append("  confusion (rows true, columns predicted): " + str(held_out["confusion"]))
        opened = held_out["open_set"]
        lines.append(f"open set: threshold {opened['threshold']:.3f}; " + (
            f"AUROC {opened['auroc']:.3f}, FPR at 95 % TPR {opened['fpr_at_95_tpr']:.3f} on {opened['negatives']} "
            "held-out negatives" if opened["auroc"] is not None else "no negatives to measure it on"))
    return "\n".join(lines)


def _r(value: float) -> float:
    return round(float(value), 4)
