"""Format registry for writing a design, and the one call that uses it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

from fabrication.atomic import atomic_path
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
    only used by the previews. Returns the path written.
    """
    writer = EXPORTERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown export format {fmt!r}; valid formats: {', '.join(sorted(EXPORTERS))}.")
    target = Path(path)
    with atomic_path(target) as tmp:
        writer(polygons, layout, process, tmp, density)
    return target
