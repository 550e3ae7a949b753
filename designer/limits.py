"""Caps on what a file or config may declare, checked before anything is allocated.

The defaults are generous for real work (a 5000 x 5000-cell grid, 100 s
windows at 10 kHz); each can be raised for one command with an environment
variable ``DESIGNER_MAX_<NAME>`` (e.g. ``DESIGNER_MAX_GRID_CELLS=100000000``).
A file the tool reads must also be a regular file: a FIFO, a device such as
``/dev/zero`` or a directory is refused before a byte is read. The caps on
part files (GDS, STL) live in :mod:`fabrication.limits`, under the same
environment names.
"""
from __future__ import annotations

import dataclasses
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import DesignerError

__all__ = ["Limits", "limits", "read_regular_file", "too_big", "GIB", "MIB"]

MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """Upper bounds; units in the names."""

    grid_cells: int = 25_000_000
    window_samples: int = 1_000_000
    speakers_per_sex: int = 10_000
    sample_rate_hz: int = 1_000_000
    epochs: int = 1_000_000
    batch_size: int = 100_000
    refine: int = 16
    array_elements: int = 1 << 30
    npz_bytes: int = 2 * GIB
    json_bytes: int = 256 * MIB
    config_bytes: int = 1 * MIB


def limits() -> Limits:
    """The defaults, with any ``DESIGNER_MAX_<NAME>`` environment overrides applied."""
    changes = {}
    for f in dataclasses.fields(Limits):
        name = f"DESIGNER_MAX_{f.name.upper()}"
        text = os.environ.get(name)
        if text is None:
            continue
        try:
            value = int(text)
        except ValueError:
            raise DesignerError(f"{name}={text!r}: expected a positive integer") from None
        if value <= 0:
            raise DesignerError(f"{name}={text!r}: expected a positive integer")
        changes[f.name] = value
    return dataclasses.replace(Limits(), **changes)


def too_big(what: str, value, limit: str, unit: str = "") -> DesignerError:
    """The one-line error for ``value`` over the cap ``limit`` (a field of :class:`Limits`)."""
    cap = getattr(limits(), limit)
    return DesignerError(f"{what}: {value}{unit} is over the limit of {cap}{unit}; "
                         f"raise it with DESIGNER_MAX_{limit.upper()} if this is meant")


def read_regular_file(path: str | os.PathLike, limit: str, what: str) -> bytes:
    """The bytes of ``path``, refusing non-regular files and files over the byte cap ``limit``.

    The file is opened non-blocking (a FIFO cannot hang the open) and checked
    on the open descriptor, so it cannot be swapped between check and read.
    """
    path = Path(path)
    max_bytes = getattr(limits(), limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise DesignerError(f"{path}: file not found") from None
    except OSError as exc:
        raise DesignerError(f"{path}: cannot read ({exc.strerror}); expected a {what}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DesignerError(f"{path}: not a regular file; expected a {what}")
        if st.st_size > max_bytes:
            raise too_big(f"{path} ({what})", st.st_size, limit, " bytes")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 16 * MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise DesignerError(f"{path}: cannot read ({exc.strerror}); expected a {what}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise too_big(f"{path} ({what})", len(data), limit, " bytes")
    return data
