"""Design-rule check on exported polygons.

Width and spacing follow the morphological-opening definition (as in
imageruler, Chen et al. 2024, and Schevenels et al. 2011 for length scale):
a point of a feature is too narrow when no disc of the rule's diameter that
fits inside the feature covers it. The opening is computed with polygon
offsets: erode by w/2 with round joins, dilate back by w/2 with mitre joins.
The mitre dilation restores convex corners exactly, so a sharp (or 45-degree
chamfered marching-squares) corner is not reported; what is left of
``feature - opening`` are necks, thin lines, small islands and spike tips.

Region-boundary convention (the same as the length-scale measurement): the
design region is padded with the phase being checked, so a feature or gap
that the region boundary cuts short is not a violation; a feature that is
narrow across its own width still is, wherever it sits.

Tolerance (default a tenth of a cell): a feature passes if it is within the
tolerance of the rule, and residue pieces thinner than twice the tolerance
are rounding noise from arcs and grid snapping and are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

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
    """All violations inside the design region, sorted by kind then position.

    polygons: device material in `layout.unit` (anywhere in the domain; only
    the design region is checked).
    tolerance_cells: features thinner than twice this (in cells) are noise.
    min_angle_deg: interior angles sharper than this are acute spikes.
    """
    tol = tolerance_cells * layout.cell_size
    region = shapely.box(*layout.design_box)
    margin = 2 * max(process.min_solid, process.min_void) + 2 * layout.cell_size
    pad = shapely.box(*layout.design_box).buffer(margin, join_style="mitre").difference(region)
    solid_in = as_multipolygon(shapely.intersection(polygons, region))
    void_in = as_multipolygon(region.difference(solid_in))
    found: list[Violation] = []
    sliver_area = (0.5 * layout.cell_size) ** 2
    for phase, rule, kind in (
        (solid_in, process.min_solid, "min_width"),
        (void_in, process.min_void, "min_spacing"),
    ):
        tiny = [p for p in phase.geoms if p.area < sliver_area and not _touches(p, region, tol)]
        found += [_at_centre("sliver", p) for p in tiny]
        padded = shapely.union(phase, pad)
        if tiny:
            padded = padded.difference(shapely.MultiPolygon(tiny))
        found += _narrow(padded, rule - tol, kind, region, tol)
        found += _spikes(padded, rule, region, tol, min_angle_deg)
    return tuple(sorted(found, key=lambda v: (v.kind, v.x, v.y)))


def _narrow(geom, rule, kind, region, tol) -> list[Violation]:
    opened = shapely.buffer(
        shapely.buffer(geom, -rule / 2, quad_segs=16), rule / 2, join_style="mitre", mitre_limit=10.0
    )
    residue = shapely.intersection(shapely.difference(geom, opened), region)
    out = []
    for piece in as_multipolygon(residue).geoms:
        if shapely.buffer(piece, -tol).is_empty:
            continue
        out.append(_at_centre(kind, piece))
    return out


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
