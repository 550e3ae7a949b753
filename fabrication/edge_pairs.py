"""Width and space measured as KLayout measures them: facing edge pairs, Euclidean metric.

A foundry's DRC deck checks a minimum width ``d`` edge against edge
(KLayout ``Region.width_check(d)``, its default Euclidean metric and 90-degree
ignore angle; the relation is defined in KLayout's ``dbEdgePairRelations.cc``
and the shielding in ``dbRegionCheckUtils.cc``). With each boundary edge
directed so that the checked phase lies on its left, two edges ``a`` and ``b``
violate the rule when

1. they face each other: the angle between ``a`` and ``b`` reversed is below
   90 degrees, ``dot(a, b) < 0``;
2. the part of ``b`` strictly on the left of ``a``'s line comes closer than
   ``d`` to the segment ``a``, and the same holds with ``a`` and ``b``
   swapped. The distance is Euclidean between segments, so an edge's end
   counts: a 45-degree chamfer facing the end of an opposite edge is measured
   corner to corner, not by projection;
3. no third edge cuts across the corridor between them: an edge that crosses
   both lines joining the ends of the two near parts shields the pair.

A space check is the same test on the edges reversed (the gap on their left).
Coordinates are taken in units of the manufacturing grid, where the exported
polygons' vertices are integers, so the side tests are exact; a distance
counts as below the rule only when it is below it by more than round-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["EdgePair", "boundary_edges", "facing_pairs"]

_ROUNDOFF = 1e-9
"""Relative margin under which a distance equals the rule (floating-point noise only)."""


@dataclass(frozen=True)
class EdgePair:
    """One violation: the near parts of two facing edges, in the polygons' unit.

    first / second: ((x0, y0), (x1, y1)) of each near part; distance: the
    Euclidean distance between them; at: the mean of their four ends, inside
    the neck or gap they bound.
    """

    first: tuple[tuple[float, float], tuple[float, float]]
    second: tuple[tuple[float, float], tuple[float, float]]
    distance: float
    at: tuple[float, float]


def boundary_edges(geom: shapely.Geometry, grid: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed boundary edges with the interior on the left, in grid units.

    Returns starts and ends, each (E, 2), and the index of each edge's
    polygon (E,). Vertices are rounded to the grid and collinear ones
    dropped, so an edge is a whole straight side, as KLayout sees the merged
    polygon.
    """
    parts = shapely.get_parts(shapely.orient_polygons(geom))
    rings, owner = shapely.get_rings(parts, return_index=True)
    starts, ends, polygon = [], [], []
    for ring, k in zip(rings, owner):
        pts = np.round(shapely.get_coordinates(ring)[:-1] / grid)
        pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
        while len(pts) >= 3:
            before, after = pts - np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0) - pts
            straight = (_cross(before, after) == 0) & (_dot(before, after) > 0)
            if not straight.any():
                break
            pts = pts[~straight]
        if len(pts) >= 3:
            starts.append(pts)
            ends.append(np.roll(pts, -1, axis=0))
            polygon.append(np.full(len(pts), k))
    if not starts:
        return np.empty((0, 2)), np.empty((0, 2)), np.empty(0, int)
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(polygon)


def facing_pairs(start: np.ndarray, end: np.ndarray, distance: float, grid: float,
                 polygon: np.ndarray | None = None) -> list[EdgePair]:
    """Edge pairs closer than ``distance`` across the phase on the edges' left.

    start, end: (E, 2) directed edges (phase on the left) in grid units, as
    :func:`boundary_edges` gives them; swap them to check the gap instead.
    distance and grid: in the polygons' unit, as are the pairs returned.
    polygon: optional (E,) polygon index of each edge; given, only edges of
    one polygon are paired (a width is measured inside one shape, a space
    between shapes and inside notches).
    """
    if len(start) < 2:
        return []
    p0, p1 = start, end
    d = distance / grid
    i, j = _candidates(p0, p1, d)
    if polygon is not None:
        same = polygon[i] == polygon[j]
        i, j = i[same], j[same]
    a0, a1, b0, b1 = p0[i], p1[i], p0[j], p1[j]
    facing = _dot(a1 - a0, b1 - b0) < 0
    i, j, a0, a1, b0, b1 = i[facing], j[facing], a0[facing], a1[facing], b0[facing], b1[facing]
    near_b = _near_part(a0, a1, b0, b1, d)
    near_a = _near_part(b0, b1, a0, a1, d)
    hit = ~np.isnan(near_b[:, 0]) & ~np.isnan(near_a[:, 0])
    pairs = []
    lines = shapely.linestrings(np.stack([p0, p1], axis=1))
    tree = shapely.STRtree(lines)
    for k in np.flatnonzero(hit):
        fa, fb = near_a[k].reshape(2, 2), near_b[k].reshape(2, 2)
        if _shielded(fa, fb, tree, lines, (i[k], j[k])):
            continue
        gap = _segment_distance(fa, fb)
        cx, cy = 0.25 * (fa.sum(axis=0) + fb.sum(axis=0))
        pairs.append(EdgePair(_unit(fa, grid), _unit(fb, grid), gap * grid, (cx * grid, cy * grid)))
    return pairs


