"""Uploads received as a stream (``POST /api/analyze/upload``).

The multipart body is parsed as it arrives (python-multipart's streaming parser, the one
Starlette uses) and each file part is written straight to the request's folder under the
upload folder: nothing goes through the system temp folder, and nothing over a limit is
ever written whole.

- A declared ``Content-Length`` over the request limit is refused (413) before any of
  the body is read; a body without one (chunked) is counted as it arrives.
- A part's file name must have an audio extension; it is checked when the part's headers
  end, before its first byte is written (400). Its content is judged by the decoder.
- A part that grows past the per-file limit stops the request at once (413); reading
  stops at the closing boundary.
- A write that fails (a full or read-only disk) is a 507.

After a refusal the caller removes the request's folder, so a file appears whole or not
at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from api.paths import safe_name
from core.engine import AUDIO_EXTENSIONS

#: The form field that carries the files.
FIELD = "files"
#: Files in one upload at most (the limit Starlette's own form parser has).
MAX_FILES = 1000
#: Room for a part's boundary and headers (python-multipart allows 8 headers of ~4 kB).
PART_OVERHEAD = 64 << 10

#: The request body as the OpenAPI schema describes it (the endpoint reads it itself).
OPENAPI_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FIELD],
    "properties": {FIELD: {"type": "array", "title": "Files", "description": "Audio files",
                           "items": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}}}


@dataclass(frozen=True)
class UploadLimits:
    """Bytes a file may have, and files a request may carry; a whole request may be as
    large as that many files of the largest size (with their parts' headers)."""

    file_mb: int
    files: int = MAX_FILES

    @property
    def file_bytes(self) -> int:
        return self.file_mb << 20

    @property
    def request_bytes(self) -> int:
        return self.files * (self.file_bytes + PART_OVERHEAD)

    def too_large(self) -> HTTPException:
        return HTTPException(status_code=413, detail=f"the upload is larger than {self.files} files of "
                             f"{self.file_mb} MiB")


def boundary_of(request: Request, limits: UploadLimits) -> bytes:
    """The multipart boundary of ``request``, once its headers show a body that may be read.

    Raises: HTTPException 413 (declared length over the request limit), 400 (no
    boundary); RequestValidationError (not a multipart form).
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.request_bytes:
        raise limits.too_large()
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data":
        raise _missing_files()
    if not options.get(b"boundary"):
        raise HTTPException(status_code=400, detail="Missing boundary in multipart.")
    return options[b"boundary"]


async def receive_files(request: Request, boundary: bytes, folder: Path, limits: UploadLimits,
                        names: list[str]) -> list[Path]:
    """Write each file of ``request``'s multipart body (parts between ``boundary``) into
    ``folder`` (made with the first file) as it arrives; ``names`` collects the clients'
    names of the files as they come.

    Raises: HTTPException 400, 413 or 507, RequestValidationError. A partial file is
    left in ``folder`` for the caller to remove with it.
    """
    receiver = _Receiver(folder, limits, names)
    received = 0
    try:
        parser = MultipartParser(boundary, receiver.callbacks())
        async for chunk in request.stream():
            received += len(chunk)
            if received > limits.request_bytes:
                raise limits.too_large()
            await run_in_threadpool(parser.write, chunk)  # the callbacks write files: not in the event loop
            if receiver.ended:  # anything after the closing boundary is not read
                break
    except FormParserError as exc:
        raise HTTPException(status_code=400, detail=f"Invalid multipart data: {exc}") from exc
    except ClientDisconnect as exc:
        raise HTTPException(status_code=400, detail="the client went away before the upload was complete") from exc
    finally:
        receiver.abandon()
    if not receiver.ended:
        raise HTTPException(status_code=400, detail="the upload is cut off: its last part never ends")
    if not receiver.saved:
        raise _missing_files()
    return receiver.saved


class _Receiver:
    """python-multipart's callbacks: the headers of each part, then its file written to
    ``folder`` under the limits."""

    def __init__(self, folder: Path, limits: UploadLimits, names: list[str]) -> None:
        self.folder, self.limits, self.names = folder, limits, names
        self.saved: list[Path] = []
        self.ended = False
        self._parts = 0
        self._header = [b"", b""]  # the field and value of the header being read
        self._disposition = b""
        self._name = ""  # the part's file name, or its field's name
        self._out: BinaryIO | None = None  # the file being written, None for a part that is skipped
        self._partial = self._target = Path()
        self._size = 0

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._data,
                "on_part_end": self._end, "on_end": self._finished}

    def abandon(self) -> None:
        """Close the file being written, if any, whatever its disk says: it is removed
        with the folder."""
        with suppress(OSError):
            self._close()

    def _close(self) -> None:
        if self._out is not None:
            out, self._out = self._out, None
            out.close()

    def _begin(self) -> None:
        self._parts += 1
        if self._parts > self.limits.files:
            raise HTTPException(status_code=413, detail=f"the upload has more than {self.limits.files} parts")
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        field, value = self._header
        if field.lower() == b"content-disposition":
            self._disposition = value
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        """The part's name decides: a file of ``files`` is opened, another field is skipped."""
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise HTTPException(status_code=400, detail='The Content-Disposition header field "name" must be provided.')
        self._name, self._size = options[b"name"].decode("utf-8", "replace"), 0
        if self._name != FIELD:
            return
        if b"filename" not in options:
            raise RequestValidationError([{"loc": ("body", FIELD, len(self.names)), "type": "value_error",
                                           "msg": "Value error, expected a file, received a plain field"}])
        self._name = options[b"filename"].decode("utf-8", "replace")
        self.names.append(self._name)
        if Path(self._name).suffix.lower() not in AUDIO_EXTENSIONS:
            raise HTTPException(status_code=400, detail=f"{self._name!r} is not an audio file this server reads "
                                f"({', '.join(sorted(AUDIO_EXTENSIONS))})")
        with _storing("the upload"):
            self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / safe_name(self._name)
        while target.exists():  # two uploads of the same name
            target = target.with_stem(target.stem + "_")
        self._target, self._partial = target, target.with_name(target.name + ".part")
        with _storing(self._name):
            self._out = self._partial.open("wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        """Every part counts against the limit; only a file's is written."""
        self._size += end - start
        if self._size > self.limits.file_bytes:
            raise HTTPException(status_code=413, detail=f"{self._name} is larger than {self.limits.file_mb} MiB")
        if self._out is not None:
            with _storing(self._name):
                self._out.write(data[start:end])

    def _end(self) -> None:
        if self._out is None:
            return
        with _storing(self._name):
            self._close()
            if self._size == 0:
                self._partial.unlink()
                raise HTTPException(status_code=400, detail=f"{self._name} is empty")
            self._partial.rename(self._target)
        self.saved.append(self._target)

    def _finished(self) -> None:
        self.ended = True


@contextmanager
def _storing(what: str) -> Iterator[None]:
    """An OSError (a full or read-only disk) as a 507 naming ``what`` could not be stored."""
    try:
        yield
    except OSError as exc:
        raise HTTPException(status_code=507, detail=f"the server could not store {what}: "
                            f"{exc.strerror or exc}") from exc


def _missing_files() -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", FIELD), "type": "missing", "msg": "Field required"}])
