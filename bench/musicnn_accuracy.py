"""musicnn's tags (core/musicnn.py, through the experimental environment's musicnn worker) on
generated clips: how ``core.musicnn.MIN_PROBABILITY`` was chosen, and what it gives.

    .venv/bin/python bench/musicnn_accuracy.py             # 16 clips per kind
    .venv/bin/python bench/musicnn_accuracy.py --count 8   # quicker

Clips from tests/audio_corpus.py: piano, guitar and drum-kit clips rendered from MIDI,
espeak-ng speech, instrumental MIDI music. It prints

1. on the tuning split, for each least probability listed: how often the clip's own tag
   is listed (``piano``, ``guitar``, ``drums`` for the instruments; a voice tag,
   ``core.musicnn.VOICE_TAGS``, for speech) against how often a wrong one is (another of
   the three instruments; a voice tag on instrumental music), and the tags listed per clip; the
   plugin's floor is the least probability with the best difference (own − wrong);
2. on the evaluation split: the same figures at the plugin's floor, how often the
   instrument's tag is among a clip's first five musicnn tags, and for speech and music
   how often a voice or a no-voice tag is listed and how often MTT's strongest voice tag
   outscores its strongest no-voice tag.

musicnn reads espeak-ng's speech as a voice only faintly (its voice tags stay near 0.1:
it was trained on songs), but it never lists a no-voice tag for it, and lists
``instrumental`` for instrumental music.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import musicnn  # noqa: E402
from tests import audio_corpus as ac  # noqa: E402

SR = ac.SR
FLOORS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
VOICE = musicnn.VOICE_TAGS
#: The instrument families of tests/audio_corpus.py that musicnn has a tag for.
FAMILIES = ("piano", "guitar", "drums")


def clips(count: int, split: str) -> dict[str, list[dict[str, dict[str, float]]]]:
    """Each kind's clips → both models' probabilities per clip (model → tag → p)."""
    makers = {**{family: lambda i, f=family: ac.instrument(f, i, split) for family in FAMILIES},
              "speech": lambda i: ac.speech(i, split), "music": lambda i: ac.music(i, split)}
    found = {}
    for kind, make in makers.items():
        found[kind] = []
        for audio in map(make, range(count)):
            if len(audio) < musicnn.MIN_DURATION_S * SR:  # no musicnn tags (some sentences are short)
                continue
            found[kind].append(musicnn.run(audio, SR).probabilities)
    return found


def merged(probabilities: dict[str, dict[str, float]]) -> dict[str, float]:
    """Tag → the higher of both models' probabilities."""
    out: dict[str, float] = {}
    for tags in probabilities.values():
        for tag, p in tags.items():
            out[tag] = max(p, out.get(tag, 0.0))
    return out


def voiced(probabilities: dict[str, dict[str, float]]) -> bool:
    """Whether MTT's strongest voice tag outscores its strongest no-voice tag."""
    mtt = probabilities["mtt"]
    return max(mtt[t] for t in VOICE if t in mtt) > max(mtt[t] for t in musicnn.NO_VOICE_TAGS if t in mtt)


def rates(by_model: dict[str, list[dict[str, dict[str, float]]]], floor: float) -> tuple[float, float, float]:
    """(share of clips whose own tag is listed, share with a wrong one, tags listed per clip)."""
    found = {kind: [merged(p) for p in clips_] for kind, clips_ in by_model.items()}
    own, wrong = [], []
    for family in FAMILIES:
        others = [f for f in FAMILIES if f != family]
        own += [p[family] >= floor for p in found[family]]
        wrong += [any(p[f] >= floor for f in others) for p in found[family]]
    own += [any(p[t] >= floor for t in VOICE) for p in found["speech"]]
    wrong += [any(p[t] >= floor for t in VOICE) for p in found["music"]]
    listed = [sum(v >= floor for v in p.values()) for clips_ in found.values() for p in clips_]
    return float(np.mean(own)), float(np.mean(wrong)), float(np.mean(listed))


def sweep(count: int) -> None:
    found = clips(count, "tune")
    print(f"\nmusicnn, tuning split ({count} clips per kind), least probability listed: own tag listed | "
          "wrong tag listed | own − wrong | tags per clip")
    for floor in FLOORS:
        own, wrong, listed = rates(found, floor)
        mark = "  <- plugin" if floor == musicnn.MIN_PROBABILITY else ""
        print(f"{floor:>6.2f} {own:>8.1%} {wrong:>8.1%} {own - wrong:>+8.1%} {listed:>6.1f}{mark}")


def evaluate(count: int) -> None:
    found = clips(count, "eval")
    own, wrong, listed = rates(found, musicnn.MIN_PROBABILITY)
    print(f"\nmusicnn, evaluation split ({count} clips per kind), floor {musicnn.MIN_PROBABILITY}: own tag listed "
          f"{own:.1%}, wrong tag listed {wrong:.1%}, {listed:.1f} tags per clip")
    for family in FAMILIES:
        top5 = [family in sorted(p, key=p.__getitem__, reverse=True)[:5] for p in map(merged, found[family])]
        print(f"{family:>7}: '{family}' among the first five musicnn tags in {np.mean(top5):.1%}")
    for kind in ("speech", "music"):
        listed = [{t for t, p in merged(clip).items() if p >= musicnn.MIN_PROBABILITY} for clip in found[kind]]
        print(f"{kind:>7}: a voice tag listed in {np.mean([bool(t & set(VOICE)) for t in listed]):.1%}, a no-voice "
              f"tag in {np.mean([bool(t & set(musicnn.NO_VOICE_TAGS)) for t in listed]):.1%}; MTT's voice tags "
              f"above its no-voice tags in {np.mean([voiced(clip) for clip in found[kind]]):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=16, help="clips per kind and split")
    args = parser.parse_args()
    sweep(args.count)
    evaluate(args.count)


if __name__ == "__main__":
    main()