def _candidates(p0: np.ndarray, p1: np.ndarray, d: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of edges whose bounding boxes come within ``d``."""
    boxes = shapely.box(np.minimum(p0[:, 0], p1[:, 0]), np.minimum(p0[:, 1], p1[:, 1]),
                        np.maximum(p0[:, 0], p1[:, 0]), np.maximum(p0[:, 1], p1[:, 1]))
    tree = shapely.STRtree(boxes)
    i, j = tree.query(boxes, predicate="dwithin", distance=d)
    keep = i < j
    return i[keep], j[keep]


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1]


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _near_part(e0, e1, g0, g1, d) -> np.ndarray:
    """Part of each edge g strictly left of e's line and closer than d to e: (N, 4) ends, NaN where none.

    Whether there is one is decided by the distance from e to the part of g
    left of e's line. The points closer than d to a segment form a convex
    stadium, so the near part is one interval of g's parameter: the hull of
    where g's line is inside each end disc and inside the band along e.
    """
    ed, gd = e1 - e0, g1 - g0
    s0, s1 = _cross(ed, g0 - e0), _cross(ed, g1 - e0)
    lo, hi = _left_interval(s0, s1)
    left = lo < hi
    c0 = g0 + np.where(left, lo, 0.0)[:, None] * gd
    c1 = g0 + np.where(left, hi, 0.0)[:, None] * gd
    gap = np.where(left, _segments_gap(e0, e1, c0, c1), np.inf)
    elen = np.hypot(ed[:, 0], ed[:, 1])
    u0, du = _dot(g0 - e0, ed) / elen, _dot(gd, ed) / elen
    v0, dv = s0 / elen, (s1 - s0) / elen
    band_lo, band_hi = _linear_interval(u0, du, 0.0, elen)
    vlo, vhi = _linear_interval(v0, dv, -d, d)
    band_lo, band_hi = np.maximum(band_lo, vlo), np.minimum(band_hi, vhi)
    band_ok = band_lo < band_hi
    t_lo = np.where(band_ok, band_lo, np.inf)
    t_hi = np.where(band_ok, band_hi, -np.inf)
    glen2 = _dot(gd, gd)
    for o in (e0, e1):
        b = _dot(g0 - o, gd) / glen2
        c = (_dot(g0 - o, g0 - o) - d * d) / glen2
        s = b * b - c
        ok = s > 0
        root = np.sqrt(np.where(ok, s, 0.0))
        t_lo = np.where(ok, np.minimum(t_lo, -b - root), t_lo)
        t_hi = np.where(ok, np.maximum(t_hi, -b + root), t_hi)
    # Below the rule by more than round-off: a tangent (distance exactly d) is no violation.
    found = gap < d * (1.0 - _ROUNDOFF)
    t_lo = np.where(found, np.maximum(t_lo, lo), 0.0)
    t_hi = np.where(found, np.minimum(t_hi, hi), 0.0)
    near = np.concatenate([g0 + t_lo[:, None] * gd, g0 + t_hi[:, None] * gd], axis=1)
    near[~found] = np.nan
    return near


def _segments_gap(a0, a1, b0, b1) -> np.ndarray:
    """Distance between segments that do not cross: the least of the four end-to-segment distances."""
    out = np.full(len(a0), np.inf)
    for p, s0, s1 in ((a0, b0, b1), (a1, b0, b1), (b0, a0, a1), (b1, a0, a1)):
        sd = s1 - s0
        t = np.clip(_dot(p - s0, sd) / np.maximum(_dot(sd, sd), 1e-300), 0.0, 1.0)
        q = s0 + t[:, None] * sd
        out = np.minimum(out, np.hypot(*(p - q).T))
    return out


def _left_interval(s0: np.ndarray, s1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameter interval of a segment where its signed side value (s0 -> s1, linear) is > 0."""
    t_cut = np.divide(s0, s0 - s1, out=np.zeros_like(s0, dtype=float), where=s0 != s1)
    lo = np.where(s0 > 0, 0.0, np.where(s1 > 0, t_cut, np.inf))
    hi = np.where(s1 > 0, 1.0, np.where(s0 > 0, t_cut, -np.inf))
    return lo, hi


def _linear_interval(f0, df, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Interval of t where lo < f0 + t * df < hi (all t, or none, when df == 0)."""
    safe = np.where(df == 0, 1.0, df)
    ta, tb = (lo - f0) / safe, (hi - f0) / safe
    t0, t1 = np.minimum(ta, tb), np.maximum(ta, tb)
    inside = (f0 > lo) & (f0 < hi)
    t0 = np.where(df == 0, np.where(inside, -np.inf, np.inf), t0)
    t1 = np.where(df == 0, np.where(inside, np.inf, -np.inf), t1)
    return t0, t1


def _shielded(fa: np.ndarray, fb: np.ndarray, tree: shapely.STRtree, lines, own: tuple[int, int]) -> bool:
    """Whether a third edge cuts both lines joining the near parts' ends (KLayout's shielding).

    An edge that meets both only at one common point shields only if its
    ends lie off those lines (it crosses there rather than ending there).
    """
    side1, side2 = np.array([fa[0], fb[1]]), np.array([fb[0], fa[1]])
    s1, s2 = shapely.LineString(side1), shapely.LineString(side2)
    for q in tree.query(shapely.MultiLineString([s1, s2]).envelope):
        if q in own:
            continue
        x1, x2 = shapely.intersection(lines[q], s1), shapely.intersection(lines[q], s2)
        if x1.is_empty or x2.is_empty:
            continue
        ends = shapely.get_coordinates(lines[q])
        off = [_cross(line[1] - line[0], end - line[0]) != 0 for line, end in ((side1, ends[0]), (side2, ends[1]))]
        if not x1.equals(x2) or all(off):
            return True
    return False


def _segment_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between segments a, b ((2, 2) each) that do not cross."""
    return float(_segments_gap(a[None, 0], a[None, 1], b[None, 0], b[None, 1])[0])


def _unit(seg: np.ndarray, grid: float) -> tuple[tuple[float, float], tuple[float, float]]:
    return (float(seg[0, 0] * grid), float(seg[0, 1] * grid)), (float(seg[1, 0] * grid), float(seg[1, 1] * grid))
