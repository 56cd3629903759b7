"""The worker that runs inside the experimental environment (Essentia).

Started by :class:`core.bridge.Bridge`; answers requests in ``serve.py``'s loop, which it
shares with the musicnn worker (``musicnn_worker.py``).

Operations (and ``ping``, see ``serve.py``):

- ``hpcp {sample_rate, block_samples}`` + float32 audio: the pitch-class profile of
  Essentia's KeyExtractor, frame by frame (``FRAME`` samples, no overlap, the first frame
  starting at the first sample), summed over each ``block_samples`` of the audio →
  ``{"blocks": [{"sum": [12 floats], "frames": n}, ...]}``. A caller streams a long
  region through it a stretch at a time.
- ``key {profile, pcps}``: KeyExtractor's last step on each mean profile of ``pcps``
  (lists of 12 floats) → ``{"keys": [{"key", "scale", "strength"}, ...]}``.

``hpcp`` then ``key`` on the mean of all blocks is KeyExtractor on the whole audio when
the frames are placed as its frame cutter places them (centred on multiples of
``FRAME``); plugins/key_finder.py does that, and tests/core/test_essentia_key.py checks it.
"""

import serve

_out = serve.protocol_stream()

import essentia  # noqa: E402
import essentia.standard as es  # noqa: E402
import numpy as np  # noqa: E402

essentia.log.infoActive = False
#: KeyExtractor's defaults: frame and hop (samples), the band its peaks and profile cover (Hz), the
#: profile's bins, and the share of the strongest bin below which a bin of the mean profile is cleared.
FRAME = 4096
MIN_HZ, MAX_HZ = 25.0, 3500.0
BINS = 12
PCP_THRESHOLD = 0.2
_chains = {}


def _chain(sr):
    """KeyExtractor's frame-to-profile algorithms at ``sr`` Hz (made once per rate)."""
    if sr not in _chains:
        _chains[sr] = (
            es.Windowing(type="hann", size=FRAME),
            es.Spectrum(size=FRAME),
            es.SpectralPeaks(orderBy="magnitude", magnitudeThreshold=1e-4, minFrequency=MIN_HZ,
                             maxFrequency=MAX_HZ, maxPeaks=60, sampleRate=sr),
            es.SpectralWhitening(maxFrequency=MAX_HZ, sampleRate=sr),
            es.HPCP(bandPreset=False, harmonics=4, maxFrequency=MAX_HZ, minFrequency=MIN_HZ, nonLinear=False,
                    normalized="none", referenceFrequency=440, sampleRate=sr, size=BINS, weightType="cosine",
                    windowSize=1.0, maxShifted=False),
        )
    return _chains[sr]


def hpcp(params, audio):
    window, spectrum, peaks, whitening, profile = _chain(float(params["sample_rate"]))
    block = int(params["block_samples"])
    if block <= 0 or block % FRAME:
        raise ValueError(f"block_samples must be a positive multiple of {FRAME}")
    blocks = []
    for start in range(0, len(audio), block):
        total, count = np.zeros(BINS), 0
        for frame in es.FrameGenerator(audio[start : start + block], frameSize=FRAME, hopSize=FRAME,
                                       startFromZero=True):
            magnitudes = spectrum(window(frame))
            frequencies, heights = peaks(magnitudes)
            total += profile(frequencies, whitening(magnitudes, frequencies, heights))
            count += 1
        blocks.append({"sum": total.tolist(), "frames": count})
    return {"blocks": blocks}


def key(params, audio):
    estimate = es.Key(usePolyphony=False, useThreeChords=False, numHarmonics=4, slope=0.6,
                      profileType=params.get("profile", "bgate"), pcpSize=BINS)
    found = []
    for pcp in params["pcps"]:
        pcp = np.asarray(pcp, np.float32)
        if pcp.shape != (BINS,):
            raise ValueError(f"a profile has {BINS} values, not {pcp.size}")
        if pcp.max() > 0:
            pcp = pcp / pcp.max()
        pcp[pcp < PCP_THRESHOLD] = 0.0
        tonic, scale, strength, _ = estimate(pcp)
        found.append({"key": tonic, "scale": scale, "strength": float(strength)})
    return {"keys": found}


OPERATIONS = {"hpcp": hpcp, "key": key}


if __name__ == "__main__":
    serve.serve(_out, OPERATIONS, {"essentia": essentia.__version__, "numpy": np.__version__})
