"""Write files whole or not at all.

A write goes to a temporary file beside the target, named ``.NAME.PID.XXXX.tmp`` after the
writing process, and is renamed over the target when complete. A write killed half-way
leaves its temporary file behind; the next write to the same target removes every such file
whose process is gone (or, for files without a process id, that is over an hour old).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

__all__ = ["write_text_atomic"]

_STALE_SECONDS = 3600.0


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return False
    return True


def _remove_abandoned(target: Path) -> None:
    """Remove temporary files of earlier writes to ``target`` whose writer is gone."""
    prefix = f".{target.name}."
    now = time.time()
    for tmp in target.parent.glob(f"{_glob_escape(prefix)}*.tmp"):
        middle = tmp.name[len(prefix) : -len(".tmp")]
        pid_text = middle.split(".", 1)[0]
        try:
            if pid_text.isdigit() and "." in middle:
                stale = not _alive(int(pid_text))
            else:
                stale = now - tmp.stat().st_mtime > _STALE_SECONDS
            if stale:
                tmp.unlink(missing_ok=True)
        except OSError:  # gone meanwhile, or not ours to remove: leave it
            continue


def _glob_escape(text: str) -> str:
    """``text`` with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename, so a
    reader never sees a half-written file; temporary files abandoned by killed earlier writes
    to ``path`` are removed first. Returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
