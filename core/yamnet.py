"""YAMNet (AudioSet, 521 classes) from the int8 ONNX export bundled in the ``sead`` package.

One place for the model shared by the content, classifier and embeddings plugins: the
log-mel front end (written here with NumPy, after YAMNet's own ``features.py``), the
ONNX session (loaded once per process, one thread) and the class names.

Front end: 16 000 Hz mono; STFT with a 25 ms periodic Hann window (400 samples), 10 ms
hop (160), 512-point FFT, magnitude; 64 HTK mel bands from 125 to 7 500 Hz (TensorFlow's
``linear_to_mel_weight_matrix``: triangles in mel, the DC bin left out);
``log(mel + 0.001)``; patches of 96 frames (0.96 s) every 48 frames (0.48 s), the
audio zero-padded so that every sample is in a patch. The model takes one patch at a
time, quantised to uint8 with the scale and zero point stored in the graph (whose
range, −6.9 … 5.3, is exactly ``log(0.001)`` upwards: the front end it was calibrated on).

Two internal tensors are exposed as extra graph outputs: the classifier's float logits
(``class_scores_updated``, before the output is quantised to steps of 0.76) and the
1024-d embedding (``/model/Reshape_output_0_qdq``, the pooled last convolution). For the
multi-layer embedding (:attr:`YamnetOutput.layers`), the outputs of the layers at the
quartile boundaries of the network's depth (:data:`LAYERS`: 4, 7 and 11 of its 14
convolution layers, each averaged over time and frequency by a ``ReduceMean`` added to
the graph) are outputs too; the fourth quartile is the last layer, the embedding itself.
Nothing is downloaded: the weights come from the installed ``sead`` distribution.
"""

from __future__ import annotations

import csv
import functools
import importlib.metadata
import io
import zipfile
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.special

from core import windows
from core.pcm import PcmFile

