"""Labelled clips for the content, classifier and embeddings plugins: speech in several
voices and languages (espeak-ng), music rendered from MIDI with General MIDI instruments
(fluidsynth, FluidR3; TimGM6mb too for tuning), white / pink / brown and band-passed
noise, digital and near silence, speech over music, instruments of nine families alone,
and drum one-shots from several drum kits.

Every clip is float32 [n_samples] at 22 050 Hz (the engine's rate). Each kind comes in
two disjoint splits: ``tune`` (where thresholds and methods are chosen, and heads
trained) and ``eval`` (where they are measured): other voices, languages, sentences,
instruments and their recordings, pieces, velocities, kits, noise filters and seeds. The
tests use a few clips of each; bench/content_accuracy.py uses 40 and more.
"""

from __future__ import annotations

import functools
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import scipy.signal
import soundfile as sf
import soxr

from bench import corpus
from tests import audio_factory as af

SR = 22_050
CONTENT_LABELS = ("speech", "music", "noise", "silence", "mixed")

#: espeak-ng voices and sentences of each split.
VOICES = {
    "tune": ("en+m1", "de+f2", "fr+m3", "es+f1", "en-us+m7", "it+f4", "nl+m2", "en+f2"),
    "eval": ("en-us+f3", "en+m3", "de", "fr+f1", "it", "pt", "nl+f2", "pl+m4", "sv+f5", "es+m6",
             "en+klatt", "de+m7", "ru+f4", "cs+m2", "fi+f3", "en-gb-x-rp+m1"),
}
SENTENCES = {
    "tune": ("The weather report says rain is coming tomorrow afternoon.",
             "Please remember to close the window before you leave.",
             "Seven people were waiting quietly at the station.",
             "A good cup of tea makes every morning better."),
    "eval": ("Hello, this is a short recording for the speech detector.",
             "The quick brown fox jumps over the lazy dog near the river.",
             "Could you tell me the way to the nearest library, please?",
             "Numbers like twenty three and forty five are easy to say.",
             "Our meeting starts at nine and ends a little after noon."),
}
#: General MIDI programs (melody, accompaniment) of the music clips of each split.
MUSIC_PROGRAMS = {
    "tune": ((1, 33), (25, 32), (40, 48), (56, 61), (68, 0), (81, 38), (11, 24), (71, 42)),
    "eval": ((0, 32), (24, 33), (48, 0), (65, 4), (73, 48), (19, 34), (4, 35), (26, 32), (60, 49),
             (22, 0), (46, 24), (105, 33), (8, 0), (88, 36), (57, 89), (13, 27)),
}
#: The soundfonts: FluidR3 renders both splits; TimGM6mb (MuseScore 1.3's, Debian's
#: timgm6mb-soundfont) holds other recordings of every General MIDI instrument (no
#: rendered note of it correlates with FluidR3's above 0.8, where two FluidR3 programs
#: that share a sample reach 0.99) and renders tuning material only. The tuning split's
#: instrument clips never play a recording that the evaluation split's play; they play
#: other recordings of the same kinds of instrument.
FLUIDR3 = corpus.SOUNDFONT
TIMGM6MB = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
#: The drum kits (channel-10 programs) TimGM6mb has.
TIMGM6MB_KITS = (0, 8, 16, 24, 25, 32, 40, 48)
#: Instrument families (the classifier's instrument head names them): FluidR3's General
#: MIDI programs of each split (drums: channel-10 kits). FluidR3's programs share
#: recordings (Bright Grand and Honky Tonk play the Grand Piano's samples, Steel String
#: the Nylon String's, see :func:`preset_samples`): no program of one split plays a sample
#: that a program of the other plays. The drum kits are split by their kick and snare; all
#: but TR-808 (25) and Orchestra (48) play the same closed hi-hat. The tuning split also
#: plays every program of the family (both splits' and :data:`TIMGM6MB_ONLY`'s) with
#: TimGM6mb (:func:`voices`).
INSTRUMENTS = {
    "piano": {"tune": (4, 5), "eval": (0, 2)},
    "guitar": {"tune": (28, 30, 31), "eval": (24, 26, 27, 29)},
    "drums": {"tune": (1, 11, 16, 17), "eval": (0, 24, 25, 32, 40)},
    "bass": {"tune": (32, 34, 36, 38), "eval": (33, 35, 37, 39)},
    "organ": {"tune": (16, 18, 20), "eval": (17, 19)},
    "strings": {"tune": (40, 42, 45), "eval": (41, 43, 48)},
    "brass": {"tune": (56, 58, 60), "eval": (57, 59, 61)},
    "woodwind": {"tune": (64, 66, 68, 70, 72, 74), "eval": (65, 67, 69, 71, 73, 75)},
    "mallets": {"tune": (8, 10, 12, 14), "eval": (9, 11, 13, 15)},
}
#: Programs of a family that only TimGM6mb plays: FluidR3's play the recordings of an
#: evaluation program.
TIMGM6MB_ONLY = {"piano": (1, 3), "guitar": (25,), "strings": (44, 49), "drums": (8,)}
#: Instruments of no family above, the instrument head's negatives (harpsichord, accordion,
#: choir, synthesizers, sitar, kalimba, woodblock …), split as the families are.
OTHER_INSTRUMENTS = {"tune": (6, 21, 47, 53, 62, 80, 89, 104, 108, 113, 115),
                     "eval": (7, 46, 52, 55, 77, 81, 88, 105, 107, 112, 114)}
