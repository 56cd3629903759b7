"""Fixed-length vectors of a region for "more like this": YAMNet's embedding and a
feature vector that always exists.

Result schema: ``{"yamnet": VECTOR, "yamnet_layers": VECTOR, "features": VECTOR,
"fingerprint": VECTOR}`` where a VECTOR is

=============  =====================================================================
``model``      what produced it, with its version (``yamnet-int8 (sead 0.2.1)``,
               ``features-v1 (librosa 0.11.0)``): compare only vectors of one model
``dim``        length (1024, 2176, 38 and 257)
``dtype``      ``float16`` (``uint8`` for the fingerprint); ``encoding``: ``base64`` of the little-endian bytes
               (2 bytes a value: a 1024-d vector is 2 732 characters, a quarter of a
               JSON list of rounded floats); :func:`decode` reads it back
``vector``     the encoded vector, L2-normalised, so a dot product is the cosine (the
               fingerprint's bytes as they are)
=============  =====================================================================

- ``yamnet``: the 1024-d embedding (the graph's ``/model/Reshape_output_0_qdq``) of each
  0.96 s patch of the region brought to an RMS of −20 dBFS (at its own level a clip 12 dB
  quieter scored a cosine of 0.89–0.96 with itself; levelled, above 0.99), averaged over
  the region and L2-normalised. If the model cannot be
  loaded, ``{"status": "not_available", "reason": ...}`` instead.
- ``yamnet_layers``: the multi-layer variant, from the same run of the model: layers 4, 7,
  11 and 14 of YAMNet's 14 (the quartile boundaries of its depth, core.yamnet.LAYERS),
  each averaged over its time × frequency positions and over the region's patches,
  L2-normalised by layer (so the 128-channel layer weighs as much as the 1024-channel
  one), concatenated and normalised again: 2176 values, lower layers closer to the
  spectrum, the last to AudioSet's classes (a tagger can use either end).
- ``features``: MFCC 1–12 means and standard deviations, 12 chroma means and spectral
  flatness and log centroid (the last pair scaled to [0, 1]), over 40-band mel frames of
  2048 samples, hop 512; each of the four blocks L2-normalised, then the whole. Nothing
  in it depends on gain (MFCC 0, the level, is left out).
- ``fingerprint``: core.fingerprint's 257 bytes (sign bits of band-energy fluctuations over
  the first 1.5 s): not for "more like this" but to tell the same recording, in another
  format or at another gain, from a similar sound (``database.queries.similar_regions``
  puts such regions first).

Every vector but the fingerprint (cheaper to make than to read) is kept in the embedding
cache (core.embedding_cache, under ``<data_dir>/cache/embeddings``) by its model's name
and version and a digest of the region's audio: a region whose audio is unchanged is
never run through a model again.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.metadata
from typing import Any

import librosa
import numpy as np

from core import fingerprint, yamnet
from core.config import get_settings
from core.embedding_cache import EmbeddingCache, audio_digest
from core.pcm import PcmFile, chunks, mean_square
from core.plugin import Context, Plugin

N_FFT = 2048
HOP = 512
N_MELS = 40
CHUNK_S = 30.0
#: YAMNet sees every region at this RMS level, dBFS.
REFERENCE_DBFS = -20.0
FEATURES_MODEL = f"features-v1 (librosa {importlib.metadata.version('librosa')})"
FEATURES_SIZE = 38
#: The vector kinds of a result (the keys tagger and similarity choose among).
KINDS = ("yamnet", "yamnet_layers", "features")


class Embeddings(Plugin):
    name = "embeddings"
    version = "1.2.0"
    timeout_s = 60.0
    memory_mb = 600
    description = ("Vectors for similarity and taggers: YAMNet 1024-d embedding, its 2176-d multi-layer "
                   "variant and a 38-d feature vector")

    def __init__(self, cache: EmbeddingCache | None = None):
        #: Where vectors are kept by model and audio (None: the settings' cache folder, on first use).
        self.cache = cache

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        cache = self.cache or self._default_cache()
        digest = audio_digest(audio, sr)
        result: dict[str, Any] = {}
        try:
            models = {"yamnet": (yamnet.model_name(), yamnet.EMBEDDING_SIZE),
                      "yamnet_layers": (yamnet.layers_model_name(), sum(yamnet.LAYER_SIZES))}
            kept = {kind: cache.get(model, digest, dim) for kind, (model, dim) in models.items()}
            if any(vector is None for vector in kept.values()):
                kept = {kind: half(vector) for kind, vector in yamnet_vectors(audio, sr).items()}
                for kind, (model, _) in models.items():
                    cache.put(model, digest, kept[kind])
            result = {kind: entry(kept[kind], model) for kind, (model, _) in models.items()}
        except yamnet.YamnetUnavailable as exc:
            result = {kind: {"status": "not_available", "reason": str(exc)} for kind in ("yamnet", "yamnet_layers")}
        features = cache.get(FEATURES_MODEL, digest, FEATURES_SIZE)
        if features is None:
            features = half(feature_vector(audio, sr))
            cache.put(FEATURES_MODEL, digest, features)
        return {**result, "features": entry(features, FEATURES_MODEL),
                "fingerprint": entry(fingerprint.fingerprint(audio, sr), fingerprint.model_name(sr))}

    def warm_up(self, sr: int) -> None:
        """Load YAMNet once per worker; compile librosa's kernels (past the cache)."""
        audio = np.random.default_rng(0).normal(0, 0.1, sr).astype(np.float32)
        with contextlib.suppress(yamnet.YamnetUnavailable):
            yamnet_vectors(audio, sr)
        feature_vector(audio, sr)

    def _default_cache(self) -> EmbeddingCache:
        self.cache = EmbeddingCache(get_settings().cache_dir / "embeddings")
        return self.cache


