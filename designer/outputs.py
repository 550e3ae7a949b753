"""Output paths checked before any work: one line instead of a traceback after the work.

A path is writable when its nearest existing folder is a folder (not a file:
``--out /dev/null/x``), lies outside the kernel's file systems (``/proc``,
``/sys``, and ``/dev`` other than ``/dev/shm``), and takes a file: a probe
file is created there and removed, which catches read-only folders and
read-only mounts alike. An existing target must be a regular file (see
:mod:`fabrication.atomic`).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from fabrication.atomic import check_target
from fabrication.errors import FabricationExportError

from .errors import DesignerError

__all__ = ["check_output_file", "check_output_dir"]

SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
SYSTEM_EXCEPTIONS = (Path("/dev/shm"),)


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _system_root(path: Path) -> Path | None:
    resolved = path.resolve()
    if any(_under(resolved, ok) for ok in SYSTEM_EXCEPTIONS):
        return None
    return next((root for root in SYSTEM_ROOTS if _under(resolved, root)), None)


def _existing_ancestor(folder: Path) -> Path:
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def _probe(folder: Path, label: str) -> None:
    """Create and remove a file in ``folder``; one line if that fails."""
    try:
        fd, name = tempfile.mkstemp(prefix=".designer-probe.", dir=folder)
    except OSError as exc:
        raise DesignerError(f"{label}: cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def _check_folder(folder: Path, label: str) -> None:
    if (root := _system_root(folder)) is not None:
        raise DesignerError(f"{label}: {folder} is under {root}, a kernel file system; choose a normal folder")
    base = _existing_ancestor(folder)
    if not base.is_dir():
        raise DesignerError(f"{label}: {base} is not a folder, so nothing can be written under it")
    _probe(base, label)


def check_output_file(path: str | os.PathLike, option: str = "--out") -> Path:
    """Raise one DesignerError line unless a file can be written (atomically) at ``path``."""
    path = Path(path)
    label = f"{option} {path}"
    if (root := _system_root(path)) is not None:
        raise DesignerError(f"{label}: under {root}, a kernel file system; choose a normal folder")
    _check_folder(path.parent, label)
    try:
        check_target(path)
    except FabricationExportError as exc:
        raise DesignerError(f"{option} {str(exc).rstrip('.')}") from None
    return path


def check_output_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Raise one DesignerError line unless ``path`` is, or can become, a writable folder."""
    path = Path(path)
    label = f"{option} {path}"
    if os.path.lexists(path) and not path.is_dir():
        raise DesignerError(f"{label}: exists and is not a folder")
    _check_folder(path, label)
    return path
