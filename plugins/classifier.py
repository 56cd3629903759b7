"""Tags of a region (AudioSet classes by YAMNet), one-shot or loop, and the drum type of
a percussive one-shot.

Result schema:

================  ==================================================================
``tags``          ``[{tag, probability, source, group}]``, most probable first: YAMNet's
                  AudioSet classes whose probability (the highest over the region's
                  0.96 s patches: heard anywhere in it) is at least
                  ``MIN_PROBABILITY``, at most ``TAGS_PER_GROUP``
                  per group; ``group`` is ``instrument``, ``instrument_family``,
                  ``genre``, ``mood``, ``vocal`` or ``sound_effect`` (see :data:`GROUPS`):
                  a region's instruments are its ``instrument`` tags in this order.
                  Among them, where YAMNet hears music, the instrument head's family
                  (``source: yamnet-head``, group ``instrument``, see below) when its
                  probability is at least ``HEAD_MIN_PROBABILITY``; a tag both name is
                  listed once, with the higher probability. The ``instrument_family``
                  tags and Music come after the others: specific names before general
                  ones; where YAMNet hears music, the genres, moods and sound effects
                  come after the instruments and voices; among the instruments, each
                  kind (a class with those under it in the AudioSet ontology,
                  :data:`INSTRUMENT_PARENTS`: Guitar and Strum, Bell and Wind chime) is
                  named once first, by its most probable tag, and its other tags come
                  right after those (:func:`merged`).
                  After them, musicnn's tags, most probable first (``source``:
                  ``musicnn-mtt`` or ``musicnn-msd``, see :mod:`core.musicnn`): the mean
                  over the region's 3 s patches, at least ``core.musicnn.MIN_PROBABILITY``,
                  a probability of another scale than YAMNet's highest patch
``musicnn``       ``{"status": "ok", "patches", "model"}``; ``not_applicable`` (a region
                  shorter than 3 s) or ``not_available`` with its ``reason`` (the
                  experimental environment or musicnn missing) and no musicnn tags
``sample_type``   ``one_shot`` (at most 4 s, one attack: its level, once past the peak,
                  never rises ``REATTACK_DB``), ``loop`` (periodic
                  onsets, 1 … 60 s) or ``other``
``onset_count``   onsets found; ``periodicity``: peak of the onset envelope's normalised
                  autocorrelation between 0.2 and 2 s lags, 0 … 1
``drum_type``     for a percussive one-shot (its level peaks in the first 100 ms, and its
                  last quarter is 10 dB under that): ``kick``, ``snare``,
                  ``hat``, ``tom``, ``cymbal``, ``perc`` or ``other`` (the head's best
                  probability under ``DRUM_OTHER_BELOW``); else None.
                  ``drum_probabilities``: the head's probability of each type
``model``         the weights used (YAMNet's, the instrument head's and the drum head's)
================  ==================================================================

Instruments and their families are apart because a family (Keyboard (musical), Plucked
string instrument, Percussion, Musical instrument) outscores the instrument it holds (in
AudioSet a clip of a piano is labelled Keyboard and Musical instrument too) and filled
the ranking with names that say little: on the rendered piano and guitar clips of
bench/content_accuracy.py's tuning split, the piano or guitar was among the first five
instruments for more clips once the families stood apart. Listed after the other tags,
with Music (the root of every musical class), they let the instrument into the first
five tags: on the tuning split's TimGM6mb clips, each family's held out of the
instrument head's training, piano 67 → 79 %, guitar 22 → 50 % (families after: 38 %).
Where YAMNet hears music (``HEAD_MUSIC``) it often hears a rendered instrument as a
bell, a ding, a clang or an electronic tuner too, and moods ("Tender music") come with it:
listing the instruments and voices first, the genres, moods and sound effects after them
(still before the families), put the instrument among the first five tags for more of the
tuning split's clips, the instrument head's probabilities taken by 10-fold cross-validation
over voices (the 8 clips a voice has all held out together): piano 86 → 98 %, organ
69 → 77 %, mallets 80 → 84 %, guitar 56 → 59 %, strings 48 → 50 %, woodwind 76 → 77 %,
drums, bass and brass the same. Several tags of one kind of instrument (Bell, Change
ringing, Church bell; Guitar, Acoustic guitar, Strum) then still filled the first five and
left the other instruments out: YAMNet hears an electric piano as bells and mallets. Naming
each kind once first and its other tags after those (``one_per_kind``) put the instrument
among the first five for more tuning clips, on the same folds: guitar 59 → 65 %, organ
77 → 84 %, strings 50 → 56 %, woodwind 77 → 80 %, mallets 84 → 88 %, the others the same
(the bench prints the table); on freepats' recordings (Debian's patch set, played by
timidity, never trained on; scripts outside the bench) the pianos went from 70 to 95 %, and
the first five tags name 4.3 kinds of instrument or other things on average, not 3.4.
YAMNet gives single instruments low probabilities (a piano's mean over a clip's patches
is often 0.01 … 0.05): with the mean and a cut at 0.05 the piano was mostly left out;
the highest patch kept it for cuts from 0.005 to 0.03, and ``MIN_PROBABILITY`` is the
middle of that plateau (the bench prints the figures).

YAMNet alone misses rendered instruments: on the evaluation split a piano or guitar was
among the first five tags for two clips of three. The instrument head is a logistic
regression (a softmax over nine families and ``other``) on the normalised mean of the
region's patch embeddings, trained by ``bench/content_accuracy.py --fit-instruments`` on
the tuning split's clips (FluidR3 programs apart from the evaluation's, and TimGM6mb's
recordings) and stored in ``instrument_head.json``; each family is named by its AudioSet
class (Piano, Guitar, Drum kit, Bass guitar, Organ, Bowed string instrument, Brass
instrument, Wind instrument, Mallet percussion). Chosen on the tuning split with each
of its FluidR3 programs held out in turn: the embedding rather than YAMNet's own
instrument scores (fewer wrong families listed), the softmax rather than one head a
family, ``HEAD_MIN_PROBABILITY`` 0.5 rather than 0.3 (a wrong family among the first five
tags of 17 % of the clips, not 24 %). ``HEAD_MUSIC`` lies between the tuning clips' Music
probabilities: 95 % of the instrument clips reach 0.63, 95 % of the noise clips stay
under 0.33 and of the speech clips under 0.12. The head learns voices more than families:
with the tuning split's voices held out (10-fold, a voice's clips together), it gives the
held-out piano voices 0.41 on average (TimGM6mb's Electric Grand 0.08) and names the
family at 0.5 or more for 34 % of the piano clips. Other inputs on the same folds (scripts
outside the bench): the mean and deviation of the embeddings, YAMNet's intermediate
layers, each patch a training sample, balanced classes, musicnn's MTT embedding beside
YAMNet's (piano 34 → 50 %, argmax 64.8 → 68.0 %, but the Electric Grand still 0.10):
none brought the Electric Grand's piano near 0.5. Nor did more recordings: freepats' (Debian's
patch set, played by timidity; 60 voices of the nine families and of other instruments,
five pianos, none a recording of FluidR3's evaluation pianos) added to the tuning split raised the
held-out TimGM6mb Electric Grand to 0.23 and the piano clips the head names from 34 to 50
% (argmax 66.2 → 66.3 %, a wrong family 8.5 → 9.6 %; freepats' own Electric Grand 0.03). On
the evaluation split the piano stayed at 77.5 %, and another family's head tag came among
the first five of 17.5 % of the other instruments' clips (7.5 %) and of 15 % of the bass
clips (5 %): not adopted.

Drum type: a logistic-regression head (C 0.3, balanced classes) over twenty-four envelope
and spectral features (:func:`drum_features`: 1.3.0's six, the decay times of the
thirteen bands of ``DRUM_BANDS_HZ`` and five pitch curves of the hit's low peak) and
YAMNet's embedding of the first patch, trained by
``bench/content_accuracy.py --fit-drums`` on the tuning split's one-shots (FluidR3 kits
apart from the evaluation's, their variants' hits of other recordings, TimGM6mb's kits)
and stored in ``drum_types.json``; the same script reports its accuracy on the other
kits. Chosen by ``--drum-cv``, each of the tuning split's 11 kits (3 FluidR3, 8
TimGM6mb) held out in turn with every hit of its recordings out of the training: 1.3.0's
head (six features, C 1) 86.8 % of the held-out hits (hats 47 %), seven band decays
91.7 %, thirteen 92.3 % (1.4.0's head: hats 79 %, toms 83 %; C 0.03 … 1: 91.6 … 92.3 %,
without the embedding 91.6 %), with the pitch curves 93.1 % (toms 93 %, percussion
99 → 95 %: the electronic kits' high toms and the congas sound alike; C 0.03 … 0.3:
92.6 … 93.1 %, without the embedding 92.9 %). The low peak (:func:`_low_peak`) tells a
kick (43 … 94 Hz for 90 % of the tuning kicks) from a tom (75 … 180 Hz), the TR-808
kit's low toms too (the head took them for kicks); spread over curves an octave apart, it
lets the logistic regression favour a range of pitches, and weighed by the peak's
salience it leaves out the noise of hats and snares (scripts outside the bench, C 0.1:
the bare log frequency instead 91.4 … 93.1 % over C and FFT sizes, toms 85 … 86 %; the
curves unweighed 90.4 … 91.5 %, snares 73 %; widths 0.4 … 0.8 octave, 4 to 7 curves and
the salience's midpoint 22 … 30 dB: 92.5 … 93.3 %). On the same folds
(scripts outside the bench), log-mel energies in four time slices, MFCC means and
deviations, pitch glide, attack time and YAMNet's intermediate layers added to the seven
band decays scored lower or no better; so did training on pitch-shifted (±1.5 and ±3
semitones), re-equalised copies of the tuning hits (87.5 against 90.9 % with an earlier
version of the band decays), an MLP with one hidden layer of 32 (89.5 %), and, with the
thirteen band decays, band energy shares and centroids in three time slices (91.7, 92.0
%) and gradient-boosted trees on the features alone (84.7 %). On the evaluation kits:
90.2 % (1.4.0: 88.7 %; 1.3.0: 87.6 %), 65.8 % of the hits of recordings that no tuning
one-shot plays (63.2 %, 56.6 %); by type: kicks 80 %, snares 80 %, hats 75 %, toms
79 % (1.4.0: 71 %), cymbals 96 %, percussion 100 %.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import librosa
import numpy as np

from core import musicnn, yamnet
from core.plugin import Context, Plugin

MIN_PROBABILITY = 0.02
TAGS_PER_GROUP = 10
#: AudioSet classes that name a family of instruments, not one: Musical instrument,
#: Plucked string instrument, Keyboard (musical), Percussion, Mallet percussion, Brass
#: instrument, Bowed string instrument, Wind instrument (the ontology's inner nodes
#: that are no instrument themselves).
INSTRUMENT_FAMILIES = np.array([133, 134, 147, 156, 174, 180, 184, 190])
#: AudioSet classes (indices, in the ontology's order) of each group: vocal = human voice,
#: speech to whistling; instrument = the instruments, families apart; genre = Music itself
#: and its genres; the rest are sound effects.
GROUPS = {"vocal": np.r_[0:36], "instrument": np.setdiff1d(np.r_[133:211], INSTRUMENT_FAMILIES),
          "instrument_family": INSTRUMENT_FAMILIES, "genre": np.r_[132, 211:271], "mood": np.r_[271:277]}
#: The AudioSet ontology's instrument classes that lie under another one below Musical
#: instrument, Plucked string instrument, Keyboard (musical) and Percussion (child: parent).
#: A class's kind of instrument is its topmost ancestor here, or itself (:func:`instrument_kind`).
INSTRUMENT_PARENTS = {
    **dict.fromkeys(("Electric guitar", "Bass guitar", "Acoustic guitar", "Steel guitar, slide guitar",
                     "Tapping (guitar technique)", "Strum"), "Guitar"),
    "Electric piano": "Piano", "Electronic organ": "Organ", "Hammond organ": "Organ", "Sampler": "Synthesizer",
    "Drum machine": "Drum kit", **dict.fromkeys(("Snare drum", "Bass drum", "Timpani", "Tabla"), "Drum"),
    "Rimshot": "Snare drum", "Drum roll": "Snare drum", "Hi-hat": "Cymbal", "Maraca": "Rattle (instrument)",
    **dict.fromkeys(("Marimba, xylophone", "Glockenspiel", "Vibraphone", "Steelpan"), "Mallet percussion"),
    **dict.fromkeys(("French horn", "Trumpet", "Trombone"), "Brass instrument"),
    **dict.fromkeys(("String section", "Violin, fiddle", "Cello", "Double bass"), "Bowed string instrument"),
    "Pizzicato": "Violin, fiddle",
    **dict.fromkeys(("Flute", "Saxophone", "Clarinet"), "Wind instrument, woodwind instrument"),
    **dict.fromkeys(("Church bell", "Jingle bell", "Bicycle bell", "Tuning fork", "Chime",
                     "Change ringing (campanology)"), "Bell"),
    "Wind chime": "Chime",
}
ONE_SHOT_MAX_S = 4.0
LOOP_MIN_S, LOOP_MAX_S = 1.0, 60.0
LOOP_MIN_ONSETS = 4
LOOP_PERIODICITY = 0.5
#: A one-shot's level never rises again by this much after falling from its peak, dB ...
REATTACK_DB = 10.0
#: ... counting only what is within this of the peak, dB.
REATTACK_RANGE_DB = 30.0
ATTACK_MAX_S = 0.1
DECAY_DB = 10.0
DRUM_OTHER_BELOW = 0.35
#: Edges of the bands whose decay times :func:`drum_features` measures (Hz), and how far
#: under its peak a band's decay ends (dB).
DRUM_BANDS_HZ = (0, 60, 100, 160, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 8000, 11026)
DRUM_BAND_DECAY_DB = 30.0
#: The low peak of a hit (:func:`_low_peak`): the strongest frequency between these (Hz) of
#: its power over this time (s, from the start), FFT 2048.
DRUM_PITCH_BAND_HZ = (30.0, 1000.0)
DRUM_PITCH_WINDOW_S = (0.02, 0.2)
#: :func:`drum_features` spreads the low peak's frequency over tuning curves centred an
#: octave apart (Hz), Gaussian in octaves of this width, weighed by the peak's salience
#: (over the band's median): half at ``DRUM_PITCH_SALIENCE_DB``, rising over
#: ``DRUM_PITCH_SALIENCE_SLOPE_DB`` (logistic).
DRUM_PITCH_CENTRES_HZ = (45.0, 90.0, 180.0, 360.0, 720.0)
DRUM_PITCH_WIDTH_OCT = 0.6
DRUM_PITCH_SALIENCE_DB = 26.0
DRUM_PITCH_SALIENCE_SLOPE_DB = 4.0
DRUM_HEAD = Path(__file__).with_name("drum_types.json")
INSTRUMENT_HEAD = Path(__file__).with_name("instrument_head.json")
HEAD_MIN_PROBABILITY = 0.5
HEAD_MUSIC = 0.5
#: AudioSet's Music class (index).
MUSIC_CLASS = 132
_HOP = 256
_LAGS_S = (0.2, 2.0)


class Classifier(Plugin):
    name = "classifier"
    version = "1.6.0"
    timeout_s = 120.0  # the musicnn worker's first start (≤ bridge_start_timeout_s) included
    memory_mb = 600
    description = ("AudioSet tags by group (YAMNet), musicnn's tags (experimental environment), one-shot / loop, "
                   "drum type of one-shots")

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        out = yamnet.get().run(audio, sr)
        rhythm = sample_type(audio, sr)
        tagged = musicnn.region_tags(audio, sr)
        result: dict[str, Any] = {
            "tags": merged(tags(out.scores.max(axis=0)), instrument_tags(out), music=hears_music(out))
            + tagged.pop("tags", []),
            "musicnn": tagged,
            **rhythm,
            "drum_type": None,
            "model": {"yamnet": yamnet.model_name(), "instrument_head": load_head(INSTRUMENT_HEAD)["name"],
                      "drum_head": load_head(DRUM_HEAD)["name"]},
        }
        if rhythm["sample_type"] == "one_shot" and _percussive(audio, sr):
            probabilities = drum_probabilities(out.embeddings[0], drum_features(audio, sr))
            result["drum_type"] = drum_answer(probabilities)
            result["drum_probabilities"] = probabilities
        return result

    def warm_up(self, sr: int) -> None:
        """Load YAMNet and the heads; compile librosa's kernels on a click."""
        click = np.zeros(sr, np.float32)
        click[:200] = np.random.default_rng(0).normal(0, 0.5, 200)
        self.analyze(click, sr, Context(file_path="", region_index=0, start_s=0.0))


