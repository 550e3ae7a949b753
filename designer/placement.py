"""Probes placed automatically: one per name (a class, or a readout's port), in order, beside the design region's output side.

The output side is the side of the design region that faces away from the
sources. Probes stand in a row along it, at integer cells, evenly spread over
the side's length, just outside the region's keep-out (x >= x1 + keepout +
radius on the right side, as ``config._check_geometry`` demands). The radius is
``PROBE_RADIUS_CELLS``, shrunk when the classes are many so that neighbouring
probe discs stay apart with a clear cell between them; the row must also keep
clear of the absorbing layer.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import GridSpec, ProbeSpec, RegionSpec, SourceSpec

__all__ = ["place_probes", "output_side", "PROBE_RADIUS_CELLS", "MIN_RADIUS_CELLS"]

PROBE_RADIUS_CELLS = 2.0
MIN_RADIUS_CELLS = 0.5


def output_side(region: "RegionSpec", sources: tuple["SourceSpec", ...]) -> str:
    """'right', 'left', 'top' or 'bottom': the region's side facing away from the sources' mean position."""
    sx = sum(s.x_cells for s in sources) / len(sources)
    sy = sum(s.y_cells for s in sources) / len(sources)
    cx, cy = (region.x0_cells + region.x1_cells) / 2, (region.y0_cells + region.y1_cells) / 2
    dx = (cx - sx) / max(region.x1_cells - region.x0_cells, 1)
    dy = (cy - sy) / max(region.y1_cells - region.y0_cells, 1)
    if abs(dx) >= abs(dy):
        return "right" if dx >= 0 else "left"
    return "top" if dy > 0 else "bottom"


def place_probes(grid: "GridSpec", region: "RegionSpec", sources: tuple["SourceSpec", ...],
                 classes: tuple[str, ...], edge_cells: int | None = None) -> tuple["ProbeSpec", ...]:
    """One probe per entry of ``classes`` (the readout's ports), named after it; ValueError (one line) when they do not fit.

    edge_cells: cells along each edge of the grid no probe may reach (the
    absorbing layer, and a printed frame around the domain); default the absorber.
    """
    from .config import ProbeSpec

    n = len(classes)
    side = output_side(region, sources)
    along_y = side in ("right", "left")
    start, stop = (region.y0_cells, region.y1_cells) if along_y else (region.x0_cells, region.x1_cells)
    pitch = (stop - start) / n
    radius = min(PROBE_RADIUS_CELLS, (math.floor(pitch) - 1) / 2)
    if radius < MIN_RADIUS_CELLS:
        raise ValueError(f"{n} classes need at least {2 * n} cells along the design region's {side} side, which "
                         f"is {stop - start} cells; widen the region or give [[probes]]")
    gap = region.keepout_cells + radius
    if side == "right":
        across = math.ceil(region.x1_cells + gap)
    elif side == "left":
        across = math.ceil(region.x0_cells - gap) - 1
    elif side == "top":
        across = math.ceil(region.y1_cells + gap)
    else:
        across = math.ceil(region.y0_cells - gap) - 1
    w = grid.absorber_cells if edge_cells is None else edge_cells
    limit = grid.nx if along_y else grid.ny
    if not (w + radius <= across <= limit - w - 1 - radius):
        axis = "nx" if along_y else "ny"
        raise ValueError(f"no room for the probes on the design region's {side} side: they need cell {across} "
                         f"across, outside the {w}-cell absorbing layer (and frame) of a grid {limit} cells wide; grow grid.{axis}, "
                         "shrink the region, or give [[probes]]")
    probes = []
    for i, name in enumerate(classes):
        position = start + math.floor((i + 0.5) * pitch)
        x, y = (across, position) if along_y else (position, across)
        probes.append(ProbeSpec(x_cells=x, y_cells=y, name=name, radius_cells=radius))
    return tuple(probes)