SAMPLE_RATE = 16_000
WINDOW = 400
HOP = 160
N_FFT = 512
N_MELS = 64
FMIN_HZ, FMAX_HZ = 125.0, 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96
PATCH_HOP_FRAMES = 48
#: Length and hop of one patch, seconds.
PATCH_S = PATCH_FRAMES * HOP / SAMPLE_RATE
PATCH_HOP_S = PATCH_HOP_FRAMES * HOP / SAMPLE_RATE
#: Samples at 16 000 Hz that one patch reads (0.975 s), and between patch starts.
PATCH_SAMPLES = (PATCH_FRAMES - 1) * HOP + WINDOW
PATCH_HOP_SAMPLES = PATCH_HOP_FRAMES * HOP
#: Patches computed together (about a minute of audio): memory stays flat with length.
BLOCK_PATCHES = 128
N_CLASSES = 521
EMBEDDING_SIZE = 1024
#: YAMNet's convolution layers (a full convolution, then 13 depthwise-separable ones).
DEPTH = 14
#: The layers at the quartile boundaries of the depth (14·q/4 rounded up, q = 1 … 4).
LAYERS = tuple(-(-DEPTH * q // 4) for q in (1, 2, 3, 4))
#: Channels of each layer in ``LAYERS``: the multi-layer embedding is their concatenation.
LAYER_SIZES = (128, 512, 512, 1024)

DISTRIBUTION = "sead"
MODEL_FILE = "sead/data/YamNet_w8a8.onnx.zip"
CLASS_MAP_FILE = "sead/data/yamnet_class_map.csv"
LOGITS_OUTPUT = "class_scores_updated"
EMBEDDING_OUTPUT = "/model/Reshape_output_0_qdq"
INPUT_SCALE, INPUT_ZERO_POINT = "audio_scale", "audio_zero_point"


class YamnetUnavailable(RuntimeError):
    """The bundled model cannot be found or loaded (``sead`` missing or changed)."""


@dataclass(frozen=True)
class YamnetOutput:
    """What YAMNet says about one stretch of audio, patch by patch.

    scores: float32 [n_patches, 521], sigmoid probabilities of the AudioSet classes.
    embeddings: float32 [n_patches, 1024], not normalised.
    starts_s: float64 [n_patches], start of each 0.96 s patch, seconds from the audio's start.
    layers: float32 [n_patches, 2176] when asked for (``run(..., layers=True)``), else None:
    per patch, each layer of ``LAYERS`` averaged over its time × frequency positions,
    concatenated in that order (128 + 512 + 512 + 1024 values; the last block is ``embeddings``).
    """

    scores: np.ndarray
    embeddings: np.ndarray
    starts_s: np.ndarray
    layers: np.ndarray | None = None


def model_name() -> str:
    """Name and version of the weights, stored beside every result that uses them."""
    return f"yamnet-int8 (sead {_sead_version()})"


def layers_model_name() -> str:
    """Name and version of the multi-layer embedding (the layers it concatenates)."""
    return f"yamnet-int8 layers {','.join(map(str, LAYERS))} (sead {_sead_version()})"


def n_patches(n_samples: int, sr: int) -> int:
    """Patches YAMNet makes of ``n_samples`` at ``sr`` Hz: the audio zero-padded to one
    patch, then to whole patch hops (as YAMNet's own ``pad_waveform`` does)."""
    extra = max(0, windows.length_at(n_samples, sr, SAMPLE_RATE) - PATCH_SAMPLES)
    return 1 + -(-extra // PATCH_HOP_SAMPLES)


def log_mel(audio16: np.ndarray) -> np.ndarray:
    """audio16: float32 [n_samples] at 16 000 Hz → float32 [n_frames, 64], natural log of
    magnitude mel energies + 0.001, one frame per 10 ms (no centring: frame i starts at
    sample 160·i)."""
    if len(audio16) < WINDOW:
        return np.zeros((0, N_MELS), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(audio16, WINDOW)[::HOP]
    magnitude = np.abs(scipy.fft.rfft(frames * _hann(), n=N_FFT, axis=-1))
    return np.log(magnitude @ _mel_matrix() + LOG_OFFSET).astype(np.float32)


def patches(mel: np.ndarray) -> np.ndarray:
    """mel: float32 [n_frames ≥ 96, 64] → float32 [n_patches, 96, 64]."""
    view = np.lib.stride_tricks.sliding_window_view(mel, PATCH_FRAMES, axis=0)[::PATCH_HOP_FRAMES]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


class Yamnet:
    """The ONNX session with the two extra outputs; one per process (see :func:`get`)."""

    def __init__(self) -> None:
        import onnxruntime

        graph, scale, zero_point = _load_graph()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # workers are processes; one core each
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._scale, self._zero_point = scale, zero_point
        self.classes = class_names()

    def run(self, audio: np.ndarray | PcmFile, sr: int, layers: bool = False, gain: float = 1.0) -> YamnetOutput:
        """audio: float32 [n_samples] at ``sr`` Hz, any length (zero-padded to whole patches),
        read ``BLOCK_PATCHES`` patches at a time, each multiplied by ``gain``; ``layers``:
        also the multi-layer embedding."""
        count = n_patches(len(audio), sr)
        logits = np.empty((count, N_CLASSES), np.float32)
        embeddings = np.empty((count, EMBEDDING_SIZE), np.float32)
        pooled = np.empty((count, sum(LAYER_SIZES)), np.float32) if layers else None
        outputs = [LOGITS_OUTPUT, EMBEDDING_OUTPUT, *(_pooled_output(n) for n in LAYERS[:-1] if layers)]
        for first in range(0, count, BLOCK_PATCHES):
            last = min(count, first + BLOCK_PATCHES)
            start = first * PATCH_HOP_SAMPLES
            audio16 = windows.window(audio, sr, SAMPLE_RATE, start, (last - 1) * PATCH_HOP_SAMPLES + PATCH_SAMPLES)
            if gain != 1.0:
                audio16 *= np.float32(gain)
            block = patches(log_mel(audio16))
            quantised = np.clip(np.round(block / self._scale + self._zero_point), 0, 255).astype(np.uint8)
            for i, patch in enumerate(quantised, start=first):
                found = self._session.run(outputs, {self._input: patch[None, None]})
                logits[i], embeddings[i] = found[0][0], found[1][0]
                if pooled is not None:
                    pooled[i] = np.concatenate([value.reshape(-1) for value in found[2:]] + [embeddings[i]])
        return YamnetOutput(scipy.special.expit(logits), embeddings, np.arange(count) * PATCH_HOP_S, pooled)


@functools.cache
def get() -> Yamnet:
    """The process's one YAMNet session (a plugin's ``warm_up`` creates it)."""
    return Yamnet()


@functools.cache
def class_names() -> tuple[str, ...]:
    """The 521 AudioSet display names, in the model's output order."""
    text = _distribution_file(CLASS_MAP_FILE).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    if len(rows) != N_CLASSES:
        raise YamnetUnavailable(f"{CLASS_MAP_FILE} has {len(rows)} classes, not {N_CLASSES}")
    return tuple(row["display_name"] for row in rows)


def covering(starts_s: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """bool [n_times, n_patches]: which of the patches starting at ``starts_s`` cover each
    of ``times_s`` (seconds; each moment is in two patches, the first and last half-hop in
    one); the nearest patch where none does (past the last patch)."""
    times = np.asarray(times_s, np.float64)[:, None]
    covers = (starts_s[None, :] <= times) & (times < starts_s[None, :] + PATCH_S)
    nearest = np.abs(starts_s[None, :] + PATCH_S / 2 - times).argmin(axis=1)
    covers[np.arange(len(times)), nearest] |= ~covers.any(axis=1)
    return covers


def class_index(name: str) -> int:
    """Index of the AudioSet class called ``name`` (its display name)."""
    return class_names().index(name)


# ------------------------------------------------------------------ loading


def _load_graph() -> tuple[bytes, float, float]:
    """The ONNX graph with its weights inlined and the extra outputs added, serialised;
    and the input's quantisation scale and zero point. Read from the wheel's zip in
    memory: nothing is extracted to disk."""
    import onnx
    from onnx import numpy_helper

    bundle = zipfile.ZipFile(io.BytesIO(_distribution_file(MODEL_FILE)))
    members = {name.rsplit("/", 1)[-1]: name for name in bundle.namelist()}
    try:
        model = onnx.load_model_from_string(bundle.read(members["model.onnx"]))
        weights = bundle.read(members["model.data"])
    except KeyError as exc:
        raise YamnetUnavailable(f"{MODEL_FILE} lacks {exc}") from exc
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            where = {entry.key: entry.value for entry in tensor.external_data}
            offset = int(where.get("offset", 0))
            tensor.raw_data = weights[offset : offset + int(where["length"])]
            del tensor.external_data[:]
            tensor.data_location = onnx.TensorProto.DEFAULT
    produced = {name for node in model.graph.node for name in node.output}
    for name in (LOGITS_OUTPUT, EMBEDDING_OUTPUT, *(_layer_output(n) for n in LAYERS[:-1])):
        if name not in produced:
            raise YamnetUnavailable(f"the YAMNet graph has no tensor {name!r}")
    axes = "yamnet_pool_axes"
    model.graph.initializer.append(numpy_helper.from_array(np.array([2, 3], np.int64), axes))
    for number in LAYERS[:-1]:  # ReduceMean takes its axes as an input from opset 18 on
        model.graph.node.append(onnx.helper.make_node("ReduceMean", [_layer_output(number), axes],
                                                      [_pooled_output(number)], keepdims=0))
    for name in (LOGITS_OUTPUT, EMBEDDING_OUTPUT, *(_pooled_output(n) for n in LAYERS[:-1])):
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    constants = {t.name: float(numpy_helper.to_array(t)) for t in model.graph.initializer
                 if t.name in (INPUT_SCALE, INPUT_ZERO_POINT)}
    if len(constants) != 2:
        raise YamnetUnavailable("the YAMNet graph does not state its input quantisation")
    return model.SerializeToString(), constants[INPUT_SCALE], constants[INPUT_ZERO_POINT]


def _layer_output(number: int) -> str:
    """The dequantised output of convolution layer ``number`` (1 … 14): [1, channels, time, frequency]."""
    step = "fused/relu" if number == 1 else "pointwise_conv/relu"
    return f"/model/layer{number}/{step}/Relu_output_0_updated"


def _pooled_output(number: int) -> str:
    return f"yamnet_layer{number}_mean"


def _distribution_file(relative: str) -> bytes:
    try:
        return importlib.metadata.distribution(DISTRIBUTION).locate_file(relative).read_bytes()
    except (importlib.metadata.PackageNotFoundError, OSError) as exc:
        raise YamnetUnavailable(f"YAMNet's {relative} is not installed ({DISTRIBUTION}=={_sead_version()}?): "
                                f"{exc}") from exc


def _sead_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


@functools.cache
def _hann() -> np.ndarray:
    """Periodic Hann window, float32 [400] (TensorFlow's ``hann_window`` default)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)).astype(np.float32)


@functools.cache
def _mel_matrix() -> np.ndarray:
    """float32 [257, 64]: TensorFlow's ``linear_to_mel_weight_matrix`` (HTK mel scale,
    triangles with slopes in mel, the DC bin zero)."""
    def mel(hz: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)

    bins_mel = mel(np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1))[1:, None]
    edges = np.linspace(mel(FMIN_HZ), mel(FMAX_HZ), N_MELS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((bins_mel - lower) / (center - lower), (upper - bins_mel) / (upper - center)))
    return np.vstack([np.zeros((1, N_MELS)), weights]).astype(np.float32)
