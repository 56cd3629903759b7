"""Fuzzing (hypothesis): random and mutated bytes through the decoder, random signals
through region detection.

The decoder runs as in production: ``core.tasks:decode_file`` (probe, streamed decode,
regions, waveform) in a sandbox worker with its memory cap, so a decoder that segfaults,
hangs or allocates without bound shows up as an outcome instead of killing the test run.
Anything but ``ok`` or a typed :class:`core.audio.AudioError` is a crasher.

``make test`` runs a few examples of each property; ``make fuzz`` runs thousands
(``FUZZ_EXAMPLES``). Crashers found become ``@example``\\s here.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core import audio, regions
from core.config import SAMPLE_RATE, RegionSettings
from core.engine import AUDIO_EXTENSIONS
from core.pcm import PcmFile
from core.sandbox import Sandbox
from tests import audio_factory as af
from tests.broken_files import wav_header

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: What a decoding may raise: the typed errors, by the name the sandbox reports.
TYPED_ERRORS = {cls.__name__ for cls in (audio.AudioError, *audio.AudioError.__subclasses__())}
SEED_FORMATS = (".wav", ".aiff", ".flac", ".mp3", ".ogg", ".opus", ".m4a")
#: Values that tend to sit in size, rate and count fields.
_EDGES = [0, 1, 2, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(1, preload=("core.tasks",)) as box:
        yield box


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(workdir: Path) -> dict[str, bytes]:
    """A short valid stereo file in each format, to mutate."""
    source = np.stack([af.music(0.3), af.noise(0.3)], axis=1)
    return {ext: af.write(workdir / f"seed{ext}", source).read_bytes() for ext in SEED_FORMATS}


def decode_outcome(sandbox: Sandbox, folder: Path, data: bytes, ext: str) -> str:
    """Decode ``data`` as a file named ``*ext`` in a worker; returns ``ok`` or the error
    type, after checking that an ``ok`` result is consistent."""
    path, pcm = folder / f"input{ext}", folder / "decoded.f32"
    path.write_bytes(data)
    try:
        result = sandbox.call("core.tasks:decode_file",
                              {"path": str(path), "pcm_path": str(pcm), "sr": SAMPLE_RATE, "max_duration_s": 3600.0,
                               "region_settings": RegionSettings().model_dump()},
                              timeout_s=60, memory_mb=1024)
    finally:
        pcm.unlink(missing_ok=True)
    if not result.ok:
        assert result.error_type in TYPED_ERRORS, f"{result.status}: {result.error_type}: {result.error}"
        assert result.error and len(result.error) < 400
        return result.error_type
    value = result.value
    n = value["n_samples"]
    assert n > 0 and value["info"]["duration_s"] == pytest.approx(n / SAMPLE_RATE)
    assert all(0 <= start < stop <= n for start, stop in value["regions"])
    assert value["waveform"]["overview"]["length"] <= 1000
    return "ok"


@FUZZ
@given(data=st.binary(max_size=4096), ext=st.sampled_from(sorted(AUDIO_EXTENSIONS)))
@example(data=wav_header(1, 44_100, data_bytes=800, tag=0x1234) + bytes(800), ext=".wav")  # a930e5b
def test_random_bytes_never_crash_the_decoder(sandbox: Sandbox, workdir: Path, data: bytes, ext: str) -> None:
    decode_outcome(sandbox, workdir, data, ext)


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[int, bytes]]:
    """Where and what to overwrite: mostly inside the header, sometimes anywhere;
    random bytes or a 16/32-bit edge value in either byte order."""
    edits = []
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.one_of(st.integers(0, min(size, 512) - 1), st.integers(0, size - 1)))
        value = draw(st.sampled_from(_EDGES))
        what = draw(st.one_of(st.binary(min_size=1, max_size=16),
                              st.sampled_from([struct.pack(f"{order}{kind}", value & mask)
                                               for order in "<>" for kind, mask in (("I", 0xFFFFFFFF),
                                                                                     ("H", 0xFFFF))])))
        edits.append((at, what))
    return edits


@FUZZ
@given(ext=st.sampled_from(SEED_FORMATS), data=st.data())
def test_mutated_valid_files_never_crash_the_decoder(sandbox: Sandbox, workdir: Path, seeds: dict[str, bytes],
                                                     ext: str, data: st.DataObject) -> None:
    mutated = bytearray(seeds[ext])
    for at, what in data.draw(mutations(len(mutated)), label="edits"):
        mutated[at:at + len(what)] = what
    cut = data.draw(st.none() | st.integers(0, len(mutated)), label="cut")
    decode_outcome(sandbox, workdir, bytes(mutated[:cut]), ext)


# ---------------------------------------------------------------------- region detection


@st.composite
def region_settings(draw: st.DrawFn) -> RegionSettings:
    return RegionSettings(
        frame_s=draw(st.floats(1 / SAMPLE_RATE, 0.2)), relative_db=draw(st.floats(0.1, 120)),
        reference_percentile=draw(st.floats(0.1, 100)), floor_db=draw(st.floats(-150, 0)),
        min_silence_s=draw(st.floats(0, 1)), min_region_s=draw(st.floats(0, 1)), padding_s=draw(st.floats(0, 0.5)))


@st.composite
def signals(draw: st.DrawFn) -> np.ndarray:
    """Segments of silence, tone, noise, DC and square wave at random levels; or raw samples."""
    if draw(st.booleans()):
        return draw(arrays(np.float32, st.integers(0, 4000), elements=st.floats(-4, 4, width=32)))
    parts = [np.zeros(0, np.float32)]
    for kind, seconds, level_db in draw(st.lists(st.tuples(st.sampled_from(["silence", "tone", "noise", "dc",
                                                                             "square"]),
                                                           st.floats(0, 1.5), st.floats(-140, 12)), max_size=6)):
        n = int(seconds * SAMPLE_RATE)
        gain = np.float32(10 ** (level_db / 20))
        t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
        parts.append({"silence": np.zeros(n, np.float32), "tone": gain * np.sin(2 * np.pi * 440 * t),
                      "noise": gain * np.random.default_rng(n).standard_normal(n).astype(np.float32),
                      "dc": np.full(n, gain, np.float32), "square": gain * np.sign(np.sin(2 * np.pi * 50 * t))}[kind])
    return np.concatenate(parts).astype(np.float32)


@FUZZ
@given(signal=signals(), config=region_settings())
def test_regions_are_ordered_disjoint_long_enough_and_inside_the_file(signal: np.ndarray,
                                                                       config: RegionSettings) -> None:
    found = regions.detect(signal, SAMPLE_RATE, config)
    n = len(signal)
    assert [r.index for r in found] == list(range(len(found)))
    assert all(0 <= r.start < r.stop <= n for r in found)
    assert all(a.stop <= b.start for a, b in zip(found, found[1:], strict=False))
    assert all(r.stop - r.start >= config.min_region_s * SAMPLE_RATE for r in found)
    with np.errstate(divide="ignore"):
        peak_db = 20 * np.log10(float(np.max(np.abs(signal), initial=0.0)))  # float64, as the floor
    if peak_db <= config.floor_db:
        assert found == []  # nothing above the floor: no region, and no error


@FUZZ
@given(signal=signals(), config=region_settings())
def test_regions_from_disk_match_regions_in_memory(signal: np.ndarray, config: RegionSettings) -> None:
    """The decoded file is read back in chunks: the same regions as from the whole array."""
    with tempfile.TemporaryDirectory() as folder:
        pcm = PcmFile.write(Path(folder) / "x.f32", [signal], SAMPLE_RATE)
        assert regions.detect(pcm, SAMPLE_RATE, config) == regions.detect(signal, SAMPLE_RATE, config)
