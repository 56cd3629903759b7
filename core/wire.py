"""The bridge's wire format, shared by both ends (standard library only, so the
experimental environment's worker imports it too).

One message after another, in both directions::

    uint32 big-endian n | n bytes of UTF-8 JSON header | header["payload_bytes"] raw bytes
"""

from __future__ import annotations

import json
import select
import struct
import time
from typing import IO, Any

_LENGTH = struct.Struct(">I")
#: Largest header accepted from the child, bytes.
MAX_HEADER_BYTES = 1 << 20


def write_message(stream: IO[bytes], header: dict[str, Any], payload: bytes | memoryview = b"") -> None:
    """Write one framed message (used by both ends); the payload is written without a copy."""
    body = json.dumps({**header, "payload_bytes": len(payload)}).encode()
    stream.write(_LENGTH.pack(len(body)) + body)
    view = memoryview(payload)
    while view:  # an unbuffered pipe may take less than asked
        view = view[stream.write(view) :]
    stream.flush()


def read_message(stream: IO[bytes], deadline: float | None = None) -> tuple[dict[str, Any], bytes]:
    """Read one framed message, by ``deadline`` (time.monotonic) if given.

    Raises EOFError when the other end is gone, TimeoutError past the deadline.
    """
    length = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size, deadline))[0]
    if length > MAX_HEADER_BYTES:
        raise ValueError(f"header of {length} bytes is too large")
    header = json.loads(_read_exactly(stream, length, deadline))
    return header, _read_exactly(stream, int(header.get("payload_bytes", 0)), deadline)


def _read_exactly(stream: IO[bytes], n: int, deadline: float | None) -> bytes:
    parts = []
    while n > 0:
        if deadline is not None and not select.select([stream], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("the other end closed the pipe")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)
