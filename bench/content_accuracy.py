"""Accuracy of the content, classifier and embeddings plugins on generated clips.

    .venv/bin/python bench/content_accuracy.py             # 40 evaluation clips per class
    .venv/bin/python bench/content_accuracy.py --count 10  # quicker

Clips come from tests/audio_corpus.py (espeak-ng speech in 16 voices and languages, MIDI
music rendered by fluidsynth with 16 instrument pairs, white/pink/brown and band-passed
noise, digital and near silence, speech over music, drum one-shots from GM drum kits).
Every part has two disjoint splits: thresholds and methods are chosen on ``tune`` and
the figures printed are on ``eval``.

It prints:

1. content: the sweep over ``MUSIC_SCORE`` × ``REGION_SHARE`` on the tuning clips (the
   plugin's values are the middle of the best plateau), then the confusion matrix and
   accuracy on the evaluation clips, and the timeline boundaries of speech → music →
   noise files (error in segments);
2. classifier: for rendered piano, guitar and drum-kit clips, how often a tag naming the
   instrument is among the top 5 tags;
3. drum type: accuracy on one-shots of the evaluation kits (the classifier's rule was
   chosen on the tuning kits);
4. embeddings: cosine similarity of a clip with itself at −12 dB and with other clips.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.plugin import Context  # noqa: E402
from plugins import classifier, content  # noqa: E402
from tests import audio_corpus as ac  # noqa: E402

SR = ac.SR
CTX = Context(file_path="", region_index=0, start_s=0.0)
MUSIC_SCORES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
REGION_SHARES = (0.5, 0.6, 0.7, 0.8, 0.9)


def content_sweep(count: int) -> None:
    measured = [(clip.label, content.measure(clip.audio, SR), len(clip.audio) / SR)
                for clip in ac.content_clips(count, "tune")]
    print(f"content, tuning split ({count} clips per class): region accuracy, MUSIC_SCORE × REGION_SHARE")
    print(f"{'music':>8}" + "".join(f" {share:>6.2f}" for share in REGION_SHARES))
    for music_score in MUSIC_SCORES:
        row = [np.mean([content.describe(*m, d, music_score, share)["label"] == label for label, m, d in measured])
               for share in REGION_SHARES]
        print(f"{music_score:>8.2f}" + "".join(f" {a:>6.1%}" for a in row))


def content_eval(count: int) -> None:
    plugin = content.Content()
    confusion: dict[str, Counter] = {label: Counter() for label in ac.CONTENT_LABELS}
    for clip in ac.content_clips(count, "eval"):
        confusion[clip.label][plugin.analyze(clip.audio, SR, CTX)["label"]] += 1
    print(f"\ncontent, evaluation split ({count} clips per class), rows: truth, columns: label")
    print(f"{'':>8}" + "".join(f" {label:>8}" for label in ac.CONTENT_LABELS) + "  accuracy")
    for truth, row in confusion.items():
        print(f"{truth:>8}" + "".join(f" {row[label]:>8}" for label in ac.CONTENT_LABELS)
              + f"  {row[truth] / count:>7.1%}")
    total = sum(row[truth] for truth, row in confusion.items()) / (count * len(confusion))
    print(f"overall {total:.1%}")
    errors = []
    for i in range(min(count, 10)):
        parts = [ac.speech(i, "eval")[: 4 * SR], ac.music(i, "eval", 4.0), ac.noise(i, "eval", 4.0)]
        audio, bounds = ac.sequence(parts)
        timeline = plugin.analyze(audio, SR, CTX)["timeline"]
        width = timeline[0]["end"]
        for label, bound in zip(("music", "noise"), bounds, strict=True):
            first = next((s["start"] for s in timeline if s["label"] == label), np.inf)
            errors.append(abs(first - bound) / width)
    print(f"speech → music → noise timelines: boundary error in segments, max {max(errors):.2f}, "
          f"mean {np.mean(errors):.2f} ({len(errors)} boundaries)")


DRUM_VELOCITIES = (70, 110)


def drum_set(split: str) -> list[tuple[str, np.ndarray]]:
    """(type, one-shot) for every note of every kit of ``split`` at two velocities."""
    return [(kind, audio) for kit in ac.DRUM_KITS[split] for velocity in DRUM_VELOCITIES
            for (kind, _), audio in ac.drum_hits(kit, velocity).items()]


def fit_drums() -> None:
    """Train the classifier's drum-type head on the tuning kits; write plugins/drum_types.json."""
    from sklearn.linear_model import LogisticRegression

    from core import yamnet

    hits = drum_set("tune")
    features = np.array([classifier.drum_features(audio, SR) for _, audio in hits])
    embeddings = np.array([yamnet.get().run(audio, SR).embeddings[0] for _, audio in hits])
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    model = LogisticRegression(C=1.0, max_iter=5000).fit(np.hstack([(features - mean) / scale, embeddings]),
                                                        [kind for kind, _ in hits])
    head = {"name": f"drum-types-1 (kits {list(ac.DRUM_KITS['tune'])}, {len(hits)} hits)",
            "classes": list(model.classes_), "coef": np.round(model.coef_, 5).tolist(),
            "intercept": np.round(model.intercept_, 5).tolist(), "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist()}
    classifier.DRUM_HEAD.write_text(json.dumps(head) + "\n")
    print(f"wrote {classifier.DRUM_HEAD} from {len(hits)} one-shots of kits {ac.DRUM_KITS['tune']}")


def drums_eval() -> None:
    plugin = classifier.Classifier()
    found = [(kind, plugin.analyze(audio, SR, CTX)["drum_type"]) for kind, audio in drum_set("eval")]
    print(f"\ndrum type on one-shots of held-out kits {ac.DRUM_KITS['eval']} ({len(found)} hits)")
    for kind in ac.DRUM_NOTES:
        got = Counter(answer for truth, answer in found if truth == kind)
        print(f"{kind:>7} {got[kind] / sum(got.values()):>6.1%}  {dict(got)}")
    print(f"overall {np.mean([truth == answer for truth, answer in found]):.1%}")


def instruments_eval(count: int) -> None:
    plugin = classifier.Classifier()
    print(f"\nclassifier: a tag naming the instrument in the top 5 ({count} rendered clips each)")
    for family in ac.INSTRUMENTS:
        word = family.rstrip("s")
        hits = 0
        for i in range(count):
            top = [t["tag"].lower() for t in plugin.analyze(ac.instrument(family, i, "eval"), SR, CTX)["tags"][:5]]
            hits += any(word in tag for tag in top)
        print(f"{family:>7} {hits / count:>6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=40, help="evaluation clips per class")
    parser.add_argument("--fit-drums", action="store_true", help="train the drum-type head, then evaluate")
    args = parser.parse_args()
    if args.fit_drums:
        fit_drums()
    drums_eval()
    instruments_eval(args.count)
    content_sweep(max(8, args.count // 2))
    content_eval(args.count)


if __name__ == "__main__":
    main()
