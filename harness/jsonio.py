"""JSON files written atomically with orjson, read with errors that name file and position."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from harness.errors import HarnessError

__all__ = ["dumps", "read_json", "read_json_bytes", "write_json_atomic", "write_text_atomic"]

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_umask()
"""What ``open()`` would give a new file; mkstemp's 0600 would hide shared reports."""


def dumps(obj: Any) -> bytes:
    """Serialise with sorted keys, two-space indent and a final newline (stable diffs)."""
    return orjson.dumps(obj, option=_OPTIONS) + b"\n"


def write_text_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    :raises HarnessError: the directory cannot be created or written.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise HarnessError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        try:
            mode = path.stat().st_mode & 0o7777   # a replaced file keeps its mode
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise HarnessError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON (see :func:`dumps`) atomically."""
    write_text_atomic(path, dumps(obj))


def read_json_bytes(path: Path, *, what: str = "file", hint: str = "") -> tuple[bytes, Any]:
    """Read a JSON file; returns its raw bytes (to hash them) and the parsed document.

    :raises HarnessError: missing, unreadable or not valid JSON; the message names the file,
        the line and column, and the reason (``hint`` is added when the file is missing).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        suffix = f" ({hint})" if hint else ""
        raise HarnessError(f"{what} {path} does not exist{suffix}") from None
    except OSError as exc:
        raise HarnessError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        return raw, orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HarnessError(
            f"{what} {path} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def read_json(path: Path, *, what: str = "file") -> Any:
    """Read a JSON file (see :func:`read_json_bytes`)."""
    return read_json_bytes(path, what=what)[1]
