"""Design-rule check on exported polygons.

Width and spacing are checked as a foundry's deck checks them, edge against
edge under the Euclidean metric (KLayout's ``width_check`` and
``space_check`` at their defaults; :mod:`fabrication.edge_pairs`): two facing
edges closer than the rule anywhere, ends included, are a violation, one per
edge pair. So a 45-degree chamfer that faces the end of an opposite edge 79 nm
away is reported against a 100 nm rule, as KLayout reports it. The whole
layer is checked, as it would be on the mask: a feature that the design
region's edge cuts short is as narrow on the chip as it looks.

Slivers (pieces under a quarter cell in area) and acute spikes are checked
inside the design region, which is padded with the phase being checked so
the region's own corners are not reported. Tolerance (default a tenth of a
cell) applies to these two: residue thinner than twice it is noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from fabrication.edge_pairs import boundary_edges, facing_pairs
from fabrication.geometry import as_multipolygon
from fabrication.spec import Layout, Process

KINDS = ("min_width", "min_spacing", "sliver", "acute_angle")


@dataclass(frozen=True)
class Violation:
    """One rule violation, located in the layout's unit.

    size: the measured width (min_width, sliver), the measured gap
    (min_spacing), or for acute_angle the distance from the tip over which the
    wedge is narrower than the rule.
    """

    kind: str
    x: float
    y: float
    size: float

    def __str__(self) -> str:
        return f"{self.kind} at ({self.x:.4g}, {self.y:.4g}), size {self.size:.4g}"


def drc(
    polygons: shapely.Geometry,
    layout: Layout,
    process: Process,
    *,
    tolerance_cells: float = 0.1,
    min_angle_deg: float = 30.0,
) -> tuple[Violation, ...]:
    """All violations, sorted by kind then position.

    polygons: device material in `layout.unit`, on `process.grid`. Width and
    spacing are checked over all of it; slivers and spikes inside the design
    region.
    tolerance_cells: sliver and spike residue thinner than twice this (in
    cells) is noise.
    min_angle_deg: interior angles sharper than this are acute spikes.
    """
    tol = tolerance_cells * layout.cell_size
    region = shapely.box(*layout.design_box)
    margin = 2 * max(process.min_solid, process.min_void) + 2 * layout.cell_size
    pad = shapely.box(*layout.design_box).buffer(margin, join_style="mitre").difference(region)
    solid_in = as_multipolygon(shapely.intersection(polygons, region))
    void_in = as_multipolygon(region.difference(solid_in))
    found = _facing(polygons, process)
    sliver_area = (0.5 * layout.cell_size) ** 2
    for phase, rule in ((solid_in, process.min_solid), (void_in, process.min_void)):
        tiny = [p for p in phase.geoms if p.area < sliver_area and not _touches(p, region, tol)]
        found += [_at_centre("sliver", p) for p in tiny]
        padded = shapely.union(phase, pad)
        if tiny:
            padded = padded.difference(shapely.MultiPolygon(tiny))
        found += _spikes(padded, rule, region, tol, min_angle_deg)
    return tuple(sorted(found, key=lambda v: (v.kind, v.x, v.y)))


def _facing(polygons, process: Process) -> list[Violation]:
    """Width and spacing violations, one per facing edge pair (KLayout's Euclidean checks)."""
    start, end, polygon = boundary_edges(as_multipolygon(polygons), process.grid)
    found = []
    for kind, rule, (a, b), owner in (("min_width", process.min_solid, (start, end), polygon),
                                      ("min_spacing", process.min_void, (end, start), None)):
        found += [Violation(kind, p.at[0], p.at[1], p.distance)
                  for p in facing_pairs(a, b, rule, process.grid, owner)]
    return found


def _at_centre(kind: str, piece: shapely.Polygon) -> Violation:
    """Locate at the centre of the largest disc inside the piece; size is its diameter."""
    radius_line = shapely.maximum_inscribed_circle(piece, 1e-3 * math.sqrt(piece.area) + 1e-12)
    (cx, cy), _ = shapely.get_coordinates(radius_line)
    return Violation(kind, float(cx), float(cy), 2.0 * radius_line.length)


def _touches(piece, region, tol) -> bool:
    return piece.distance(region.exterior) <= tol


def _spikes(geom, rule, region, tol, min_angle_deg) -> list[Violation]:
    """Vertices whose interior angle (on the material side) is acute."""
    oriented = shapely.orient_polygons(as_multipolygon(geom))
    rings = shapely.get_rings(shapely.get_parts(oriented))
    out = []
    inner = region.buffer(-tol)
    for ring in rings:
        pts = shapely.get_coordinates(ring)[:-1]
        if len(pts) < 3:
            continue
        before = pts - np.roll(pts, 1, axis=0)
        after = np.roll(pts, -1, axis=0) - pts
        turn = np.arctan2(
            before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0],
            np.einsum("ij,ij->i", before, after),
        )
        interior = np.pi - turn
        long_enough = np.minimum(np.hypot(*before.T), np.hypot(*after.T)) > tol
        for k in np.flatnonzero((interior < math.radians(min_angle_deg)) & long_enough):
            if not inner.contains(shapely.Point(pts[k])):
                continue
            reach = rule / (2.0 * math.tan(interior[k] / 2.0))
            out.append(Violation("acute_angle", float(pts[k, 0]), float(pts[k, 1]), reach))
    return out