def tags(scores: np.ndarray, min_probability: float = MIN_PROBABILITY) -> list[dict[str, Any]]:
    """scores: float32 [521] pooled probabilities → the tags of the result, most probable first."""
    names = yamnet.class_names()
    found = []
    for group, indices in _groups().items():
        ranked = sorted(indices, key=lambda i: -scores[i])[:TAGS_PER_GROUP]
        found += [{"tag": names[i], "probability": round(float(scores[i]), 4), "source": "yamnet", "group": group}
                  for i in ranked if scores[i] >= min_probability]
    return sorted(found, key=lambda tag: -tag["probability"])


def instrument_tags(out: yamnet.YamnetOutput) -> list[dict[str, Any]]:
    """The instrument head's tag for a region where YAMNet hears music (``HEAD_MUSIC``): the
    family of probability ``HEAD_MIN_PROBABILITY`` or more, if any (never ``other``)."""
    return family_tags(instrument_probabilities(out.embeddings)) if hears_music(out) else []


def family_tags(probabilities: dict[str, float]) -> list[dict[str, Any]]:
    """The tags of the families (of the instrument head's, never ``other``) whose probability
    is ``HEAD_MIN_PROBABILITY`` or more."""
    names = load_head(INSTRUMENT_HEAD)["tags"]
    return [{"tag": names[family], "probability": p, "source": "yamnet-head", "group": "instrument"}
            for family, p in probabilities.items() if family in names and p >= HEAD_MIN_PROBABILITY]


