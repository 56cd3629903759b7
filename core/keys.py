"""Musical keys: names, pitch classes, the Camelot wheel, and key profiles.

A key is a tonic pitch class (0 = C … 11 = B) and a mode (``"major"`` or ``"minor"``).
Names use one spelling per pitch class: C C# D Eb E F F# G Ab A Bb B.
"""

from __future__ import annotations

import re

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = ("major", "minor")
_ALIASES = {"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "B#": 0, "E#": 5, "Fb": 4}

#: Key profiles: 12 weights for the scale degrees from the tonic up, major then minor.
#: Krumhansl & Kessler (1982), probe-tone ratings.
KRUMHANSL = (
    (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
    (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
)
#: Temperley (2007), Kostka–Payne corpus frequencies.
TEMPERLEY = (
    (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
    (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
)
#: Albrecht & Shanahan (2013), a corpus of common-practice pieces.
ALBRECHT = (
    (0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081),
    (0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052),
)
PROFILES = {"krumhansl": KRUMHANSL, "temperley": TEMPERLEY, "albrecht": ALBRECHT}


def pitch_class(name: str) -> int:
    """``"F#"`` → 6. Raises ValueError for an unknown name."""
    name = name.strip()
    if name in PITCH_CLASSES:
        return PITCH_CLASSES.index(name)
    if name in _ALIASES:
        return _ALIASES[name]
    raise ValueError(f"unknown pitch class {name!r}")


def key_name(tonic: int, mode: str) -> str:
    """(9, "minor") → ``"A minor"``."""
    return f"{PITCH_CLASSES[tonic % 12]} {mode}"


#: A key as people write it: a letter, an accidental, and a mode word (a lone lower-case
#: ``m`` is minor; "M" is left out, as some write it for major and some for minor).
_KEY = re.compile(r"([A-Ga-g])([#b♯♭]?)\s*((?i:major|maj|minor|min)|m)?")
#: Spaces and case do not matter in a Camelot code ("8A", "8a", "8 A", "08A").
_CAMELOT = re.compile(r"(\d{1,2})\s*([ABab])")


def parse_key(text: str) -> tuple[int, str]:
    """A key as a user writes it → (tonic, mode): ``"A minor"``, ``"a minor"``, ``"Am"``,
    ``"A min"``, ``"F# major"``, ``"F#maj"``, ``"Bb"``, ``"f#"``, ``"E♭"``, or a Camelot code
    ``"8A"`` (``"8a"``, ``"8 A"``). A key without a mode is major. Raises ValueError."""
    text = text.strip()
    if camelot_code := _CAMELOT.fullmatch(text):
        return from_camelot("".join(camelot_code.groups()))
    found = _KEY.fullmatch(text)
    if found is None:
        raise ValueError(f"unknown key {text!r}")
    letter, accidental, mode = found.groups()
    tonic = pitch_class(letter.upper() + {"♯": "#", "♭": "b"}.get(accidental, accidental))
    return tonic, "minor" if mode and mode.lower() in ("m", "min", "minor") else "major"


def camelot(tonic: int, mode: str) -> str:
    """The Camelot wheel code: C major → ``"8B"``, A minor → ``"8A"``."""
    major_tonic = tonic if mode == "major" else (tonic + 3) % 12
    number = (major_tonic * 7 + 7) % 12 + 1
    return f"{number}{'B' if mode == 'major' else 'A'}"


def from_camelot(code: str) -> tuple[int, str]:
    """``"8A"`` → (9, "minor")."""
    number, letter = int(code[:-1]), code[-1].upper()
    if not 1 <= number <= 12 or letter not in ("A", "B"):
        raise ValueError(f"unknown Camelot code {code!r}")
    major_tonic = ((number - 1 - 7) * 7) % 12  # 7 is its own inverse mod 12
    return (major_tonic, "major") if letter == "B" else ((major_tonic - 3) % 12, "minor")


def compatible(tonic: int, mode: str) -> list[tuple[int, str]]:
    """Harmonically compatible keys (Camelot neighbours): itself, ±1 on the wheel, the relative key."""
    code = camelot(tonic, mode)
    number, letter = int(code[:-1]), code[-1]
    codes = [code, f"{number % 12 + 1}{letter}", f"{(number - 2) % 12 + 1}{letter}",
             f"{number}{'A' if letter == 'B' else 'B'}"]
    return [from_camelot(c) for c in codes]


def search_names(text: str, with_compatible: bool = False) -> tuple[str, ...]:
    """The key names a search for ``text`` (a key, "A minor", or a Camelot code, "8A")
    matches: that key, and its :func:`compatible` keys when asked. Raises ValueError."""
    try:
        tonic, mode = parse_key(text)
    except ValueError as exc:
        raise ValueError(f"unknown key {text!r}: use e.g. 'A minor', 'F#' or '8A'") from exc
    found = compatible(tonic, mode) if with_compatible else [(tonic, mode)]
    return tuple(key_name(t, m) for t, m in found)


def estimate(chroma: np.ndarray, profile: str = "temperley") -> tuple[int, str, float, np.ndarray]:
    """Best key for a 12-bin chroma vector by correlation with rotated key profiles.

    chroma: float [12], energy per pitch class C … B. Returns (tonic, mode, strength,
    scores) where strength is the winning correlation (−1 … 1) and scores is float
    [2, 12]: correlation of every (mode, tonic).
    """
    vector = np.asarray(chroma, dtype=np.float64)
    scores = np.full((2, 12), -1.0)
    if np.ptp(vector) > 0:
        for m, weights in enumerate(PROFILES[profile]):
            for tonic in range(12):
                scores[m, tonic] = np.corrcoef(vector, np.roll(weights, tonic))[0, 1]
    mode_index, tonic = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(tonic), MODES[mode_index], float(scores[mode_index, tonic]), scores


def mirex_score(estimated: tuple[int, str], reference: tuple[int, str]) -> float:
    """MIREX weighted key score: 1 exact, 0.5 fifth, 0.3 relative, 0.2 parallel, else 0."""
    (tonic, mode), (ref_tonic, ref_mode) = estimated, reference
    if (tonic, mode) == (ref_tonic, ref_mode):
        return 1.0
    if mode == ref_mode and (tonic - ref_tonic) % 12 in (5, 7):
        return 0.5
    relative = (ref_tonic + 9) % 12 if ref_mode == "major" else (ref_tonic + 3) % 12
    if mode != ref_mode and tonic == relative:
        return 0.3
    if mode != ref_mode and tonic == ref_tonic:
        return 0.2
    return 0.0
