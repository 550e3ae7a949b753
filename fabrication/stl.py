"""Binary STL of the printable part, in mm, via manifold3d and trimesh.

The part: the device polygons (every wall, a printed frame included) extruded
by the slab thickness on a base plate under the design region or the whole
domain, and, when the process has one, a lid over the whole domain with a port
hole above each source and probe. Footprints are built in 2D (shapely) and each
layer is extruded by manifold3d, whose booleans guarantee closed, consistently
wound, 2-manifold bodies. x, y are the layout's physical coordinates (domain
lower-left at the origin) converted to mm, the same placement as the GDS; z = 0
is the underside of the base plate. The lid is a second body, written one
manufacturing-grid step above the walls so that the two solids stay separate
(it rests on them when assembled). Nothing is added that the simulation does
not see: the walls are the 2D map, and the plates and ports are what the 3D
check adds around it. STL cannot hold markers: a reader takes them from the
run's Layout.

A relief (``Process.levels`` = N >= 2) is given as N footprints, bottom
first: layer j's walls rise (j + 1) / N of the slab above the base, and the
layers, the base and the frame are fused into one body. Read back, the part is
sectioned at the middle of every layer.
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
from fabrication.markers import marker_shapes
from fabrication.spec import MM_PER_UNIT, Layout, Process, ReadResult
from fabrication.stl_load import load_mesh as _load_mesh


def write_stl(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    """Write the part as binary STL in mm; checks the base and walls are one body if asked."""
    mesh = part_mesh(polygons, layout, process)
    Path(path).write_bytes(mesh.export(file_type="stl"))


def lid_gap(process: Process) -> float:
    """Height between the walls' tops and the lid's underside, in the layout unit."""
    return process.grid if process.lid_thickness > 0 else 0.0


def part_height(process: Process) -> float:
    """Top of the part above the base's underside, in the layout unit."""
    return process.height + lid_gap(process)


def part_mesh(polygons: shapely.MultiPolygon, layout: Layout, process: Process) -> trimesh.Trimesh:
    """The printable part as a watertight trimesh in mm (one or two bodies).

    ``polygons``: the walls' footprint, or for a relief a sequence of
    ``process.levels`` footprints, bottom first.
    """
    mm = MM_PER_UNIT[layout.unit]
    stack = relief_footprints(polygons, process)
    _, base, lid = footprints(stack[0], layout, process)
    step = process.slab_thickness / len(stack)
    # Each layer's prism rises from the base's top to the layer's top: the nested prisms overlap, so
    # their union is one solid (prisms stacked face to face would meet at planes that round-off splits).
    layers = [_extrude(_close_pinches(as_multipolygon(f), process.grid), mm,
                       process.base_thickness * mm, (j + 1) * step * mm) for j, f in enumerate(stack)]
    if process.base_thickness > 0:
        layers.insert(0, _extrude(base, mm, 0.0, process.base_thickness * mm))
    # One union of the two prisms (an empty Manifold plus each in turn can leave
    # the shared plane non-manifold).
    layers = [layer for layer in layers if not layer.is_empty()]
    if not layers:
        raise FabricationExportError("nothing to print: no device polygons and no base plate.")
    body = manifold3d.Manifold.batch_boolean(layers, manifold3d.OpType.Add) if len(layers) > 1 else layers[0]
    if body.is_empty():
        raise FabricationExportError("nothing to print: no device polygons and no base plate.")
    pieces = body.decompose()
    if process.single_body and len(pieces) > 1:
        loose = min(pieces, key=lambda b: b.volume())
        lo = loose.bounding_box()
        raise FabricationExportError(
            f"the part is {len(pieces)} separate bodies but single_body is set; "
            f"the smallest starts at ({lo[0] / mm:g}, {lo[1] / mm:g}) {layout.unit}."
        )
    meshes = [_to_trimesh(body)]
    if lid is not None:
        z0 = (process.base_thickness + process.slab_thickness + lid_gap(process)) * mm
        meshes.append(_to_trimesh(_extrude(lid, mm, z0, process.lid_thickness * mm)))
    return trimesh.util.concatenate(meshes)


def relief_footprints(polygons, process: Process) -> list:
    """The footprints to stack, bottom first: ``[polygons]`` for one wall height, the relief's layers otherwise."""
    if process.levels == 1:
        if not isinstance(polygons, shapely.Geometry):
            raise FabricationExportError("walls of one height take one footprint, not a sequence of layers.")
        return [polygons]
    if isinstance(polygons, shapely.Geometry) or len(polygons) != process.levels:
        got = "one footprint" if isinstance(polygons, shapely.Geometry) else f"{len(polygons)} footprints"
        raise FabricationExportError(f"a relief of {process.levels} wall heights takes {process.levels} "
                                     f"footprints, bottom first; got {got}.")
    return list(polygons)


def port_shapes(layout: Layout) -> list[shapely.Polygon]:
    """Holes through the lid: a source's marker grown by half a cell, a probe's disc."""
    h = layout.cell_size
    return [m.shape.buffer(h / 2, quad_segs=8) if m.role == "source" else m.shape for m in marker_shapes(layout)]


def footprints(polygons, layout: Layout, process: Process):
    """(walls, base, lid) footprints in the layout unit; lid is None without one.

    walls: the device polygons, pinches closed. base: the design region or the
    domain, half a grid step wider. lid: the domain, less the ports when the
    process has them.
    """
    box = layout.design_box if process.base_under == "design_region" else layout.domain_box
    # Half a grid step wider, so that no wall edge or vertex coincides with the base's
    # outline (a wall touching it along a line or at a point makes a non-manifold edge).
    base = shapely.box(*box).buffer(0.5 * process.grid, join_style="mitre")
    lid = None
    if process.lid_thickness > 0:
        lid = shapely.box(*layout.domain_box)
        if process.ports:
            lid = lid.difference(shapely.union_all(port_shapes(layout)))
    return _close_pinches(as_multipolygon(polygons), process.grid), base, lid