def instrument_probabilities(embeddings: np.ndarray) -> dict[str, float]:
    """embeddings: float32 [n_patches, 1024] → the instrument head's probability of each
    family and of ``other``."""
    return _softmax(load_head(INSTRUMENT_HEAD), instrument_input(embeddings))


def instrument_input(embeddings: np.ndarray) -> np.ndarray:
    """The instrument head's input: float64 [1024], the mean of the patches' embeddings
    (float32 [n_patches, 1024]) scaled to length 1."""
    return _unit(embeddings.mean(axis=0, dtype=np.float64))


def hears_music(out: yamnet.YamnetOutput) -> bool:
    """Whether YAMNet hears music in some patch of the region (``HEAD_MUSIC``)."""
    return len(out.scores) > 0 and bool(out.scores[:, MUSIC_CLASS].max() >= HEAD_MUSIC)


def merged(*lists: list[dict[str, Any]], music: bool = False, one_per_kind: bool = True) -> list[dict[str, Any]]:
    """Tags of several sources as one list, of entries with the same ``tag`` the most
    probable, in tiers each most probable first: the specific tags (in a region that
    ``music`` is heard in, the instruments and voices only), of each kind of instrument
    (:func:`instrument_kind`) the most probable only where ``one_per_kind``; then the other
    instruments of those kinds; then (where ``music`` is heard) the genres, moods and sound
    effects; then the ``instrument_family`` tags and Music."""
    best: dict[str, dict[str, Any]] = {}
    for entry in (entry for found in lists for entry in found):
        if entry["tag"] not in best or entry["probability"] > best[entry["tag"]]["probability"]:
            best[entry["tag"]] = entry

    def tier(tag: dict[str, Any]) -> int:
        if tag.get("group") == "instrument_family" or tag["tag"] == "Music":
            return 3
        return 2 if music and tag.get("group") not in ("instrument", "vocal") else 0

    tiers, kinds = {}, set()
    for tag in sorted(best.values(), key=lambda tag: -tag["probability"]):
        level = tier(tag)
        if level == 0 and tag.get("group") == "instrument":  # the most probable of its kind comes first here
            kind = instrument_kind(tag["tag"])
            level = int(one_per_kind and kind in kinds)
            kinds.add(kind)
        tiers[tag["tag"]] = level
    return sorted(best.values(), key=lambda tag: (tiers[tag["tag"]], -tag["probability"]))


