"""Density array -> polygons with holes, in physical units.

The 0.5 iso-line of the density is traced with marching squares
(Lorensen & Cline 1987, as implemented by `skimage.measure.find_contours`)
on cell centres, so a binary design comes out with its staircase corners cut
at 45 degrees and a fractional one with sub-cell edge positions.

Tolerances: simplification (Douglas-Peucker) moves an edge by at most
``SIMPLIFY_FRACTION * cell_size`` (1 % of a cell) and grid snapping by at most
``grid / sqrt(2)``; a feature's width therefore changes by at most twice their
sum, about 0.05 cell for the shipped templates, far below rules of two cells.
At that tolerance only collinear and nearly collinear vertices are dropped.
"""

from __future__ import annotations

import numpy as np
import shapely
from skimage.measure import find_contours

from fabrication.spec import Layout, Process

SIMPLIFY_FRACTION = 0.01


def polygons_from_binary(
    density: np.ndarray,
    layout: Layout,
    process: Process,
    *,
    threshold: float = 0.5,
) -> shapely.MultiPolygon:
    """Solid region of a (nx, ny) density as a MultiPolygon in `layout.unit`.

    density: the whole domain, indexed [ix, iy]; bool, 0/1 or fractional.
    Cells with density above `threshold` are solid. Vertices are snapped to
    `process.grid`; islands inside holes are kept as separate polygons.
    """
    values = np.asarray(density, dtype=float)
    if values.ndim != 2 or values.shape != tuple(layout.shape_cells):
        raise ValueError(
            f"`density` must have shape {tuple(layout.shape_cells)} (nx, ny), "
            f"but got shape {values.shape}."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("`density` contains NaN or infinite values.")
    h = layout.cell_size
    rings = _rings(values, threshold, h)
    polygons = _assemble(rings)
    merged = shapely.MultiPolygon(polygons) if polygons else shapely.MultiPolygon()
    merged = shapely.clip_by_rect(merged, *layout.domain_box)
    merged = shapely.simplify(merged, SIMPLIFY_FRACTION * h, preserve_topology=True)
    merged = shapely.set_precision(merged, process.grid)
    return as_multipolygon(merged)


def as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Keep only the areal parts of `geom`, as a MultiPolygon."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    flat = [p for g in parts for p in shapely.get_parts(g) if not p.is_empty]
    return shapely.MultiPolygon(flat) if flat else shapely.MultiPolygon()


def _rings(values: np.ndarray, threshold: float, h: float) -> list[np.ndarray]:
    """Closed iso-lines in physical units; solid on the left of each ring.

    The edge cells are repeated once outward, then a void pad closes every
    contour a full cell outside the domain; clipping to the domain later cuts
    material that touches the edge off square (a waveguide leaving the domain
    keeps its corners) instead of chamfering it.
    """
    padded = np.pad(np.pad(values, 1, mode="edge"), 1, constant_values=min(0.0, values.min()))
    contours = find_contours(
        padded, threshold, fully_connected="low", positive_orientation="high"
    )
    return [(c - 1.5) * h for c in contours if len(c) >= 4]


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def _assemble(rings: list[np.ndarray]) -> list[shapely.Polygon]:
    """Pair hole rings with the smallest shell around them.

    Marching squares rings never cross, so one vertex decides containment and
    the smallest containing shell is the direct parent (a shell inside a hole
    is smaller than the shell outside that hole).
    """
    areas = np.array([_signed_area(r) for r in rings])
    shells = [shapely.Polygon(r) for r, a in zip(rings, areas) if a > 0]
    holes = [r for r, a in zip(rings, areas) if a < 0]
    if not shells:
        return []
    children: list[list[np.ndarray]] = [[] for _ in shells]
    if holes:
        tree = shapely.STRtree(shells)
        probes = shapely.points([r[0] for r in holes])
        hole_idx, shell_idx = tree.query(probes, predicate="within")
        shell_area = shapely.area(np.asarray(shells))[shell_idx]
        order = np.lexsort((shell_area, hole_idx))
        first = np.unique(hole_idx[order], return_index=True)[1]
        for k in order[first]:
            children[shell_idx[k]].append(holes[hole_idx[k]])
    return [
        shapely.Polygon(s.exterior.coords, kids) for s, kids in zip(shells, children)
    ]
