"""Files written so that a crash, a kill or a full disk never leaves half of one.

Every file a run keeps (config, summary, checkpoints, replay buffers, progress.csv rewritten on
resume) goes through `atomic_write`: the data goes to a temporary file beside the target, is
flushed to the disk (fsync), and only then renamed over the target, so a reader sees the old file
or the new one, never a mixture.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


class WriteError(OSError):
    """A file of the run could not be written; its message says which and why."""


def _fsync_directory(directory: Path) -> None:
    """Makes a rename in `directory` durable (where the platform can open directories)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def atomic_write(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Calls `write(file)` on a temporary file beside `path`, then renames it to `path`. On any
    failure the temporary file is removed, `path` is left as it was, and a `WriteError` (for
    OSErrors: a full disk, no permission) says what could not be written."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.tmp")
    try:
        with open(temp, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, WriteError):
            reason = "the disk is full" if error.errno == errno.ENOSPC else error.strerror
            raise WriteError(f"cannot write {path}: {reason or error}") from None
        raise
    _fsync_directory(path.parent)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Writes `data` as indented JSON, atomically."""
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda file: file.write(text.encode()))


def make_writable_dir(path: Path) -> None:
    """Makes the directory `path` (and its parents) if need be, and checks a file can be written
    in it; OSError if not."""
    path.mkdir(parents=True, exist_ok=True)
    probe = path / ".write-test"
    probe.write_bytes(b"")
    probe.unlink()
