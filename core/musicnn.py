"""musicnn's tags of a region: its MagnaTagATune (MTT) and Million Song Dataset (MSD)
taggers, which run on TensorFlow in the experimental environment's musicnn worker
(``envs/experimental/musicnn_worker.py``), reached through :mod:`core.bridge`.

A region reaches the worker as whole 3 s patches at 16 000 Hz (``core.musicnn_mel``): all
of them while it has at most ``MAX_PATCHES``, else ``MAX_PATCHES`` spread evenly over it,
so a call costs at most ``MAX_PATCHES`` × ~0.23 s of one core (spectrogram and both
models: ~13× real time) whatever the region's length. A region shorter than one patch gets
no musicnn tags: the models were trained on 3 s inputs. A tag's probability is the mean of
the patches' sigmoid outputs; ``MIN_PROBABILITY`` is the least listed, chosen on the tuning
split by ``bench/musicnn_accuracy.py``.

Each process that asks (each sandbox worker) starts its own musicnn child on its first
call; a child keeps ~210 MB (PSS) once loaded, ~300 MB at most while it loads (see
``envs/experimental/musicnn_worker.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import windows
from core.bridge import Bridge, BridgeError, experimental_bridge
from core.config import get_settings
from core.musicnn_mel import PATCH_SAMPLES, SAMPLE_RATE

MAX_PATCHES = 10
MIN_DURATION_S = PATCH_SAMPLES / SAMPLE_RATE
MIN_PROBABILITY = 0.1
#: A call's time limit: this, plus ``PATCH_TIMEOUT_S`` a patch, seconds.
CALL_TIMEOUT_S = 10.0
PATCH_TIMEOUT_S = 2.0
#: The ``source`` of each model's tags.
SOURCES = {"mtt": "musicnn-mtt", "msd": "musicnn-msd"}
#: Both models' tags that say a voice is heard, and those that say none is.
VOICE_TAGS = ("vocal", "vocals", "singing", "voice", "male", "female", "man", "woman", "male vocal", "female vocal",
              "male voice", "female voice", "choir", "choral", "female vocalists", "male vocalists", "female vocalist")
NO_VOICE_TAGS = ("no vocals", "no vocal", "no voice", "instrumental")
#: The group of each tag of both models (the classifier's groups; none is a sound effect):
#: instruments and what a recording is played on; voices, and their absence; moods, and
#: how a piece feels (tempo, loudness); genres, styles and decades.
GROUPS = {
    "instrument": ("guitar", "strings", "drums", "piano", "violin", "synth", "harpsichord", "flute", "sitar",
                   "harp", "cello", "beat", "beats", "solo", "acoustic"),
    "vocal": VOICE_TAGS + NO_VOICE_TAGS,
    "mood": ("slow", "fast", "loud", "quiet", "soft", "weird", "beautiful", "Mellow", "chill", "party", "sexy",
             "catchy", "sad", "happy"),
    "genre": ("classical", "techno", "electronic", "rock", "ambient", "indian", "opera", "pop", "classic", "new age",
              "dance", "country", "metal", "alternative", "indie", "00s", "alternative rock", "jazz", "chillout",
              "classic rock", "soul", "indie rock", "electronica", "80s", "folk", "90s", "punk", "oldies", "blues",
              "hard rock", "experimental", "Hip-Hop", "70s", "easy listening", "funk", "electro", "heavy metal",
              "Progressive rock", "60s", "rnb", "indie pop", "House"),
}
GROUP = {tag: group for group, tags in GROUPS.items() for tag in tags}


@dataclass(frozen=True)
class Output:
    """Both models on one region: ``probabilities[model][tag]`` (model ``mtt`` or ``msd``),
    the mean over ``patches`` patches; ``embeddings[model]``: float32 [200], the mean of the
    penultimate layer."""

    patches: int
    probabilities: dict[str, dict[str, float]]
    embeddings: dict[str, np.ndarray]
    versions: dict[str, str]


def bridge() -> Bridge:
    """This process's bridge to the musicnn worker (started on its first call)."""
    return experimental_bridge(get_settings().musicnn_worker)


def patch_starts(n_samples: int) -> np.ndarray:
    """Where the patches sent for ``n_samples`` at 16 000 Hz start: int64 [≤ MAX_PATCHES]."""
    count = n_samples // PATCH_SAMPLES
    if count <= MAX_PATCHES:
        return np.arange(count) * PATCH_SAMPLES
    return np.linspace(0, n_samples - PATCH_SAMPLES, MAX_PATCHES).astype(np.int64)


def run(audio: np.ndarray, sr: int, through: Bridge | None = None) -> Output:
    """audio: float32 [n_samples] at ``sr`` Hz, at least ``MIN_DURATION_S`` long → both models'
    output. Raises BridgeError when the musicnn worker cannot answer."""
    starts = patch_starts(windows.length_at(len(audio), sr, SAMPLE_RATE))
    if not len(starts):
        raise ValueError(f"musicnn needs at least {MIN_DURATION_S:.2f} s of audio")
    samples = np.concatenate([windows.window(audio, sr, SAMPLE_RATE, start, start + PATCH_SAMPLES)
                              for start in starts])
    through = through or bridge()
    answer = through.call("musicnn", {"sample_rate": SAMPLE_RATE}, samples,
                          timeout_s=CALL_TIMEOUT_S + PATCH_TIMEOUT_S * len(starts))
    return Output(patches=answer["patches"],
                  probabilities={model: dict(zip(answer[model]["labels"], answer[model]["probabilities"], strict=True))
                                 for model in SOURCES},
                  embeddings={model: np.asarray(answer[model]["embedding"], np.float32) for model in SOURCES},
                  versions=through.versions)


def region_tags(audio: np.ndarray, sr: int, through: Bridge | None = None,
                min_probability: float = MIN_PROBABILITY) -> dict[str, Any]:
    """The classifier's musicnn part: ``{"status": "ok", "patches", "model", "tags": [{tag,
    probability, source, group}]}`` (tags at least ``min_probability``, most probable first);
    ``not_applicable`` for a region shorter than a patch; ``not_available`` with the
    ``reason`` when the worker cannot answer (the environment or musicnn missing)."""
    if len(audio) / sr < MIN_DURATION_S:
        return {"status": "not_applicable", "reason": f"shorter than musicnn's {MIN_DURATION_S:.2f} s patch"}
    try:
        output = run(audio, sr, through)
    except BridgeError as exc:
        return {"status": "not_available", "reason": str(exc)}
    found = [{"tag": tag, "probability": round(p, 4), "source": SOURCES[model], "group": GROUP[tag]}
             for model, probabilities in output.probabilities.items()
             for tag, p in probabilities.items() if p >= min_probability]
    return {"status": "ok", "patches": output.patches, "model": f"musicnn {output.versions.get('musicnn')} "
            "MTT_musicnn, MSD_musicnn", "tags": sorted(found, key=lambda tag: -tag["probability"])}

