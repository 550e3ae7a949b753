"""Conforming triangle mesh of the whole domain, tagged by material.

Device polygons and the background (domain minus device) are each
triangulated by GEOS's constrained Delaunay triangulation
(`shapely.constrained_delaunay_triangles`), which adds no vertices, so the
two meshes share every vertex on their common boundary and together form
one conforming mesh. No quality refinement is done: triangles can be thin
where the polygons have long straight edges; a solver that needs quality
elements should remesh from the polygons.
"""

from __future__ import annotations

from dataclasses import dataclass

import meshio
import numpy as np
import shapely

from fabrication.geometry import as_multipolygon
from fabrication.spec import Layout

BACKGROUND, DEVICE = 0, 1
TAG_NAMES = {"background": BACKGROUND, "device": DEVICE}


@dataclass(frozen=True)
class DomainMesh:
    """points (n, 2) in the layout unit; triangles (m, 3) counter-clockwise;
    material (m,) int32, 0 background and 1 device."""

    points: np.ndarray
    triangles: np.ndarray
    material: np.ndarray


def triangulate_domain(polygons: shapely.Geometry, layout: Layout) -> DomainMesh:
    domain = shapely.box(*layout.domain_box)
    device = as_multipolygon(shapely.intersection(polygons, domain))
    background = as_multipolygon(domain.difference(device))
    corners, material = [], []
    for tag, region in ((BACKGROUND, background), (DEVICE, device)):
        if region.is_empty:
            continue
        tris = shapely.get_parts(shapely.constrained_delaunay_triangles(region))
        coords = shapely.get_coordinates(shapely.get_exterior_ring(tris)).reshape(-1, 4, 2)[:, :3]
        corners.append(coords)
        material.append(np.full(len(coords), tag, dtype=np.int32))
    corners = np.concatenate(corners)
    points, inverse = _merge_vertices(corners.reshape(-1, 2), layout.cell_size)
    triangles = inverse.reshape(-1, 3)
    a, b, c = (points[triangles[:, k]] for k in range(3))
    u, v = b - a, c - a
    clockwise = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0] < 0
    triangles[clockwise] = triangles[clockwise][:, ::-1]
    return DomainMesh(points, triangles, np.concatenate(material))


def to_meshio(mesh: DomainMesh) -> meshio.Mesh:
    """A meshio mesh with z = 0 points and a "material" cell tag."""
    points = np.column_stack([mesh.points, np.zeros(len(mesh.points))])
    return meshio.Mesh(points, [("triangle", mesh.triangles)], cell_data={"material": [mesh.material]})


def _merge_vertices(xy: np.ndarray, cell_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Identify equal vertices from the two triangulations (keyed at 1e-6 cell)."""
    keys = np.round(xy / (1e-6 * cell_size)).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return xy[first], inverse.reshape(-1)
