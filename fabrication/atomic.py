"""Write-then-rename, so a reader never sees a half-written file.

Every output goes to a temporary file in the target's folder (same file
system, so `os.replace` is atomic), is flushed to disk, gets the permissions a
plain `open(path, "w")` would give (0666 minus the umask; a bare temporary
file would keep 0600) and is renamed over the target. A failed write removes
the temporary file and leaves the target untouched.

Only a regular file is ever replaced. A FIFO, device, socket or directory at
the target (or a symlink pointing at one) is refused: writing there as root
would replace the system's /dev/null. A symlink to a regular file, or a
dangling one, is itself replaced by the new file; what it pointed at is left
alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from fabrication.errors import FabricationExportError

__all__ = ["atomic_path", "check_target", "file_mode", "write_bytes"]

_KINDS = {stat.S_ISDIR: "directory", stat.S_ISFIFO: "FIFO", stat.S_ISCHR: "character device",
          stat.S_ISBLK: "block device", stat.S_ISSOCK: "socket"}


def file_mode() -> int:
    """0666 minus the process umask, read now (the umask can change between writes)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS.items() if test(mode)), "special file")


def check_target(path: str | os.PathLike) -> None:
    """Raise FabricationExportError unless `path` is absent or can be replaced as a regular file."""
    target = Path(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as err:
        raise FabricationExportError(f"{target}: cannot write here ({err.strerror}).") from None
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(target)
        except OSError:
            return  # a dangling link is replaced by the new file
    if not stat.S_ISREG(st.st_mode):
        raise FabricationExportError(
            f"{target}: is a {_kind(st.st_mode)}, not a regular file; refusing to replace it."
        )


def _temp_name(target: Path, suffix: str) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: some file systems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _failed(target: Path, err: OSError) -> FabricationExportError:
    return FabricationExportError(f"{target}: cannot write ({err.strerror or err}).")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically; OSErrors become one-line FabricationExportErrors.

    The temporary file is `.<name>.<8 hex>.tmp` beside `path`.
    """
    target = Path(path)
    check_target(target)
    tmp = _temp_name(target, ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, file_mode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as err:
        _discard(tmp)
        raise _failed(target, err) from None
    except BaseException:
        _discard(tmp)
        raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; move it onto `path` on success.

    The temporary file keeps the target's suffix, for libraries that choose a
    format by extension. On any error it is removed and `path` is untouched;
    an OSError (a full disk, a read-only folder) becomes a one-line
    FabricationExportError.
    """
    target = Path(path)
    check_target(target)
    tmp = _temp_name(target, target.suffix)
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except OSError as err:
        raise _failed(target, err) from None
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except OSError as err:
        raise _failed(target, err) from None
    finally:
        _discard(tmp)
    _fsync_dir(target.parent)