#: The pieces of each split's instrument clips: chord progressions (scale degrees, a chord
#: a bar) and how loud they are played (every velocity times a factor drawn from this
#: range). The evaluation split's are those of the content clips.
PIECES = {
    "tune": (((0, 3, 4, 0), (0, 4, 5, 3), (5, 3, 0, 4), (0, 1, 4, 0)), (0.45, 1.15)),
    "eval": (((0, 5, 3, 4),), (1.0, 1.0)),
}
#: The AudioSet classes that name each instrument family: the class and its descendants
#: in the AudioSet ontology, the first naming the family (the instrument head's tag). The
#: families above them (Keyboard (musical), Plucked string instrument, Percussion,
#: Musical instrument) do not count.
INSTRUMENT_TAGS = {
    "piano": ("Piano", "Electric piano"),
    "guitar": ("Guitar", "Electric guitar", "Bass guitar", "Acoustic guitar", "Steel guitar, slide guitar",
               "Tapping (guitar technique)", "Strum"),
    "drums": ("Drum kit", "Drum machine", "Drum", "Snare drum", "Rimshot", "Drum roll", "Bass drum", "Timpani",
              "Tabla"),
    "bass": ("Bass guitar", "Double bass"),
    "organ": ("Organ", "Electronic organ", "Hammond organ"),
    "strings": ("Bowed string instrument", "String section", "Violin, fiddle", "Pizzicato", "Cello", "Double bass"),
    "brass": ("Brass instrument", "French horn", "Trumpet", "Trombone"),
    "woodwind": ("Wind instrument, woodwind instrument", "Flute", "Saxophone", "Clarinet"),
    "mallets": ("Mallet percussion", "Marimba, xylophone", "Glockenspiel", "Vibraphone", "Steelpan",
                "Tubular bells"),
}
#: Drum one-shots: GM drum-map notes per type, and the kits of each split.
DRUM_NOTES = {
    "kick": (35, 36), "snare": (38, 40), "hat": (42, 44, 46), "tom": (41, 43, 45, 47, 48, 50),
    "cymbal": (49, 51, 52, 55, 57, 59), "perc": (54, 56, 60, 61, 62, 63, 64, 75, 76, 77),
}
#: FluidR3 drum kits (channel-10 programs) of each split, and the velocities they are played at.
DRUM_KITS = {"tune": (0, 16, 40), "eval": (8, 24, 25, 32, 48)}
DRUM_VELOCITIES = {"tune": (50, 90, 127), "eval": (70, 110)}
#: FluidR3's other kits (variants of Standard, Room, Power, Jazz and Brush): the tuning
#: split takes those of their hits whose recordings no evaluation kit plays (kicks and
#: snares), and every hit of TimGM6mb's kits.
MORE_TUNING_KITS = (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 33, 34, 35, 36, 41, 42)
#: FluidR3's Orchestra kit (48) follows Roland's GS layout, where notes 41–53 play timpani
#: instead of the toms, hi-hats and cymbals of the General MIDI map: no drum type names
#: them, and :func:`drum_hits` leaves them out.
OFF_THE_DRUM_MAP = {48: range(41, 54)}
_SPLIT_SEED = {"tune": 1000, "eval": 0}
_TICKS = 480