def _close_pinches(footprint, grid: float) -> shapely.MultiPolygon:
    """Merge rings that touch at a single point.

    A marching-squares vertex often lands exactly on another ring, so a hole
    can touch its shell at one point; extruded, that is an edge shared by four
    faces once coincident vertices are merged (as STL readers do). A closing
    by half a grid step with round joins turns each such point into a tiny
    bridge; elsewhere it only rounds concave corners to that radius (area
    change ~0.2 eps^2 each). Mitre joins would not do: they restore the pinch.
    """
    eps = 0.5 * grid
    grown = shapely.buffer(footprint, eps, quad_segs=2)
    closed = shapely.buffer(grown, -eps, quad_segs=2)
    return as_multipolygon(closed)


def load_part(path: str | os.PathLike, layout: Layout, process: Process) -> trimesh.Trimesh:
    """The STL's triangles as one mesh in mm, its extent checked against ``process`` and ``layout``."""
    name = Path(path).name
    mesh = _load_mesh(path)
    _check_extent(name, mesh, layout, process, MM_PER_UNIT[layout.unit])
    return mesh


def section(mesh: trimesh.Trimesh, z_mm: float, layout: Layout, process: Process) -> shapely.MultiPolygon:
    """Every body's material at height ``z_mm``, in the layout unit, snapped to the process grid."""
    mm = MM_PER_UNIT[layout.unit]
    cut = mesh.section(plane_origin=[0.0, 0.0, z_mm], plane_normal=[0.0, 0.0, 1.0])
    if cut is None:
        return shapely.MultiPolygon()
    drop_z = np.eye(4)
    drop_z[2, 3] = -z_mm  # a pure shift keeps the original x, y
    planar, _ = cut.to_2D(to_2D=drop_z)
    area = shapely.MultiPolygon(list(planar.polygons_full))
    scaled = shapely.affinity.scale(area, 1 / mm, 1 / mm, origin=(0, 0))
    # STL stores float32 vertices; snapping restores the exported grid coordinates.
    return as_multipolygon(shapely.set_precision(shapely.make_valid(scaled), process.grid))


def read_stl(path: str | os.PathLike, layout: Layout, process: Process) -> ReadResult:
    """Section the part at mid-slab height (the plane the simulation sees); polygons in `layout.unit`.

    Every printed body that crosses that plane is kept: nothing is removed.
    A relief (``process.levels`` >= 2) is sectioned at the middle of each of
    its layers (``ReadResult.layers``, bottom first); ``polygons`` is then
    the bottom layer. Raises FabricationReadError when the file is unreadable or empty, has no
    material at mid-slab, or its height or extent does not match `process` /
    `layout` (wrong units).
    """
    mesh = load_part(path, layout, process)
    z_mid = process.mid_slab * MM_PER_UNIT[layout.unit]
    if process.levels > 1:
        mm = MM_PER_UNIT[layout.unit]
        layers = tuple(section(mesh, process.layer_mid(j) * mm, layout, process) for j in range(process.levels))
        if layers[0].is_empty:
            z = process.layer_mid(0) * mm
            raise FabricationReadError(f"{Path(path).name}: no material in the relief's bottom layer, z = {z:g} mm.")
        return ReadResult(polygons=layers[0], layers=layers)
    polygons = section(mesh, z_mid, layout, process)
    if polygons.is_empty:
        raise FabricationReadError(f"{Path(path).name}: no material at mid-slab height z = {z_mid:g} mm.")
    return ReadResult(polygons=polygons)


def _to_trimesh(solid: manifold3d.Manifold) -> trimesh.Trimesh:
    out = solid.to_mesh()
    return trimesh.Trimesh(out.vert_properties[:, :3], out.tri_verts, process=True)


def _extrude(footprint, mm: float, z0: float, height: float) -> manifold3d.Manifold:
    rings = [
        np.asarray(ring.coords)[:-1] * mm
        for poly in as_multipolygon(footprint).geoms
        for ring in (poly.exterior, *poly.interiors)
    ]
    if not rings:
        return manifold3d.Manifold()
    cross = manifold3d.CrossSection(rings, manifold3d.FillRule.EvenOdd)
    return cross.extrude(height).translate((0.0, 0.0, z0))


def _check_extent(name, mesh, layout: Layout, process: Process, mm: float) -> None:
    height = part_height(process) * mm
    (x0, y0, z0), (x1, y1, z1) = mesh.bounds
    tol = 0.01 * height
    if abs(z0) > tol or abs(z1 - height) > tol:
        raise FabricationReadError(
            f"{name}: part spans z = {z0:g}..{z1:g} mm, expected 0..{height:g} mm "
            f"(base + walls + lid); wrong units or process?"
        )
    dx0, dy0, dx1, dy1 = (v * mm for v in layout.domain_box)
    slack = 0.01 * layout.cell_size * mm
    if x0 < dx0 - slack or y0 < dy0 - slack or x1 > dx1 + slack or y1 > dy1 + slack:
        raise FabricationReadError(
            f"{name}: part spans x = {x0:g}..{x1:g}, y = {y0:g}..{y1:g} mm, outside the "
            f"domain {dx0:g}..{dx1:g} x {dy0:g}..{dy1:g} mm; wrong units or layout?"
        )
