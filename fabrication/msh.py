"""Gmsh 2.2 ASCII mesh of the domain (see `triangulation`).

Version 2.2 keeps a physical and geometrical tag on every element line, which
every gmsh-reading solver understands. Physical groups must be positive, so
they are material + 1 (1 background, 2 device) and are named in the file;
`material_from_msh` turns them back into the 0/1 tag. No element data is
written: meshio 5.3 writes ASCII element data with numpy 2 reprs
("np.int32(0)") that neither it nor gmsh can read.
"""

from __future__ import annotations

import os

import meshio
import numpy as np
import shapely

from fabrication.spec import Layout, Process
from fabrication.triangulation import TAG_NAMES, to_meshio, triangulate_domain


def write_msh(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    mesh = to_meshio(triangulate_domain(polygons, layout))
    material = mesh.cell_data["material"][0]
    mesh.cell_data = {
        "gmsh:physical": [material + 1],
        "gmsh:geometrical": [material + 1],
    }
    mesh.field_data = {name: np.array([tag + 1, 2]) for name, tag in TAG_NAMES.items()}
    meshio.write(str(path), mesh, file_format="gmsh22", binary=False)


def material_from_msh(mesh: meshio.Mesh) -> np.ndarray:
    """The 0/1 material tag of each triangle of a mesh read by meshio."""
    physical = mesh.get_cell_data("gmsh:physical", "triangle")
    return (np.asarray(physical) - 1).astype(np.int32)
