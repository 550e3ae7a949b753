"""Format registry for reading a fabricated design back."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from fabrication.errors import FabricationReadError
from fabrication.gds import read_gds
from fabrication.spec import Layout, Process, ReadResult
from fabrication.stl import read_stl

Reader = Callable[[Path, Layout, Process], ReadResult]

READERS: dict[str, Reader] = {
    "gds": read_gds,
    "stl": read_stl,
}


def read(fmt: str, path: str | os.PathLike, layout: Layout, process: Process) -> ReadResult:
    """Read device polygons (in `layout.unit`) and markers from `path`.

    Raises ValueError for an unknown format and FabricationReadError when the
    file is missing, corrupt, empty, on the wrong layers or in the wrong units.
    """
    reader = READERS.get(fmt)
    if reader is None:
        raise ValueError(f"unknown read format {fmt!r}; valid formats: {', '.join(sorted(READERS))}.")
    target = Path(path)
    if not target.is_file():
        raise FabricationReadError(f"{target}: no such file; expected a {fmt} file.")
    return reader(target, layout, process)
