"""Speed and memory of decoding, each plugin and the whole engine.

    .venv/bin/python bench/speed.py                 # 1, 10 and 30-minute files
    .venv/bin/python bench/speed.py --minutes 1 10  # a subset
    .venv/bin/python bench/speed.py --minutes 10 120 --stages engine  # memory with file length

For each generated music file (44.1 kHz stereo 16-bit WAV, and the 10-minute one
also as MP3) it prints one row:

- decode: decoding to 22 050 Hz mono on disk, regions and waveform (what the decoding
  worker does), in a fresh process: x real time and that process's peak RSS;
- features, content, classifier, tempo_meter, key_finder, embeddings: each plugin on the whole file as one region, on
  one core, in a fresh process (key_finder's figure includes its Essentia child's work,
  not its memory);
- engine: ``main.py analyze FILE`` end to end with every plugin and 2 workers (start-up,
  decode, plugins, database), x real time and the peak of the summed PSS of the
  whole process tree (CLI, forkserver, workers): PSS, because workers fork from the
  forkserver and share most of its pages, which summed RSS would count three times.

Targets: decode ≥ 300× real time (issue 3); tempo_meter ≥ 10×, key_finder ≥ 200× real
time on one core, and the 30-minute file through the engine under 1.5 GB (issue 4);
content ≥ 50×, classifier's YAMNet part (``classifier_yamnet``: musicnn's worker made
unreachable) ≥ 100×, embeddings ≥ 100× real time on one core (issue 10).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import audio_factory as af  # noqa: E402

SR = 44_100
PLUGINS = ("features", "content", "classifier", "tempo_meter", "key_finder", "embeddings")
#: The classifier without musicnn (its worker made unreachable): YAMNet's part alone.
YAMNET_CLASSIFIER = "classifier_yamnet"
STAGES = ("decode", *PLUGINS, YAMNET_CLASSIFIER)


def make_music(path: Path, minutes: float) -> Path:
    """Write ``minutes`` of music-like stereo audio, a minute at a time."""
    if path.exists():
        return path
    with sf.SoundFile(path, "w", SR, 2, subtype="PCM_16") as out:
        for minute in range(int(minutes)):
            mono = af.music(60.0, SR, seed=minute)
            out.write(af.np.stack([mono, 0.8 * mono], axis=1))
    return path


def measure(kind: str, path: Path, workdir: Path) -> dict:
    """Run one measurement in a fresh process; return its JSON answer."""
    done = subprocess.run([sys.executable, __file__, "--measure", kind, str(path), str(workdir)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure_in_process(kind: str, path: Path, workdir: Path) -> dict:
    from core import tasks
    from core.config import SAMPLE_RATE

    pcm_path = workdir / f"{os.getpid()}.f32"
    if kind == "decode":
        started = time.perf_counter()
        decoded = tasks.decode_file(str(path), str(pcm_path), SAMPLE_RATE, 24 * 3600.0, {})
        seconds = time.perf_counter() - started
        audio_s = decoded["info"]["duration_s"]
    else:  # a plugin, on one core like a worker
        from threadpoolctl import threadpool_limits

        from core.config import Settings, use_settings
        from core.pcm import PcmFile, region_samples
        from core.plugin import Context, discover

        threadpool_limits(1)
        settings = Settings(data_dir=workdir / f"data-{os.getpid()}")  # an empty embedding cache: computed
        if kind == YAMNET_CLASSIFIER:
            settings.musicnn_worker, kind = workdir / "no-musicnn-worker.py", "classifier"
        use_settings(settings)
        tasks.decode_file(str(path), str(pcm_path), SAMPLE_RATE, 24 * 3600.0, {})
        plugin = discover()[kind]()
        plugin.warm_up(SAMPLE_RATE)
        samples = region_samples(PcmFile(pcm_path, SAMPLE_RATE))  # what a worker hands a plugin
        audio_s = len(samples) / SAMPLE_RATE
        started = time.perf_counter()
        plugin.analyze(samples, SAMPLE_RATE, Context(file_path=str(path), region_index=0, start_s=0.0))
        seconds = time.perf_counter() - started
    pcm_path.unlink(missing_ok=True)
    return {"x_real_time": audio_s / seconds, "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's before exec)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def measure_engine(path: Path, workdir: Path, audio_s: float) -> dict:
    env = {**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(workdir / f"data-{path.stem}"),
           "AUDIO_SAMPLER_WORKERS": "2"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "main.py", "analyze", str(path)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(process.pid)
    peak = peak_rss = 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            memory = [p.memory_full_info() for p in tree if p.is_running()]
            peak = max(peak, sum(m.pss for m in memory))
            peak_rss = max(peak_rss, sum(m.rss for m in memory))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(process.stderr.read().decode())
    return {"x_real_time": audio_s / seconds, "seconds": seconds, "peak_rss_mb": peak / 2**20,
            "peak_rss_sum_mb": peak_rss / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 30])
    parser.add_argument("--stages", nargs="+", choices=[*STAGES, "engine"], default=[*STAGES, "engine"],
                        help="what to measure (default: all)")
    parser.add_argument("--measure", nargs=3, metavar=("KIND", "PATH", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path, workdir = args.measure
        print(json.dumps(_measure_in_process(kind, Path(path), Path(workdir))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        workdir = Path(tmp)
        files = []
        for minutes in args.minutes:
            wav = make_music(workdir / f"music-{minutes:g}min.wav", minutes)
            files.append((f"{minutes:g} min WAV", wav, minutes * 60))
            if minutes == 10:
                mp3 = af.write(workdir / "music-10min.mp3", sf.read(wav, dtype="float32")[0])
                files.append(("10 min MP3", mp3, minutes * 60))
        stages = [stage for stage in STAGES if stage in args.stages]
        engine = "engine" in args.stages
        header = f"{'file':<12}" + "".join(f" {s + ' ×RT':>16} {'MB':>5}" for s in [*stages, *["engine"] * engine])
        print(header)
        print("-" * len(header))
        for label, path, audio_s in files:
            row = [measure(stage, path, workdir) for stage in stages]
            row += [measure_engine(path, workdir, audio_s)] if engine else []
            print(f"{label:<12}" + "".join(f" {m['x_real_time']:>16.1f} {m['peak_rss_mb']:>5.0f}" for m in row),
                  flush=True)


if __name__ == "__main__":
    main()
