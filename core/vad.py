"""Speech activity with silero-vad (MIT): its ONNX model ships in the ``silero-vad``
package and runs with onnxruntime on one thread; nothing is downloaded.

The model gives a speech probability for every 32 ms frame (512 samples at 16 000 Hz);
:func:`speech_spans` turns them into speech spans with silero's own hysteresis and its
defaults (a span starts at 0.5, ends after 100 ms under 0.35, and spans shorter than
250 ms are dropped), so boundaries are good to one frame.
"""

from __future__ import annotations

import functools
import importlib.metadata

import numpy as np

from core import windows

SAMPLE_RATE = 16_000
FRAME = 512
FRAME_S = FRAME / SAMPLE_RATE
#: Samples of the previous frame the model sees with each frame.
CONTEXT = 64
THRESHOLD = 0.5
NEG_THRESHOLD = 0.35
MIN_SILENCE_S = 0.1
MIN_SPEECH_S = 0.25
DISTRIBUTION = "silero-vad"
MODEL_FILE = "silero_vad/data/silero_vad.onnx"
#: Frames resampled together (about a minute).
BLOCK_FRAMES = 1875


class VadUnavailable(RuntimeError):
    """silero-vad is not installed or its model does not load."""


class Vad:
    """silero-vad's ONNX model in an onnxruntime session; one per process (see :func:`get`)."""

    def __init__(self) -> None:
        import onnxruntime

        try:
            model = importlib.metadata.distribution(DISTRIBUTION).locate_file(MODEL_FILE).read_bytes()
        except (importlib.metadata.PackageNotFoundError, OSError) as exc:
            raise VadUnavailable(f"silero-vad's {MODEL_FILE} is not installed: {exc}") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # workers are processes; one core each
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def probabilities(self, audio: np.ndarray, sr: int) -> np.ndarray:
        """audio: float32 [n_samples] at ``sr`` Hz → float32 [n_frames], the speech
        probability of each 32 ms frame (the last one zero-padded), read a minute at a time.

        Each frame goes to the model with the 64 samples before it and the recurrent state
        the previous frame left, as silero's own wrapper does."""
        n_frames = -(-windows.length_at(len(audio), sr, SAMPLE_RATE) // FRAME)
        probs = np.empty(n_frames, np.float32)
        state = np.zeros((2, 1, 128), np.float32)
        rate = np.array(SAMPLE_RATE, np.int64)
        context = np.zeros(CONTEXT, np.float32)
        i = 0
        for block in windows.blocks(audio, sr, SAMPLE_RATE, BLOCK_FRAMES * FRAME):
            for frame in block.reshape(-1, FRAME)[: n_frames - i]:
                model_input = np.concatenate([context, frame])[None]
                out, state = self._session.run(None, {"input": model_input, "state": state, "sr": rate})
                probs[i] = out[0, 0]
                context = frame[-CONTEXT:]
                i += 1
        return probs


def model_name() -> str:
    """Name and version of the model, stored beside every result that uses it."""
    try:
        return f"silero-vad {importlib.metadata.version(DISTRIBUTION)} (onnx)"
    except importlib.metadata.PackageNotFoundError:
        return "silero-vad (missing)"


@functools.cache
def get() -> Vad:
    """The process's one VAD model (a plugin's ``warm_up`` loads it)."""
    return Vad()


def speech_spans(probs: np.ndarray) -> list[tuple[float, float]]:
    """probs: float32 [n_frames] from :meth:`Vad.probabilities` → speech spans
    ``[(start_s, end_s)]`` in time order."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    quiet_from: int | None = None
    for i, p in enumerate(probs):
        if p >= THRESHOLD:
            quiet_from = None
            if start is None:
                start = i
        elif start is not None and p < NEG_THRESHOLD:
            quiet_from = i if quiet_from is None else quiet_from
            if (i + 1 - quiet_from) * FRAME_S >= MIN_SILENCE_S:
                spans.append((start, quiet_from))
                start = quiet_from = None
    if start is not None:
        spans.append((start, quiet_from if quiet_from is not None else len(probs)))
    return [(a * FRAME_S, b * FRAME_S) for a, b in spans if (b - a) * FRAME_S >= MIN_SPEECH_S]


def coverage(spans: list[tuple[float, float]], start_s: float, end_s: float) -> float:
    """Share of ``[start_s, end_s)`` inside ``spans``, 0 … 1."""
    if end_s <= start_s:
        return 0.0
    inside = sum(max(0.0, min(b, end_s) - max(a, start_s)) for a, b in spans)
    return min(1.0, inside / (end_s - start_s))
