"""Density array -> polygons with holes, in physical units.

The 0.5 iso-line of the density is traced with marching squares
(Lorensen & Cline 1987, as implemented by `skimage.measure.find_contours`)
on cell centres, so a fractional design comes out with sub-cell edge
positions. Marching squares cuts every pixel corner of a binary design at
45 degrees, a chamfer with legs of half a cell. A foundry's width check
(Euclidean, see :mod:`fabrication.edge_pairs`) measures such a chamfer
corner to corner against the opposite side: the end of a bar two cells wide,
or a 2 x 2 island, then measures 1.58 cells against a 2-cell rule. So a
binary design keeps its chamfers only inside staircases, at corners whose
two pixel edges are both one cell long, where the chamfers join into a
straight 45-degree side (a diagonal line two cells wide keeps a width of
2.1 cells instead of the 1.4 cells between its inner pixel corners); every
other corner is drawn sharp, exactly on the pixel boundary. At a corner
where two cells of a phase meet only diagonally the chamfer stays, so the
two polygons do not touch.

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
    keeps its corners) instead of chamfering it. Pixel corners outside
    staircases are put back (:func:`_sharpen`).
    """
    padded = np.pad(np.pad(values, 1, mode="edge"), 1, constant_values=min(0.0, values.min()))
    contours = find_contours(
        padded, threshold, fully_connected="low", positive_orientation="high"
    )
    solid = padded > threshold
    return [(_sharpen(c, solid) - 1.5) * h for c in contours if len(c) >= 4]


def _sharpen(ring: np.ndarray, solid: np.ndarray) -> np.ndarray:
    """Marching-squares ring with the pixel corner put back at isolated chamfers.

    ring: closed (first == last) in array index units. Where the density
    steps from one side of the threshold to the other symmetrically (a
    binary design), a vertex is the midpoint of a pixel edge, and a diagonal
    step between two such vertices is a chamfer across the pixel corner
    between them. It stays when the steps before and after it are diagonal
    too (a staircase) or the corner is a diagonal contact; fractional
    crossings are left as traced.
    """
    pts = ring[:-1]
    step = np.roll(pts, -1, axis=0) - pts
    frac = pts % 1
    midpoint = ((frac[:, 0] == 0.5) & (frac[:, 1] == 0)) | ((frac[:, 0] == 0) & (frac[:, 1] == 0.5))
    diagonal = (step[:, 0] != 0) & (step[:, 1] != 0)
    staircase = np.roll(diagonal, 1) & np.roll(diagonal, -1)
    k = np.flatnonzero(diagonal & ~staircase & midpoint & np.roll(midpoint, -1))
    p, q = pts[k], pts[(k + 1) % len(pts)]
    # The corner takes the half-integer coordinate of each end: x from the
    # end on a vertical pixel edge, y from the one on a horizontal edge.
    corner = np.where(p % 1 == 0.5, p, q)
    a, b = np.floor(corner).astype(int).T
    contact = (solid[a, b] == solid[a + 1, b + 1]) & (solid[a + 1, b] == solid[a, b + 1]) & (solid[a, b] != solid[a + 1, b])
    k, corner = k[~contact], corner[~contact]
    out = np.insert(pts, k + 1, corner, axis=0)
    return np.vstack([out, out[:1]])


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
