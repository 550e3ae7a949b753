"""Binary STL of the printable part, in mm, via manifold3d and trimesh.

The part: device polygons extruded by the slab thickness on top of a base
plate under the design region, with a full-height frame of `frame_width`
around the design region. Footprints are unioned in 2D (shapely) and each
layer is extruded by manifold3d, whose booleans guarantee a closed,
consistently wound, 2-manifold result. x, y are the layout's physical
coordinates (domain lower-left at the origin) converted to mm, the same
placement as the GDS; z = 0 is the underside of the base plate.
STL cannot hold markers: a reader takes them from the run's Layout.
"""

from __future__ import annotations

import os
from pathlib import Path

import manifold3d
import numpy as np
import shapely
import shapely.affinity
import trimesh

from fabrication.errors import FabricationExportError, FabricationReadError
from fabrication.geometry import as_multipolygon
from fabrication.spec import MM_PER_UNIT, Layout, Process, ReadResult
from fabrication.stl_load import load_mesh as _load_mesh

SLIVER_FRACTION = 0.01  # parts under this many cell areas are read as noise


def write_stl(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    """Write the part as binary STL in mm; checks it is one body if asked."""
    mesh = part_mesh(polygons, layout, process)
    Path(path).write_bytes(mesh.export(file_type="stl"))


def part_mesh(polygons: shapely.MultiPolygon, layout: Layout, process: Process) -> trimesh.Trimesh:
    """The printable part as a watertight trimesh, in mm."""
    mm = MM_PER_UNIT[layout.unit]
    slab, base = footprints(polygons, layout, process)
    solid = manifold3d.Manifold()
    if process.base_thickness > 0:
        solid += _extrude(base, mm, 0.0, process.base_thickness * mm)
    z0 = process.base_thickness * mm
    solid += _extrude(slab, mm, z0, process.slab_thickness * mm)
    if solid.is_empty():
        raise FabricationExportError("nothing to print: no device polygons, base plate or frame.")
    bodies = solid.decompose()
    if process.single_body and len(bodies) > 1:
        loose = min(bodies, key=lambda b: b.volume())
        lo = loose.bounding_box()
        raise FabricationExportError(
            f"the part is {len(bodies)} separate bodies but single_body is set; "
            f"the smallest starts at ({lo[0] / mm:g}, {lo[1] / mm:g}) {layout.unit}."
        )
    out = solid.to_mesh()
    return trimesh.Trimesh(out.vert_properties[:, :3], out.tri_verts, process=True)


def footprints(polygons, layout: Layout, process: Process):
    """(slab, base) footprints in the layout unit.

    slab: device polygons plus the frame ring; base: design region plus frame.
    """
    region = shapely.box(*layout.design_box)
    outer = region.buffer(process.frame_width, join_style="mitre") if process.frame_width > 0 else region
    slab = shapely.union(as_multipolygon(polygons), outer.difference(region))
    return _close_pinches(slab, process.grid), outer


def _close_pinches(footprint, grid: float) -> shapely.MultiPolygon:
    """Merge rings that touch at a single point.

    A marching-squares vertex often lands exactly on the design-region edge,
    so the union with the frame can leave a hole touching its shell at one
    point; extruded, that is an edge shared by four faces once coincident
    vertices are merged (as STL readers do). A closing by half a grid step
    with round joins turns each such point into a tiny bridge; elsewhere it
    only rounds concave corners to that radius (area change ~0.2 eps^2 each).
    Mitre joins would not do: they restore the pinch exactly.
    """
    eps = 0.5 * grid
    grown = shapely.buffer(footprint, eps, quad_segs=2)
    closed = shapely.buffer(grown, -eps, quad_segs=2)
    return as_multipolygon(closed)


def read_stl(path: str | os.PathLike, layout: Layout, process: Process) -> ReadResult:
    """Section the part at mid-slab height; polygons in `layout.unit`.

    The frame's footprint is removed, so device material under the frame
    cannot be told from the frame. Raises FabricationReadError when the file
    is unreadable or empty, has no material at mid-slab, or its height or
    extent does not match `process` / `layout` (wrong units).
    """
    name = Path(path).name
    mesh = _load_mesh(path)
    mm = MM_PER_UNIT[layout.unit]
    _check_extent(name, mesh, layout, process, mm)
    z_mid = (process.base_thickness + 0.5 * process.slab_thickness) * mm
    section = mesh.section(plane_origin=[0.0, 0.0, z_mid], plane_normal=[0.0, 0.0, 1.0])
    if section is None:
        raise FabricationReadError(f"{name}: no material at mid-slab height z = {z_mid:g} mm.")
    drop_z = np.eye(4)
    drop_z[2, 3] = -z_mid  # a pure shift keeps the original x, y
    planar, _ = section.to_2D(to_2D=drop_z)
    area = shapely.MultiPolygon(list(planar.polygons_full))
    frame, _ = footprints(shapely.MultiPolygon(), layout, process)
    device = shapely.difference(shapely.affinity.scale(area, 1 / mm, 1 / mm, origin=(0, 0)), frame)
    # Subtracting the frame leaves float32 slivers along its inner edge.
    crumbs = SLIVER_FRACTION * layout.cell_size**2
    return ReadResult(polygons=shapely.MultiPolygon([p for p in as_multipolygon(device).geoms if p.area > crumbs]))


def _extrude(footprint, mm: float, z0: float, height: float) -> manifold3d.Manifold:
    rings = [
        np.asarray(ring.coords)[:-1] * mm
        for poly in as_multipolygon(footprint).geoms
        for ring in (poly.exterior, *poly.interiors)
    ]
    if not rings:
        return manifold3d.Manifold()
    section = manifold3d.CrossSection(rings, manifold3d.FillRule.EvenOdd)
    return section.extrude(height).translate((0.0, 0.0, z0))


def _check_extent(name, mesh, layout: Layout, process: Process, mm: float) -> None:
    height = (process.base_thickness + process.slab_thickness) * mm
    (x0, y0, z0), (x1, y1, z1) = mesh.bounds
    tol = 0.01 * height
    if abs(z0) > tol or abs(z1 - height) > tol:
        raise FabricationReadError(
            f"{name}: part spans z = {z0:g}..{z1:g} mm, expected 0..{height:g} mm "
            f"(base + slab); wrong units or process?"
        )
    fw = process.frame_width
    dx0, dy0, dx1, dy1 = layout.domain_box
    limit = np.array([dx0 - fw, dy0 - fw, dx1 + fw, dy1 + fw]) * mm
    slack = 0.01 * layout.cell_size * mm
    if x0 < limit[0] - slack or y0 < limit[1] - slack or x1 > limit[2] + slack or y1 > limit[3] + slack:
        raise FabricationReadError(
            f"{name}: part spans x = {x0:g}..{x1:g}, y = {y0:g}..{y1:g} mm, outside the "
            f"domain {limit[0]:g}..{limit[2]:g} x {limit[1]:g}..{limit[3]:g} mm; wrong units or layout?"
        )
