"""numba's on-disk cache, kept in a folder this tool owns and checks.

numba caches compiled kernels (``cache=True``) as index files that it reads
back with ``pickle``, so whoever can write the cache folder can run code in
every later process. By default that folder is ``__pycache__`` beside the
source, often writable by more than the user. Importing :mod:`designer`
points numba at ``$DESIGNER_JIT_CACHE``, else ``$XDG_CACHE_HOME/designer/numba``
(default ``~/.cache/designer/numba``), and uses it only when

- it is a real folder (not a symlink), owned by this user, with mode 0700 (no
  one else can even list it; it is created so);
- no folder above it is writable by anyone but its owner (unless sticky, as
  ``/tmp``), and each is owned by this user or root, so no one can swap it;
- everything inside is owned by this user, and no entry is a symlink.

Otherwise, or with ``DESIGNER_JIT_CACHE=off``, kernels cache into a fresh
private temporary folder that is removed at exit: they compile anew (about
16 s) and nothing is read from disk. The fused engine's kernels are the only
cached ones; :mod:`constraints.brushes` compiles without a cache (about 2 s).
"""
from __future__ import annotations

import atexit
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

__all__ = ["prepare", "check", "status"]

_STATE: dict[str, str] = {}


def _default() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "designer" / "numba"


def _trusted_ancestors(folder: Path, uid: int) -> bool:
    for parent in folder.parents:
        try:
            st = os.stat(parent)
        except OSError:
            return False
        if st.st_uid not in (uid, 0):
            return False
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
            return False
    return True


def _trusted_contents(folder: Path, uid: int) -> bool:
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            st = os.lstat(os.path.join(root, name))
            if st.st_uid != uid or stat.S_ISLNK(st.st_mode):
                return False
    return True


def check(folder: Path) -> str | None:
    """Why ``folder`` cannot be trusted as a cache, or None when it can (creating it 0700 if absent)."""
    uid = os.geteuid()
    folder = Path(os.path.abspath(folder))
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError as exc:
        return f"cannot create it ({exc.strerror})"
    if not _trusted_ancestors(folder, uid):
        return "a folder above it is writable by others or owned by another user"
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        return "not a real folder"
    if st.st_uid != uid:
        return "owned by another user"
    if stat.S_IMODE(st.st_mode) != 0o700:
        return f"mode {stat.S_IMODE(st.st_mode):o}, expected 700"
    if not _trusted_contents(folder, uid):
        return "holds an entry owned by another user, or a symlink"
    return None


def _private() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="designer-numba-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def prepare() -> Path:
    """Point numba's cache at the checked folder (or a private one); idempotent."""
    if "folder" in _STATE:
        return Path(_STATE["folder"])
    wanted = os.environ.get("DESIGNER_JIT_CACHE", "")
    reason = "DESIGNER_JIT_CACHE=off" if wanted == "off" else check(Path(wanted) if wanted else _default())
    folder = _private() if reason else (Path(wanted) if wanted else _default())
    _STATE.update(folder=str(folder), status="private: " + reason if reason else "checked")
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if "numba" in sys.modules:
        sys.modules["numba"].config.CACHE_DIR = str(folder)
    return folder


def status() -> str:
    """'checked' or 'private: <why>': how the kernels were cached, for design.json."""
    prepare()
    return _STATE["status"]
