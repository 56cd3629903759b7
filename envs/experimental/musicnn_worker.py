"""The experimental environment's musicnn worker: musicnn's MagnaTagATune and Million Song
Dataset taggers (musicnn 0.1.0, ISC) on TensorFlow, in a child of its own.

Started by :class:`core.bridge.Bridge` (``core/musicnn.py``) only when the classifier asks
for musicnn, apart from the Essentia worker: TensorFlow costs this child ~210 MB of its own
memory, which the key finder's child does not carry. It loads both models before it
answers ready; without TensorFlow or musicnn it refuses to start, with the reason.

Operations (and ``ping``, see ``serve.py``):

- ``musicnn {sample_rate: 16000}`` + float32 audio: whole patches of
  ``core.musicnn_mel.PATCH_SAMPLES`` (3 s), each one's log-mel through both models →
  ``{"patches": k, "mtt": {"labels", "probabilities", "embedding"}, "msd": {...}}``: the
  50 tags and their sigmoid outputs, and the penultimate layer (200 floats), each the
  mean over the patches.
"""

import contextlib
import ctypes
import functools
import importlib.metadata
import os
import sys
import threading
import warnings
from pathlib import Path

import serve

_out = serve.protocol_stream()
os.environ.update(TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1")

import numpy as np  # noqa: E402

from core import musicnn_mel  # noqa: E402  (serve put the project on sys.path)

#: madvise's advice that drops a mapping's pages from the resident set (Linux ≥ 5.4).
MADV_PAGEOUT = 21
#: Short name → musicnn's model (its checkpoint folder in the package).
MODELS = {"mtt": "MTT_musicnn", "msd": "MSD_musicnn"}


class Tagger:
    """One musicnn model in a TensorFlow 1 graph and session of its own, on one thread."""

    def __init__(self, tf, models, labels, name):
        self.labels = list(labels)
        graph = tf.Graph()
        with graph.as_default(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.compat.v1.layers' deprecation warnings
            self.x = tf.compat.v1.placeholder(tf.float32, [None, musicnn_mel.PATCH_FRAMES, musicnn_mel.N_MELS])
            logits, *_, penultimate = models.define_model(self.x, False, name, len(self.labels))
            self.outputs = (tf.nn.sigmoid(logits), penultimate)
            threads = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
            self.session = tf.compat.v1.Session(graph=graph, config=threads)
            checkpoint = Path(models.__file__).with_name(name)
            tf.compat.v1.train.Saver().restore(self.session, f"{checkpoint}/")

    def run(self, batch, batch_size):
        """batch: float32 [k, 187, 96] → (float32 [50], float32 [200]), means over the k patches."""
        parts = [self.session.run(self.outputs, {self.x: batch[i : i + batch_size]})
                 for i in range(0, len(batch), batch_size)]
        return (np.concatenate([p for p, _ in parts]).mean(axis=0),
                np.concatenate([e for _, e in parts]).mean(axis=0))


def load():
    """Both taggers, and musicnn's batch size (raises ImportError without TensorFlow or musicnn)."""
    with _library_pages_released():
        import tensorflow as tf
        from musicnn import configuration, models

        tf.get_logger().setLevel("ERROR")
        labels = {"mtt": configuration.MTT_LABELS, "msd": configuration.MSD_LABELS}
        taggers = {key: Tagger(tf, models, labels[key], name) for key, name in MODELS.items()}
    return taggers, configuration.BATCH_SIZE


@contextlib.contextmanager
def _library_pages_released(every_s=1.0):
    """While the block runs (every ``every_s`` seconds) and once after it, drop the shared
    libraries' pages from this process's resident set: TensorFlow's import reads ~350 MB of
    them, which inference does not need (it faults back the ~20 MB it runs). Measured on
    the load: peak RSS ~520 MB without, ~300 MB with; ~210 MB once loaded."""
    done = threading.Event()

    def release_until_done():
        while not done.wait(every_s):
            _release_library_pages()

    thread = threading.Thread(target=release_until_done, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        _release_library_pages()


def _release_library_pages():
    """madvise(MADV_PAGEOUT) on every read-only mapping of a shared library (no-op where the
    kernel refuses; pages another process maps too stay)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) == 6 and ".so" in fields[5] and "w" not in fields[1]:
                start, end = (int(address, 16) for address in fields[0].split("-"))
                libc.madvise(start, end - start, MADV_PAGEOUT)


def tag(taggers, batch_size, params, audio):
    if int(params["sample_rate"]) != musicnn_mel.SAMPLE_RATE:
        raise ValueError(f"musicnn takes audio at {musicnn_mel.SAMPLE_RATE} Hz")
    batch = musicnn_mel.patches(audio)
    result = {"patches": len(batch)}
    for key, tagger in taggers.items():
        probabilities, embedding = tagger.run(batch, batch_size)
        result[key] = {"labels": tagger.labels, "probabilities": probabilities.tolist(),
                       "embedding": embedding.tolist()}
    return result


if __name__ == "__main__":
    try:
        loaded = load()
    except ImportError as exc:
        serve.refuse(_out, f"musicnn is not installed in the experimental environment: {exc}")
        sys.exit(1)
    serve.serve(_out, {"musicnn": functools.partial(tag, *loaded)}, {name: importlib.metadata.version(name)
                                         for name in ("tensorflow-cpu", "tf-keras", "musicnn")})
