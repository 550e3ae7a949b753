"""Format registry for writing a design, and the one call that uses it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

from fabrication.atomic import atomic_path
from fabrication.errors import FabricationExportError
from fabrication.gds import write_gds
from fabrication.msh import write_msh
from fabrication.spec import Layout, Process
from fabrication.stl import write_stl
from fabrication.svg import write_png, write_svg
from fabrication.vtu import write_vtu
from fabrication.xdmf import write_xdmf

Writer = Callable[[shapely.MultiPolygon, Layout, Process, Path, "np.ndarray | None"], None]

EXPORTERS: dict[str, Writer] = {
    "gds": write_gds,
    "stl": write_stl,
    "msh": write_msh,
    "vtu": write_vtu,
    "xdmf": write_xdmf,
    "svg": write_svg,
    "png": write_png,
}

RELIEF_FORMATS = ("stl",)
"""The formats that hold a relief's wall heights (``Process.levels`` >= 2)."""


def export(
    fmt: str,
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    *,
    density: np.ndarray | None = None,
) -> Path:
    """Write `polygons` (in `layout.unit`) as `fmt` to `path`, atomically.

    The file appears complete or not at all: it is written to a temporary
    file in the same folder and renamed over `path`. `density` (nx, ny) is
    only used by the previews. A relief (``process.levels`` >= 2) passes
    its layers' footprints, bottom first, as `polygons`, and is written
    only in :data:`RELIEF_FORMATS`. Returns the path written.
    """
    writer = EXPORTERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown export format {fmt!r}; valid formats: {', '.join(sorted(EXPORTERS))}.")
    if process.levels > 1 and fmt not in RELIEF_FORMATS:
        raise FabricationExportError(f"a relief of {process.levels} wall heights is written as "
                                     f"{', '.join(RELIEF_FORMATS)} only ({fmt} holds walls of one height).")
    target = Path(path)
    with atomic_path(target) as tmp:
        writer(polygons, layout, process, tmp, density)
    return target