def instrument_kind(name: str) -> str:
    """The kind of instrument an AudioSet class ``name`` names: its topmost ancestor in
    :data:`INSTRUMENT_PARENTS` (Guitar for Strum, Bell for Wind chime), or itself."""
    while name in INSTRUMENT_PARENTS:
        name = INSTRUMENT_PARENTS[name]
    return name


def sample_type(audio: np.ndarray, sr: int) -> dict[str, Any]:
    """``{"sample_type", "onset_count", "periodicity"}`` from the region's first minute."""
    duration = len(audio) / sr
    head = audio[: int(LOOP_MAX_S * sr)]
    envelope = librosa.onset.onset_strength(y=head, sr=sr, hop_length=_HOP) if len(head) > 2048 else np.zeros(1)
    onsets = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=_HOP)
    periodicity = _periodicity(envelope, sr / _HOP)
    if duration <= ONE_SHOT_MAX_S and not _reattacks(audio, sr):
        kind = "one_shot"
    elif LOOP_MIN_S <= duration <= LOOP_MAX_S and len(onsets) >= LOOP_MIN_ONSETS and periodicity >= LOOP_PERIODICITY:
        kind = "loop"
    else:
        kind = "other"
    return {"sample_type": kind, "onset_count": len(onsets), "periodicity": round(periodicity, 3)}


