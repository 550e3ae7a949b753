"""A run folder: one writer at a time, no silent mixing of two runs, no stale temporary files.

``optimize`` holds an exclusive ``fcntl.flock`` on ``RUN/.designer.lock``
while it writes; a second process (or a second attempt in one process) is
refused in one line naming the holder's pid. The lock is released when the
process ends, however it ends, so a killed run never leaves a stale lock.

A fresh run (no ``--resume``) into a folder that already holds files is
refused rather than cleared: deleting a user's earlier results is not this
tool's call, and writing beside them would mix two runs (an old
``design.gds`` or ``verify-*.json`` beside a new design). ``--resume``
continues such a folder and first removes the temporary files
(``.<name>.<8 hex>.tmp``) a killed writer of this run left behind.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

from .errors import DesignerError

__all__ = ["LOCK_NAME", "locked", "check_fresh", "remove_stale_temps"]

LOCK_NAME = ".designer.lock"
_TEMP = re.compile(r"^\..+\.[0-9a-f]{8}\.(tmp|gds|stl|msh|vtu|xdmf|svg|png)$")
"""Temporary files of :mod:`fabrication.atomic`: ``.<name>.<8 hex><suffix>``."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "another process"
    return f"pid {text}" if text.isdigit() else "another process"


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[Path]:
    """Hold ``folder``'s write lock for the ``with`` block; one line naming the holder if it is taken."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DesignerError(f"{folder}: cannot create the run folder ({exc.strerror})") from None
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise DesignerError(f"{folder / LOCK_NAME}: cannot open the run lock ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DesignerError(f"{folder}: {_holder(fd)} is writing this run folder; wait for it to finish "
                                f"or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield folder
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def check_fresh(folder: Path) -> None:
    """Refuse a fresh run into a folder that already holds anything but its lock."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise DesignerError(f"{folder}: exists and is not a folder; choose another --out")
    found = sorted(p.name for p in folder.iterdir() if p.name != LOCK_NAME)
    if found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise DesignerError(f"{folder}: already holds a run ({shown}); pass --resume to continue it, "
                            f"or choose a new --out")


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files a killed writer left in ``folder``; call only while holding its lock."""
    removed = []
    for p in Path(folder).iterdir():
        if _TEMP.match(p.name) and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
