"""Writing files so that a reader, or a crash, never sees half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it
    over `path`: the old file stays whole until the new one is complete. A process killed
    before the rename leaves at most a `.{name}.*.tmp` file, which the next write ignores."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)  # noqa: PTH101 (on the temporary's path, before the rename)
        os.replace(temporary, path)  # noqa: PTH105 (atomic rename is the point)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)  # noqa: PTH108
        raise
