"""The accuracy benchmark's corpus, generated at benchmark time and never committed.

- **Key pieces**: Bach chorales from music21's corpus, transposed so that the set covers
  all twelve tonics in both modes, each played by a General MIDI instrument; the
  reference key is music21's own analysis of the transposed score.
- **Rhythm clips**: drum kit, bass and chords in 2/4, 3/4, 4/4 and 6/8 at many tempos;
  the reference is the pattern's tempo (for 6/8 the dotted quarter, the felt beat) and
  its time signature.

MIDI is rendered to 44.1 kHz WAV by fluidsynth with Debian's FluidR3 General MIDI
soundfont (``make bench`` installs both). Rendered files are cached in a folder and
reused.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

SR = 44_100
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: General MIDI programs the chorales are played with: piano, church organ, strings,
#: nylon guitar. Choir "aah" and clarinet, whose third harmonic is strong, pulled both
#: methods towards the dominant on some chorales while the corpus was being chosen:
#: they are rendered as a separate set and reported apart.
CHORALE_PROGRAMS = (0, 19, 48, 24)
HARD_PROGRAMS = (52, 71)
CHORALE_BPM = 90
TICKS = 480
DRUM_CHANNEL = 9
KICK, SNARE, HAT, CRASH = 36, 38, 42, 49


class CorpusError(RuntimeError):
    """The corpus cannot be made on this machine (a missing tool or soundfont)."""


@dataclass(frozen=True)
class KeyPiece:
    name: str
    path: Path
    tonic: int  #: pitch class 0 … 11, C = 0
    mode: str  #: "major" or "minor"


@dataclass(frozen=True)
class RhythmClip:
    name: str
    path: Path
    bpm: float  #: the felt beat; the dotted quarter in 6/8
    time_signature: str  #: "2/4", "3/4", "4/4" or "6/8"

    @property
    def beats_per_bar(self) -> int:
        return int(self.time_signature.split("/")[0])


def render(midi_path: Path, wav_path: Path, soundfont: Path = SOUNDFONT) -> Path:
    """Render a MIDI file to a 44.1 kHz stereo WAV with fluidsynth and ``soundfont`` (cached)."""
    if wav_path.exists():
        return wav_path
    if shutil.which("fluidsynth") is None or not soundfont.exists():
        raise CorpusError(f"fluidsynth and {soundfont} are needed: run `make bench`, which installs them")
    partial = wav_path.with_suffix(".partial.wav")
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(SR), "-F", str(partial), str(soundfont),
                    str(midi_path)], check=True, capture_output=True)
    partial.rename(wav_path)
    return wav_path


# ---------------------------------------------------------------------- key pieces

def key_pieces(folder: Path, count: int = 48, programs: tuple[int, ...] = CHORALE_PROGRAMS) -> list[KeyPiece]:
    """``count`` chorales (half major, half minor) transposed over the twelve tonics,
    played in turn by the General MIDI ``programs``."""
    from music21 import corpus

    folder.mkdir(parents=True, exist_ok=True)
    wanted = {"major": count // 2, "minor": count - count // 2}
    pieces: list[KeyPiece] = []
    for source in sorted(corpus.getComposer("bach")):
        if not any(wanted.values()):
            break
        score = corpus.parse(source)
        if len(score.parts) < 4:
            continue
        mode = score.analyze("key").mode
        if wanted.get(mode, 0) == 0:
            continue
        wanted[mode] -= 1
        index = sum(1 for piece in pieces if piece.mode == mode)
        pieces.append(_key_piece(score, Path(source).stem, folder, target_tonic=(7 * index) % 12,
                                 program=programs[len(pieces) % len(programs)]))
    return pieces


def _key_piece(score, stem: str, folder: Path, target_tonic: int, program: int) -> KeyPiece:
    """Transpose ``score`` so that its analysed key has ``target_tonic``; render it."""
    from music21 import instrument, tempo

    shift = (target_tonic - score.analyze("key").tonic.pitchClass) % 12
    shift = shift - 12 if shift > 6 else shift
    score = score.transpose(shift)
    key = score.analyze("key")
    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        mark.activeSite.remove(mark)
    score.parts[0].insert(0, tempo.MetronomeMark(number=CHORALE_BPM))
    name = f"{stem}_{key.tonic.pitchClass:02d}{key.mode}_p{program}"
    midi_path = folder / f"{name}.mid"
    if not midi_path.exists():
        for part in score.parts:
            for old in part.recurse().getElementsByClass(instrument.Instrument):
                old.activeSite.remove(old)
            part.insert(0, instrument.instrumentFromMidiProgram(program))
        score.write("midi", fp=str(midi_path))
    return KeyPiece(name, render(midi_path, folder / f"{name}.wav"), key.tonic.pitchClass, key.mode)


# ---------------------------------------------------------------------- rhythm clips

#: Per time signature: grid steps per bar, steps per felt beat, and the drum hits per
#: step (kick on the bar's first step, snare on the off-beats, hats on every step).
PATTERNS = {
    "2/4": (4, 2, {0: (KICK, HAT, CRASH), 2: (SNARE, HAT)}),
    "3/4": (6, 2, {0: (KICK, HAT, CRASH), 2: (SNARE, HAT), 4: (SNARE, HAT)}),
    "4/4": (8, 2, {0: (KICK, HAT, CRASH), 2: (SNARE, HAT), 4: (KICK, HAT), 6: (SNARE, HAT)}),
    "6/8": (6, 3, {0: (KICK, HAT, CRASH), 3: (SNARE, HAT)}),
}
#: Tempos (felt beats per minute) per time signature: what music in it commonly uses.
#: The evaluation split; the tuning split (for choosing thresholds) sits 6 bpm above.
TEMPOS = {
    "2/4": (80, 92, 104, 116, 128, 140, 152, 164),
    "3/4": (84, 96, 108, 120, 132, 144, 156, 168),
    "4/4": (70, 82, 94, 106, 118, 130, 142, 154, 166, 178),
    "6/8": (52, 58, 64, 70, 76, 82, 88, 94),
}
#: Chord roots of the bars (semitones above C): bass and harmony change with the bar.
_PROGRESSION = (0, 9, 5, 7)


def rhythm_clips(folder: Path, seconds: float = 30.0, split: str = "eval") -> list[RhythmClip]:
    """Every time signature at each of its tempos: 34 clips of ``seconds``.

    split: ``eval`` (the reported figures) or ``tune`` (other tempos and velocities, for
    choosing a method's thresholds without looking at the evaluation clips).
    """
    folder.mkdir(parents=True, exist_ok=True)
    offset, seed = {"eval": (0, 0), "tune": (6, 1000)}[split]
    clips = []
    for signature, tempos in TEMPOS.items():
        for index, base in enumerate(tempos):
            bpm = base + offset
            name = f"rhythm_{split}_{signature.replace('/', '-')}_{bpm}"
            midi_path = folder / f"{name}.mid"
            if not midi_path.exists():
                rhythm_midi(signature, bpm, seconds, seed=seed + index).save(midi_path)
            clips.append(RhythmClip(name, render(midi_path, folder / f"{name}.wav"), float(bpm), signature))
    return clips


def rhythm_midi(signature: str, bpm: float, seconds: float, seed: int) -> mido.MidiFile:
    """Drums (channel 10), a bass note and a chord per bar, with slightly varied velocity."""
    steps_per_bar, steps_per_beat, hits = PATTERNS[signature]
    step_ticks = TICKS // steps_per_beat  # a beat is TICKS long
    rng = np.random.default_rng(seed)
    events: list[tuple[int, mido.Message]] = []

    def note(tick: int, length: int, channel: int, pitch: int, velocity: int) -> None:
        events.append((tick, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
        events.append((tick + length, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))

    bars = int(np.ceil(seconds * bpm / 60 / (steps_per_bar / steps_per_beat)))
    for bar in range(bars):
        start = bar * steps_per_bar * step_ticks
        root = 36 + _PROGRESSION[bar % len(_PROGRESSION)]
        minor = _PROGRESSION[bar % len(_PROGRESSION)] == 9
        note(start, steps_per_bar * step_ticks - 10, 0, root, 100)
        for interval in (12, 15 if minor else 16, 19):
            note(start, steps_per_bar * step_ticks - 10, 1, root + interval, 70)
        for step in range(steps_per_bar):
            for drum in hits.get(step, (HAT,)):
                if drum == CRASH and bar % 4:
                    continue
                accent = 110 if step == 0 else 90 if drum != HAT else 60
                note(start + step * step_ticks, step_ticks // 2, DRUM_CHANNEL, drum,
                     int(np.clip(accent + rng.integers(-8, 9), 1, 127)))
    return sequence(events, bpm, {0: 33, 1: 4})


def sequence(events: list[tuple[int, mido.Message]], bpm: float, programs: dict[int, int],
             ticks_per_beat: int = TICKS) -> mido.MidiFile:
    """A one-track MIDI file from messages at absolute ticks, with the tempo and a General
    MIDI program per channel (``{channel: program}``); at equal ticks note-offs go first."""
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)])
    track += [mido.Message("program_change", channel=c, program=p, time=0) for c, p in programs.items()]
    now = 0
    for tick, message in sorted(events, key=lambda event: (event[0], event[1].type == "note_on")):
        track.append(message.copy(time=tick - now))
        now = tick
    song = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    song.tracks.append(track)
    return song


def iter_audio(paths: list[Path], sr: int) -> Iterator[tuple[Path, np.ndarray]]:
    """Decode each rendered file to float32 mono at ``sr`` Hz, as the engine would."""
    from core.audio import decode

    for path in paths:
        yield path, decode(path, sr)