def drum_features(audio: np.ndarray, sr: int, bands_hz: tuple[float, ...] = DRUM_BANDS_HZ,
                  pitch_centres_hz: tuple[float, ...] = DRUM_PITCH_CENTRES_HZ) -> np.ndarray:
    """float64 [6 + bands + pitch curves]: of the first 0.75 s, log2 spectral centroid (Hz),
    spectral flatness, log decay time to −20 dB (s), log energy shares under 150 Hz, over
    5 kHz, 150–1000 Hz; of the first second, each band's (between the edges ``bands_hz``) log
    decay time (s) from its own peak to ``DRUM_BAND_DECAY_DB`` under it; the low peak's
    :func:`_pitch_curves` centred on ``pitch_centres_hz``."""
    power = _power(audio[: int(0.75 * sr)])
    freqs = librosa.fft_frequencies(sr=sr, n_fft=1024)
    frame_energy = power.sum(axis=0)
    weights = frame_energy / max(frame_energy.sum(), 1e-20)
    centroid = weights @ ((freqs @ power) / np.maximum(frame_energy, 1e-20))
    flatness = weights @ librosa.feature.spectral_flatness(S=power, power=1.0)[0]
    total = max(float(power.sum()), 1e-20)
    share = [float(power[band].sum()) / total + 1e-6
             for band in (freqs < 150, freqs > 5000, (freqs >= 150) & (freqs <= 1000))]
    second = _power(audio[:sr])
    band_decays_s = [_decay_s(second[(freqs >= lo) & (freqs < hi)].sum(axis=0), DRUM_BAND_DECAY_DB, sr)
                     for lo, hi in zip(bands_hz[:-1], bands_hz[1:], strict=True)]
    return np.array([np.log2(max(centroid, 20.0)), flatness, np.log(_decay_s(frame_energy, 20.0, sr) + 0.01),
                     *np.log(share), *np.log(np.array(band_decays_s) + 0.01),
                     *_pitch_curves(*_low_peak(audio, sr), pitch_centres_hz)])