def yamnet_vectors(audio: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """``{"yamnet": float32 [1024], "yamnet_layers": float32 [2176]}`` of a region (see the
    module's docstring), from one run of the model. Raises YamnetUnavailable."""
    layers = yamnet.get().run(audio, sr, layers=True, gain=reference_gain(audio)).layers.mean(axis=0)
    bounds = np.cumsum((0, *yamnet.LAYER_SIZES))
    blocks = [unit(layers[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return {"yamnet": layers[bounds[-2]:], "yamnet_layers": np.concatenate(blocks)}


def feature_vector(audio: np.ndarray, sr: int) -> np.ndarray:
    """float32 [38], L2-normalised (see the module's docstring), 30 s at a time."""
    mfcc, chroma, flatness, centroid = [], [], [], []
    for block in chunks(audio, int(CHUNK_S * sr)):
        if len(block) < N_FFT:
            block = np.pad(block, (0, N_FFT - len(block)))
        power = np.abs(librosa.stft(block, n_fft=N_FFT, hop_length=HOP)) ** 2
        mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS))
        mfcc.append(librosa.feature.mfcc(S=mel_db, n_mfcc=13)[1:])
        chroma.append(librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0))
        flatness.append(librosa.feature.spectral_flatness(S=power, power=2.0)[0])
        centroid.append(librosa.feature.spectral_centroid(S=np.sqrt(power), sr=sr)[0])
    mfcc_all = np.concatenate(mfcc, axis=1)
    spectral = [float(np.mean(np.concatenate(flatness))),
                float(np.log2(max(np.mean(np.concatenate(centroid)), 20.0) / 20.0) / np.log2(sr / 40.0))]
    blocks = [mfcc_all.mean(axis=1), mfcc_all.std(axis=1), np.concatenate(chroma, axis=1).mean(axis=1),
              np.array(spectral)]
    return unit(np.concatenate([unit(b) for b in blocks])).astype(np.float32)


def reference_gain(audio: np.ndarray | PcmFile) -> float:
    """The gain that brings ``audio`` to an RMS of ``REFERENCE_DBFS`` (1.0 for silence):
    the int8 model's embedding moves with level, and "more like this" should not."""
    power = mean_square(audio)
    return 10 ** (REFERENCE_DBFS / 20) / float(np.sqrt(power)) if power > 0 else 1.0


def encode(vector: np.ndarray, model: str) -> dict[str, Any]:
    """L2-normalise ``vector`` and store it as base64 float16 with its model's name."""
    return entry(half(vector), model)


def half(vector: np.ndarray) -> np.ndarray:
    """``vector`` L2-normalised as little-endian float16, as stored; a float16 vector (one
    already stored, from the cache) is taken as it is, bit for bit."""
    vector = np.asarray(vector)
    return vector if vector.dtype == np.dtype("<f2") else unit(vector.astype(np.float64)).astype("<f2")


def entry(stored: np.ndarray, model: str) -> dict[str, Any]:
    """The result entry of a vector as stored: float16 normalised (:func:`half`), or the
    fingerprint's uint8 bytes."""
    return {"model": model, "dim": int(stored.size), "dtype": stored.dtype.name, "encoding": "base64",
            "vector": base64.b64encode(stored.tobytes()).decode("ascii")}


def decode(entry: dict[str, Any]) -> np.ndarray:
    """The float32 [dim] vector of an :func:`encode` entry."""
    return np.frombuffer(base64.b64decode(entry["vector"]), "<f2").astype(np.float32)


def unit(vector: np.ndarray) -> np.ndarray:
    """``vector`` divided by its L2 norm (a zero vector unchanged)."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
