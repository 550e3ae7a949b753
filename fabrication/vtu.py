"""VTK XML unstructured grid (.vtu) of the domain (see `triangulation`)."""

from __future__ import annotations

import os

import meshio
import numpy as np
import shapely

from fabrication.spec import Layout, Process
from fabrication.triangulation import to_meshio, triangulate_domain


def write_vtu(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    meshio.write(str(path), to_meshio(triangulate_domain(polygons, layout)), file_format="vtu")