def _low_peak(audio: np.ndarray, sr: int) -> tuple[float, float]:
    """The frequency (Hz) of the strongest bin between ``DRUM_PITCH_BAND_HZ`` of the power
    over ``DRUM_PITCH_WINDOW_S`` (FFT 2048, hop 256), and its salience: how far it stands
    over the band's median (dB)."""
    power = _power(audio, 2048)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=2048)
    start, end = (int(t * sr / _HOP) for t in DRUM_PITCH_WINDOW_S)
    band = (freqs >= DRUM_PITCH_BAND_HZ[0]) & (freqs <= DRUM_PITCH_BAND_HZ[1])
    spectrum = power[band, start : end + 1].sum(axis=1)
    peak = int(np.argmax(spectrum))
    return float(freqs[band][peak]), float(10 * np.log10(spectrum[peak] / (np.median(spectrum) + 1e-20) + 1e-6))


def _pitch_curves(hz: float, salience_db: float, centres_hz: tuple[float, ...]) -> np.ndarray:
    """float64 [centres]: how near ``hz`` lies to each centre (Gaussian in octaves,
    ``DRUM_PITCH_WIDTH_OCT``), weighed by the salience (dB) of the peak (logistic, see
    ``DRUM_PITCH_SALIENCE_DB``): a noisy hit's peak says little."""
    weight = 1 / (1 + np.exp(-(salience_db - DRUM_PITCH_SALIENCE_DB) / DRUM_PITCH_SALIENCE_SLOPE_DB))
    return weight * np.exp(-0.5 * (np.log2(hz / np.array(centres_hz, np.float64)) / DRUM_PITCH_WIDTH_OCT) ** 2)


def _power(audio: np.ndarray, n_fft: int = 1024) -> np.ndarray:
    """Power spectrogram [n_fft / 2 + 1, frames] of ``audio`` followed by ``n_fft`` zeros (hop 256)."""
    return np.abs(librosa.stft(np.pad(audio, (0, n_fft)), n_fft=n_fft, hop_length=_HOP)) ** 2


