"""The engine: configuration, decoding, regions, waveform, plugin contract, sandbox."""

__version__ = "0.1.0"