@dataclass(frozen=True)
class Clip:
    name: str
    label: str
    audio: np.ndarray


@dataclass(frozen=True)
class DrumHit:
    kind: str  #: a key of DRUM_NOTES
    audio: np.ndarray  #: float32 [SR], 1 s from the hit
    recordings: frozenset[str]  #: the samples it plays (see preset_samples)
    kit: str = ""  #: the soundfont's file name and the kit's program, e.g. "FluidR3_GM.sf2:24"


# ------------------------------------------------------------------ one clip of a kind


def speech(index: int, split: str) -> np.ndarray:
    """One or two sentences in one of the split's voices, at 150–200 words a minute."""
    voices, sentences = VOICES[split], SENTENCES[split]
    rng = np.random.default_rng(_SPLIT_SEED[split] + index)
    words = [sentences[index % len(sentences)]]
    if index % 3 == 0:
        words.append(sentences[(index + 1) % len(sentences)])
    with tempfile.TemporaryDirectory() as tmp:
        path = af.speech(Path(tmp) / "speech.wav", words, pause_ms=300,
                         voice=voices[index % len(voices)], wpm=int(rng.integers(150, 201)))
        return _load(path)


def music(index: int, split: str, seconds: float = 6.0) -> np.ndarray:
    """A melody over chords with two of the split's instruments, drums on every other clip."""
    melody, chords = MUSIC_PROGRAMS[split][index % len(MUSIC_PROGRAMS[split])]
    rng = np.random.default_rng(_SPLIT_SEED[split] + index)
    return render(_song(rng, seconds, melody, chords, drums=index % 2 == 0), seconds)


def instrument(family: str, index: int, split: str, seconds: float = 6.0) -> np.ndarray:
    """A clip of one instrument of ``family`` (a key of :data:`INSTRUMENTS`, or ``other``)
    alone: a melody over chords, or (drums) a kit pattern."""
    every = voices(family, split)
    soundfont, program = every[index % len(every)]
    rng = np.random.default_rng(_SPLIT_SEED[split] + 100 + index)
    progressions, dynamics = PIECES[split]
    piece = np.random.default_rng(_SPLIT_SEED[split] + 200 + index)  # apart: eval's notes stay as they were
    shape = {"progression": progressions[int(piece.integers(len(progressions)))],
             "dynamics": float(piece.uniform(*dynamics))}
    if family == "drums":
        return render(_song(rng, seconds, None, None, drums=True, kit=program, **shape), seconds, soundfont)
    return render(_song(rng, seconds, program, program, drums=False, **shape), seconds, soundfont)


def voices(family: str, split: str) -> list[tuple[Path, int]]:
    """(soundfont, program) of each instrument a split plays for ``family`` (``other``: the
    :data:`OTHER_INSTRUMENTS`): the split's FluidR3 programs, then (tuning split) all of
    the family's in TimGM6mb."""
    splits = OTHER_INSTRUMENTS if family == "other" else INSTRUMENTS[family]
    found = [(FLUIDR3, program) for program in splits[split]]
    if split == "tune":
        every = splits["tune"] + splits["eval"] + TIMGM6MB_ONLY.get(family, ())
        found += [(TIMGM6MB, program) for program in every if family != "drums" or program in TIMGM6MB_KITS]
    return found