def _decay_s(energy: np.ndarray, db: float, sr: int) -> float:
    """Seconds from the peak of ``energy`` (per STFT frame) until it is ``db`` under it (to
    the end of the frames if it never is)."""
    peak = int(np.argmax(energy))
    below = np.flatnonzero(energy[peak:] < 10 ** (-db / 10) * energy[peak])
    return float((below[0] if len(below) else len(energy) - peak) * _HOP / sr)


def drum_probabilities(embedding: np.ndarray, features: np.ndarray,
                       head: dict[str, Any] | None = None) -> dict[str, float]:
    """The drum head's (``drum_types.json``, or ``head`` in its layout) probability of each
    drum type. embedding: float32 [1024] (first patch); features: :func:`drum_features`."""
    head = head or load_head(DRUM_HEAD)
    return _softmax(head, np.concatenate([(features - head["mean"]) / head["scale"], _unit(embedding)]))


def drum_answer(probabilities: dict[str, float]) -> str:
    """The drum type of the head's ``probabilities``: the most probable, ``other`` when it is
    under ``DRUM_OTHER_BELOW``."""
    best = max(probabilities, key=probabilities.__getitem__)
    return best if probabilities[best] >= DRUM_OTHER_BELOW else "other"


@functools.cache
def load_head(path: Path) -> dict[str, Any]:
    """A trained logistic-regression head (``drum_types.json``, ``instrument_head.json``):
    its name and classes, ``coef`` [classes, inputs] and ``intercept`` [classes] (the drum
    head's features' ``mean`` and ``scale`` too) as float64 arrays."""
    stored = json.loads(path.read_text())
    return {**stored, **{key: np.asarray(value, np.float64) for key, value in stored.items()
                         if key in ("coef", "intercept", "mean", "scale")}}


def _softmax(head: dict[str, Any], x: np.ndarray) -> dict[str, float]:
    """The head's probability of each of its classes for the input vector ``x``."""
    logits = head["coef"] @ x + head["intercept"]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {kind: round(float(v), 4) for kind, v in zip(head["classes"], p, strict=True)}


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _groups() -> dict[str, list[int]]:
    grouped = {name: [int(i) for i in indices] for name, indices in GROUPS.items()}
    taken = {i for indices in grouped.values() for i in indices}
    grouped["sound_effect"] = [i for i in range(yamnet.N_CLASSES) if i not in taken]
    return grouped


def _periodicity(envelope: np.ndarray, frames_per_s: float) -> float:
    """Highest normalised autocorrelation of the onset envelope at lags of 0.2 … 2 s."""
    centred = envelope - envelope.mean()
    lo, hi = int(_LAGS_S[0] * frames_per_s), int(_LAGS_S[1] * frames_per_s)
    if len(centred) <= lo + 1 or not np.any(centred):
        return 0.0
    full = np.correlate(centred, centred, mode="full")[len(centred) - 1 :]
    return float(max(0.0, np.max(full[lo : min(hi, len(full) - 1) + 1]) / full[0]))


def _reattacks(audio: np.ndarray, sr: int) -> bool:
    """Whether the level (RMS over 1024 samples, dB) rises by ``REATTACK_DB`` above its lowest
    point since the peak, within ``REATTACK_RANGE_DB`` of the peak: a second hit or a word."""
    level = _level_db(audio)
    peak = int(np.argmax(level))
    after = level[peak:]
    lowest = np.minimum.accumulate(after)
    return bool(np.any((after > lowest + REATTACK_DB) & (after > level[peak] - REATTACK_RANGE_DB)))


def _percussive(audio: np.ndarray, sr: int) -> bool:
    """A hit: its level (RMS over 1024 samples) peaks in the first ``ATTACK_MAX_S`` and its
    last quarter is at least ``DECAY_DB`` under that peak."""
    level = _level_db(audio)
    peak = int(np.argmax(level))
    tail = float(np.mean(level[-max(1, len(level) // 4) :]))
    return peak * _HOP / sr <= ATTACK_MAX_S and tail <= level[peak] - DECAY_DB


def _level_db(audio: np.ndarray) -> np.ndarray:
    """RMS level over 1024 samples every 256, dB, float32 [frames]."""
    rms = librosa.feature.rms(y=np.pad(audio, (0, max(0, 1024 - len(audio)))), frame_length=1024, hop_length=_HOP)[0]
    return 10 * np.log10(rms**2 + 1e-12)
