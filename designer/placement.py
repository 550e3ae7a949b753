"""Probes placed automatically: one per name (a class, or a readout's port), in order, beside the design region's output side.

The output side is the side of the design region that faces away from the
sources. Probes stand in a row along it, at integer cells, evenly spread over
the side's length, just outside the region's keep-out (x >= x1 + keepout +
radius on the right side, as ``config._check_geometry`` demands). The radius is
``PROBE_RADIUS_CELLS``, shrunk when the classes are many so that neighbouring
probe discs stay apart with a clear cell between them; the row must also keep
clear of the absorbing layer.

A template that drills each port through a printed lid (``[print] ports``)
gives every probe a hole there, which the printer must leave open: the disc
is at least the template's minimum void across and the lid between two holes
at least its minimum solid (:func:`lid_port_rule`). When one row cannot keep
that, the probes alternate between two rows (even indices on the inner row,
odd on the outer), so that neighbours in a row stand two pitches apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from templates import Template

    from .config import GridSpec, ProbeSpec, RegionSpec, SourceSpec

__all__ = ["LidPortRule", "lid_port_rule", "place_probes", "output_side", "PROBE_RADIUS_CELLS", "MIN_RADIUS_CELLS"]

PROBE_RADIUS_CELLS = 2.0
MIN_RADIUS_CELLS = 0.5


@dataclass(frozen=True)
class LidPortRule:
    """Holes through a printed lid: each at least ``hole_cells`` across, at least ``bridge_cells`` of lid between two."""

    hole_cells: float
    bridge_cells: float


def lid_port_rule(template: "Template") -> LidPortRule | None:
    """The template's rule for its lid's port holes (its minimum void and solid), or None without such holes."""
    p = template.printing
    if not (p.ports and p.lid_thickness_m > 0):
        return None
    return LidPortRule(template.min_void_cells, template.min_solid_cells)


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
                 classes: tuple[str, ...], edge_cells: int | None = None,
                 ports: LidPortRule | None = None) -> tuple["ProbeSpec", ...]:
    """One probe per entry of ``classes`` (the readout's ports), named after it; ValueError (one line) when they do not fit.

    edge_cells: cells along each edge of the grid no probe may reach (the
    absorbing layer, and a printed frame around the domain); default the absorber.
    ports: the lid's hole rule when the probes are holes in a printed lid.
    """
    from .config import ProbeSpec

    n = len(classes)
    side = output_side(region, sources)
    along_y = side in ("right", "left")
    start, stop = (region.y0_cells, region.y1_cells) if along_y else (region.x0_cells, region.x1_cells)
    pitch = (stop - start) / n
    smallest = max(MIN_RADIUS_CELLS, ports.hole_cells / 2 - 1e-9) if ports else MIN_RADIUS_CELLS
    clear = max(1.0, ports.bridge_cells - 1e-9) if ports else 1.0
    # Neighbours in one row stand at least floor(pitch) cells apart (floor(a + b) >= floor(a) + floor(b)).
    def fitting(spacing: float) -> float:  # the largest whole or half-cell radius with ``clear`` between discs
        return min(PROBE_RADIUS_CELLS, math.floor(spacing - clear) / 2)

    radius, rows = fitting(math.floor(pitch)), 1
    if radius < smallest and ports:
        radius, rows = fitting(math.floor(2 * pitch)), 2
    if radius < smallest:
        if ports:
            raise ValueError(f"{n} lid ports {2 * smallest:.3g} cells across with {clear:.3g} cells of lid between "
                             f"them need about {math.ceil(n * (2 * smallest + clear) / 2)} cells along the design "
                             f"region's {side} side in two rows, which is {stop - start} cells; widen the region, "
                             "use fewer classes or give [[probes]]")
        raise ValueError(f"{n} classes need at least {2 * n} cells along the design region's {side} side, which "
                         f"is {stop - start} cells; widen the region or give [[probes]]")
    row_step = math.ceil(2 * radius + clear) if rows == 2 else 0
    gap = region.keepout_cells + radius
    outward = side in ("right", "top")
    if side == "right":
        across = math.ceil(region.x1_cells + gap)
    elif side == "left":
        across = math.ceil(region.x0_cells - gap) - 1
    elif side == "top":
        across = math.ceil(region.y1_cells + gap)
    else:
        across = math.ceil(region.y0_cells - gap) - 1
    outer = across + row_step if outward else across - row_step
    w = grid.absorber_cells if edge_cells is None else edge_cells
    limit = grid.nx if along_y else grid.ny
    if not all(w + radius <= a <= limit - w - 1 - radius for a in (across, outer)):
        axis = "nx" if along_y else "ny"
        need = outer if rows == 2 else across
        raise ValueError(f"no room for the probes on the design region's {side} side: they need cell {need} "
                         f"across, outside the {w}-cell absorbing layer (and frame) of a grid {limit} cells wide; grow grid.{axis}, "
                         "shrink the region, or give [[probes]]")
    probes = []
    for i, name in enumerate(classes):
        position = start + math.floor((i + 0.5) * pitch)
        a = outer if i % rows else across
        x, y = (a, position) if along_y else (position, a)
        probes.append(ProbeSpec(x_cells=x, y_cells=y, name=name, radius_cells=radius))
    return tuple(probes)