def noise(index: int, split: str, seconds: float = 5.0) -> np.ndarray:
    """White, pink or brown noise (in turn), every other clip band-passed, at −40 … −12 dBFS."""
    rng = np.random.default_rng(_SPLIT_SEED[split] + index)
    colour = ("white", "pink", "brown")[index % 3]
    signal = coloured_noise(colour, seconds, rng)
    if index % 2:
        low = float(rng.uniform(80, 2000))
        high = min(low * float(rng.uniform(2, 8)), 0.45 * SR)
        signal = scipy.signal.sosfilt(scipy.signal.butter(4, [low, high], "bandpass", fs=SR, output="sos"), signal)
    return _at_level(signal, float(rng.uniform(-40, -12)))


def silence(index: int, split: str, seconds: float = 4.0) -> np.ndarray:
    """Digital silence, or (every other clip) near silence: hiss at −90 … −70 dBFS."""
    rng = np.random.default_rng(_SPLIT_SEED[split] + index)
    if index % 2 == 0:
        return np.zeros(int(seconds * SR), np.float32)
    return _at_level(coloured_noise(("white", "pink")[index // 2 % 2], seconds, rng), float(rng.uniform(-90, -70)))


def mixed(index: int, split: str) -> np.ndarray:
    """Speech over music, the speech 0 … 10 dB louder than the music."""
    voice = speech(index, split)
    background = music(index + 7, split, seconds=len(voice) / SR + 0.1)[: len(voice)]
    rng = np.random.default_rng(_SPLIT_SEED[split] + 50 + index)
    ratio_db = float(rng.uniform(0, 10))
    gain = _rms(voice) / max(_rms(background), 1e-9) * 10 ** (-ratio_db / 20)
    out = voice + gain * background
    return (out / max(1.0, float(np.max(np.abs(out))) / 0.9)).astype(np.float32)


def drum_hit(kind: str, kit: int, note_index: int = 0, velocity: int = 100) -> np.ndarray:
    """One drum of ``kind`` from GM drum kit ``kit`` (channel-10 program), 1 s, as a sample
    library holds it: trimmed to start at the hit."""
    notes = DRUM_NOTES[kind]
    hits = drum_hits(kit, velocity)
    return hits[(kind, notes[note_index % len(notes)])]


def drum_one_shots(split: str) -> list[DrumHit]:
    """Every drum one-shot of a split: each hit of its FluidR3 kits at its velocities; the
    tuning split adds those of :data:`MORE_TUNING_KITS` whose recordings no evaluation kit
    plays, and TimGM6mb's kits."""
    kits = [(FLUIDR3, DRUM_KITS[split], frozenset())]  # (soundfont, kits, recordings left out)
    if split == "tune":
        held = frozenset(sample for kit in DRUM_KITS["eval"] for notes in DRUM_NOTES.values() for note in notes
                         for sample in kit_samples(kit, note))
        kits += [(FLUIDR3, MORE_TUNING_KITS, held), (TIMGM6MB, TIMGM6MB_KITS, frozenset())]
    found = []
    for soundfont, numbers, left_out in kits:
        for kit in numbers:
            for velocity in DRUM_VELOCITIES[split]:
                for (kind, note), audio in drum_hits(kit, velocity, soundfont).items():
                    recordings = kit_samples(kit, note, soundfont)
                    if not recordings & left_out:
                        found.append(DrumHit(kind, audio, recordings, f"{soundfont.name}:{kit}"))
    return found


@functools.cache
def drum_hits(kit: int, velocity: int = 100, soundfont: Path = FLUIDR3) -> dict[tuple[str, int], np.ndarray]:
    """Every note of :data:`DRUM_NOTES` from one kit, rendered in one go: (type, note) → 1 s
    (less those :data:`OFF_THE_DRUM_MAP`)."""
    spacing = 2.0
    events = [(i * spacing, 0.3, 9, note, velocity)
              for i, note in enumerate(n for notes in DRUM_NOTES.values() for n in notes)]
    audio = render(_midi(events, {}, kit), len(events) * spacing, soundfont)
    out, i = {}, 0
    for kind, notes in DRUM_NOTES.items():
        for note in notes:
            start = int(i * spacing * SR)
            if note not in OFF_THE_DRUM_MAP.get(kit, ()):
                out[(kind, note)] = _trim(audio[start : start + int(spacing * SR)], 1.0)
            i += 1
    return out


@functools.cache
def preset_samples(program: int, bank: int = 0, note: int | None = None, soundfont: Path = FLUIDR3) -> frozenset[str]:
    """Names (``soundfont stem/sample``) of the samples, every velocity layer, that the
    preset ``program`` of ``bank`` (128: the drum kits) plays, for ``note`` only when
    given: presets share recordings, and this tells which sounds of two are the same."""
    chunks = _sf2_preset_chunks(soundfont)

    def records(name: str, size: int, layout: str) -> list[tuple]:
        return [struct.unpack_from(layout, chunks[name], i) for i in range(0, len(chunks[name]), size)]

    presets = records("phdr", 38, "<20sHHH")
    pbag, ibag = records("pbag", 4, "<H"), records("ibag", 4, "<H")
    pgen, igen = records("pgen", 4, "<HH"), records("igen", 4, "<HH")
    inst, shdr = records("inst", 22, "<20sH"), records("shdr", 46, "<20s")

    def zones(bags: list[tuple], gens: list[tuple], first: int, last: int) -> list[dict[int, int]]:
        return [dict(gens[bags[b][0] : bags[b + 1][0]]) for b in range(first, last)]

    def plays(zone: dict[int, int]) -> bool:  # generator 43: key range, low byte to high byte
        low, high = zone.get(43, 0x7F00) & 0xFF, zone.get(43, 0x7F00) >> 8
        return note is None or low <= note <= high

    index = next(i for i, p in enumerate(presets[:-1]) if p[1] == program and p[2] == bank)
    found = set()
    for zone in zones(pbag, pgen, presets[index][3], presets[index + 1][3]):
        if 41 in zone and plays(zone):  # generator 41: instrument
            instrument = zone[41]
            for inner in zones(ibag, igen, inst[instrument][1], inst[instrument + 1][1]):
                if 53 in inner and plays(inner):  # generator 53: sample
                    name = shdr[inner[53]][0].split(b"\0")[0].decode("latin-1")
                    found.add(f"{soundfont.stem}/{name}")
    return frozenset(found)


def kit_samples(kit: int, note: int, soundfont: Path = FLUIDR3) -> frozenset[str]:
    """The samples that drum kit ``kit`` plays for ``note`` (see :func:`preset_samples`)."""
    return preset_samples(kit, 128, note, soundfont)


@functools.cache
def _sf2_preset_chunks(path: Path) -> dict[str, bytes]:
    """The preset-data sub-chunks (phdr, pbag, pgen, inst, ibag, igen, shdr …) of a SoundFont 2 file."""
    with open(path, "rb") as f:
        f.seek(12)  # "RIFF", size, "sfbk"
        while header := f.read(8):
            kind, size = struct.unpack("<4sI", header)
            if kind == b"LIST" and f.read(4) == b"pdta":
                body, chunks, i = f.read(size - 4), {}, 0
                while i + 8 <= len(body):
                    name, length = struct.unpack_from("<4sI", body, i)
                    chunks[name.decode("latin-1")] = body[i + 8 : i + 8 + length]
                    i += 8 + length + (length & 1)
                return chunks
            f.seek(size + (size & 1) - (4 if kind == b"LIST" else 0), 1)
    raise corpus.CorpusError(f"{path} has no preset data (not a SoundFont 2 file?)")


def coloured_noise(colour: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """White (flat), pink (1/f power) or brown (1/f² power) noise, float32 [n], RMS 1."""
    n = int(seconds * SR)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0)
    spectrum *= {"white": 1.0, "pink": f**-0.5, "brown": f**-1.0}[colour]
    signal = np.fft.irfft(spectrum, n)
    return (signal / _rms(signal)).astype(np.float32)


# ------------------------------------------------------------------ sets of clips


GENERATORS = {"speech": speech, "music": music, "noise": noise, "silence": silence, "mixed": mixed}


def content_clips(count: int, split: str, labels: tuple[str, ...] = CONTENT_LABELS) -> list[Clip]:
    """``count`` clips of each content label."""
    return [Clip(f"{label}_{split}_{i}", label, GENERATORS[label](i, split)) for label in labels
            for i in range(count)]


def sequence(parts: list[np.ndarray]) -> tuple[np.ndarray, list[float]]:
    """Concatenate ``parts``; return the audio and the times where each part after the first starts."""
    starts = np.cumsum([len(p) for p in parts])[:-1] / SR
    return np.concatenate(parts).astype(np.float32), [float(s) for s in starts]


# ------------------------------------------------------------------ rendering


def render(song: mido.MidiFile, seconds: float, soundfont: Path = FLUIDR3) -> np.ndarray:
    """Render ``song`` with fluidsynth and ``soundfont`` (raises bench.corpus.CorpusError
    without them); the first ``seconds`` at 22 050 Hz mono."""
    with tempfile.TemporaryDirectory() as tmp:
        song.save(Path(tmp) / "song.mid")
        audio = _load(corpus.render(Path(tmp) / "song.mid", Path(tmp) / "song.wav", soundfont))
    n = int(seconds * SR)
    return np.pad(audio, (0, max(0, n - len(audio))))[:n]


def _song(rng: np.random.Generator, seconds: float, melody: int | None, chords: int | None, drums: bool,
          kit: int = 0, progression: tuple[int, ...] = (0, 5, 3, 4), dynamics: float = 1.0) -> mido.MidiFile:
    """A random diatonic melody over a chord per bar (``progression``: scale degrees) in a
    random key and tempo; every velocity times ``dynamics``."""
    bpm = float(rng.uniform(80, 140))
    beat = 60.0 / bpm
    tonic = 48 + int(rng.integers(0, 12))
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    events = []
    for bar, start in enumerate(np.arange(0.0, seconds, 4 * beat)):
        root = int(scale[progression[bar % len(progression)]])
        if chords is not None:
            for interval in (0, 4 if root in (0, 5, 7) else 3, 7):
                events.append((start, 4 * beat * 0.95, 1, tonic + root + interval, 70))
        if melody is not None:
            t = start
            while t < start + 4 * beat:
                length = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
                events.append((t, length * 0.9, 0, tonic + 12 + int(rng.choice(scale)), int(rng.integers(80, 110))))
                t += length
        if drums:
            for step in range(8):
                t = start + step * beat / 2
                events.append((t, 0.1, 9, 42, 60))
                if step % 4 == 0:
                    events.append((t, 0.1, 9, 36, 110))
                elif step % 4 == 2:
                    events.append((t, 0.1, 9, 38, 100))
    programs = {0: melody or 0, 1: chords or 0}
    return _midi([(*event[:4], min(127, max(1, round(event[4] * dynamics)))) for event in events], programs, kit)


def _midi(events: list[tuple[float, float, int, int, int]], programs: dict[int, int], kit: int) -> mido.MidiFile:
    """events: (start s, length s, channel, note, velocity) at 120 bpm (a beat is 0.5 s)."""
    per_s = 2 * _TICKS
    timed = []
    for start, length, channel, note, velocity in events:
        timed.append((int(start * per_s), mido.Message("note_on", channel=channel, note=note, velocity=velocity)))
        timed.append((int((start + length) * per_s), mido.Message("note_off", channel=channel, note=note)))
    return corpus.sequence(timed, 120, {**programs, 9: kit}, _TICKS)


def _load(path: Path) -> np.ndarray:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(audio.mean(axis=1), sr, SR).astype(np.float32)


def _trim(audio: np.ndarray, seconds: float) -> np.ndarray:
    """From the first sample above −50 dB of the peak, ``seconds`` long."""
    loud = np.flatnonzero(np.abs(audio) > 10 ** (-50 / 20) * max(float(np.max(np.abs(audio))), 1e-9))
    start = int(loud[0]) if len(loud) else 0
    return np.pad(audio[start:], (0, int(seconds * SR)))[: int(seconds * SR)].astype(np.float32)


def _rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64)))) if len(signal) else 0.0


def _at_level(signal: np.ndarray, rms_dbfs: float) -> np.ndarray:
    return (signal / max(_rms(signal), 1e-12) * 10 ** (rms_dbfs / 20)).astype(np.float32)
