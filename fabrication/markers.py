"""Source and probe markers as shapes in the layout's unit."""

from __future__ import annotations

from dataclasses import dataclass

import shapely

from fabrication.spec import Layout


@dataclass(frozen=True)
class MarkerShape:
    """role is "source" or "probe"; anchor is where its name label goes."""

    role: str
    name: str
    shape: shapely.Polygon
    anchor: tuple[float, float]


def marker_shapes(layout: Layout) -> tuple[MarkerShape, ...]:
    """A point source fills its cell, a line source every cell along it, a
    probe is a disc of its radius around its cell's centre."""
    h = layout.cell_size
    out = []
    for src in layout.sources:
        ends = [(src.cells[0], src.cells[1]), (src.cells[-2], src.cells[-1])]
        centres = [((ix + 0.5) * h, (iy + 0.5) * h) for ix, iy in ends]
        if centres[0] == centres[1]:
            shape = shapely.Point(centres[0]).buffer(h / 2, cap_style="square")
        else:
            shape = shapely.LineString(centres).buffer(h / 2, cap_style="square")
        mid = ((centres[0][0] + centres[1][0]) / 2, (centres[0][1] + centres[1][1]) / 2)
        out.append(MarkerShape("source", src.name, shape, mid))
    for probe in layout.probes:
        ix, iy = probe.centre_cells
        centre = ((ix + 0.5) * h, (iy + 0.5) * h)
        disc = shapely.Point(centre).buffer(probe.radius_cells * h, quad_segs=16)
        out.append(MarkerShape("probe", probe.name, disc, centre))
    return tuple(out)
