"""GDSII via gdstk: user unit 1 um, database precision 1 nm.

Layers (from `Process.layers`): device polygons; the design-region outline;
the domain outline on the design-region layer with the next datatype (so a
reader can align the device to the simulation grid); sources and probes;
labels with each marker's name plus one "designer ..." label at the origin
recording unit, cell size, grid shape and design region.

GDSII has no holes: a polygon with holes is cut into keyhole polygons by
`gdstk.boolean`. Polygons over 4000 vertices are fractured by gdstk on
writing, which keeps every record under 32 kB (KLayout warns above that,
and the format's hard limit is 8191 points); reading unions them back.
The timestamp is fixed so the same design always gives the same bytes.
"""

from __future__ import annotations

import datetime
import os
import warnings
from pathlib import Path

import gdstk
import numpy as np
import shapely

from fabrication.errors import FabricationExportError, FabricationReadError
from fabrication.gds_scan import scan_gds
from fabrication.geometry import as_multipolygon
from fabrication.markers import marker_shapes
from fabrication.spec import UM_PER_UNIT, Layout, Process, ReadResult

GDS_UNIT_M = 1e-6
GDS_PRECISION_M = 1e-9
MAX_POINTS = 4000
TIMESTAMP = datetime.datetime(2000, 1, 1)
LIBRARY_NAME = "DESIGNER"


def write_gds(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    """Write the device, markers and alignment outlines to `path` (in um)."""
    scale = UM_PER_UNIT[layout.unit]
    layers = process.layers
    lib = gdstk.Library(LIBRARY_NAME, unit=GDS_UNIT_M, precision=GDS_PRECISION_M)
    cell = lib.new_cell(process.top_cell)
    for poly in as_multipolygon(polygons).geoms:
        cell.add(*_to_gdstk(poly, scale, layers.device))
    cell.add(_box(layout.design_box, scale, layers.design_region))
    cell.add(_box(layout.domain_box, scale, layers.domain_outline))
    for marker in marker_shapes(layout):
        where = layers.source if marker.role == "source" else layers.probe
        cell.add(*_to_gdstk(marker.shape, scale, where))
        cell.add(_label(marker.name, marker.anchor, scale, layers.label))
    cell.add(_label(describe(layout), (0.0, 0.0), scale, layers.label))
    lib.write_gds(str(path), max_points=MAX_POINTS, timestamp=TIMESTAMP)
    # gdstk does not report a failed write (a full disk leaves a truncated file and no error):
    # read the stream back, so an incomplete file is never renamed into place.
    try:
        scan_gds(path)
    except FabricationReadError:
        raise FabricationExportError("cannot write: the GDS stream came out incomplete (a full disk?).") from None


def describe(layout: Layout) -> str:
    """The alignment label, e.g. "designer unit=um cell_size=0.05 shape_cells=160x100 design_region=10,10,150,90"."""
    nx, ny = layout.shape_cells
    region = ",".join(str(int(v)) for v in layout.design_region)
    return (
        f"designer unit={layout.unit} cell_size={layout.cell_size!r} "
        f"shape_cells={nx}x{ny} design_region={region}"
    )


def read_gds(path: str | os.PathLike, layout: Layout, process: Process) -> ReadResult:
    """Device polygons and alignment markers of a GDS file, in `layout.unit`.

    Takes the cell named `process.top_cell`, or else the single top cell.
    Raises FabricationReadError when the file is unreadable, has no usable
    cell, no device polygons, no design-region marker, a user unit other than
    1 um, or a design-region marker that does not match `layout`.
    """
    name = Path(path).name
    scan_gds(path)  # before gdstk: reference cycles, bad record lengths, flattening bombs
    try:
        unit_m, _ = gdstk.gds_units(str(path))
        with warnings.catch_warnings():  # records gdstk skips (it warns) are not part of the design
            warnings.simplefilter("ignore")
            lib = gdstk.read_gds(str(path))
    except (OSError, RuntimeError) as err:
        raise FabricationReadError(f"{name}: not a readable GDSII file ({err}).") from err
    if not np.isclose(unit_m, GDS_UNIT_M, rtol=1e-9, atol=0.0):
        raise FabricationReadError(
            f"{name}: GDS user unit is {unit_m:g} m, expected {GDS_UNIT_M:g} m (um)."
        )
    cell = _pick_cell(lib, process.top_cell, name)
    scale = UM_PER_UNIT[layout.unit]
    layers = process.layers
    device = cell.get_polygons(layer=layers.device[0], datatype=layers.device[1])
    if not device:
        found = sorted({(p.layer, p.datatype) for p in cell.get_polygons()})
        raise FabricationReadError(
            f"{name}: no polygons on device layer {layers.device[0]}/{layers.device[1]} "
            f"in cell {cell.name!r}; layers found: {found}."
        )
    design = _bounds(cell, layers.design_region, scale)
    if design is None:
        raise FabricationReadError(
            f"{name}: no design-region marker on layer "
            f"{layers.design_region[0]}/{layers.design_region[1]}."
        )
    _check_alignment(name, design, layout)
    _check_coordinates(name, device, layout, scale)
    labels = tuple(
        (lab.text, lab.origin[0] / scale, lab.origin[1] / scale)
        for lab in cell.get_labels(layer=layers.label[0], texttype=layers.label[1])
    )
    return ReadResult(
        polygons=_from_gdstk(device, scale),
        design_box=design,
        domain_box=_bounds(cell, layers.domain_outline, scale),
        labels=labels,
        cell_name=cell.name,
    )


def _check_coordinates(name: str, shapes: list[gdstk.Polygon], layout: Layout, scale: float) -> None:
    """Device points must be finite and near the domain (a NaN written to GDS reads back as -2**31)."""
    pts = np.concatenate([p.points for p in shapes]) / scale
    if not np.isfinite(pts).all():
        raise FabricationReadError(f"{name}: device polygons have non-finite coordinates.")
    x0, y0, x1, y1 = layout.domain_box
    span = max(x1 - x0, y1 - y0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if lo[0] < x0 - span or lo[1] < y0 - span or hi[0] > x1 + span or hi[1] > y1 + span:
        raise FabricationReadError(
            f"{name}: device polygons span ({lo[0]:g}, {lo[1]:g})..({hi[0]:g}, {hi[1]:g}) {layout.unit}, "
            f"far outside the {x1 - x0:g} x {y1 - y0:g} {layout.unit} domain; wrong units or a corrupt file?"
        )


def _to_gdstk(poly: shapely.Polygon, scale: float, where: tuple[int, int]) -> list[gdstk.Polygon]:
    layer, datatype = where
    outer = gdstk.Polygon(np.asarray(poly.exterior.coords)[:-1] * scale, layer, datatype)
    if not poly.interiors:
        return [outer]
    holes = [gdstk.Polygon(np.asarray(r.coords)[:-1] * scale) for r in poly.interiors]
    return gdstk.boolean(outer, holes, "not", precision=1e-3, layer=layer, datatype=datatype)


def _box(box, scale: float, where: tuple[int, int]) -> gdstk.Polygon:
    x0, y0, x1, y1 = (v * scale for v in box)
    return gdstk.rectangle((x0, y0), (x1, y1), layer=where[0], datatype=where[1])


def _label(text: str, anchor, scale: float, where: tuple[int, int]) -> gdstk.Label:
    return gdstk.Label(text, (anchor[0] * scale, anchor[1] * scale), layer=where[0], texttype=where[1])


def _pick_cell(lib: gdstk.Library, wanted: str, name: str) -> gdstk.Cell:
    by_name = {c.name: c for c in lib.cells if isinstance(c, gdstk.Cell)}
    if wanted in by_name:
        return by_name[wanted]
    tops = [c for c in lib.top_level() if isinstance(c, gdstk.Cell)]
    if len(tops) == 1:
        return tops[0]
    raise FabricationReadError(
        f"{name}: no cell named {wanted!r} and {len(tops)} top cells "
        f"{sorted(c.name for c in tops)}; expected one."
    )


def _bounds(cell: gdstk.Cell, where: tuple[int, int], scale: float):
    shapes = cell.get_polygons(layer=where[0], datatype=where[1])
    if not shapes:
        return None
    pts = np.concatenate([p.points for p in shapes]) / scale
    return (*pts.min(axis=0).tolist(), *pts.max(axis=0).tolist())


def _check_alignment(name: str, found, layout: Layout) -> None:
    expected = np.asarray(layout.design_box)
    tol = 0.01 * layout.cell_size
    if np.allclose(found, expected, rtol=0.0, atol=tol):
        return
    w, h = found[2] - found[0], found[3] - found[1]
    ew, eh = expected[2] - expected[0], expected[3] - expected[1]
    raise FabricationReadError(
        f"{name}: design-region marker is {w:g} x {h:g} {layout.unit} at ({found[0]:g}, {found[1]:g}), "
        f"expected {ew:g} x {eh:g} {layout.unit} at ({expected[0]:g}, {expected[1]:g}); "
        f"wrong units or layout?"
    )


def _from_gdstk(shapes: list[gdstk.Polygon], scale: float) -> shapely.MultiPolygon:
    """Union fractured and keyholed polygons back into polygons with holes.

    A keyhole's cut is a pair of coincident edges. The "structure" repair
    reads each ring by its orientation and turns the cut into a proper hole;
    the default "linework" repair can fill a hole whose cut runs along another.
    """
    rings = np.array([shapely.Polygon(p.points / scale) for p in shapes])
    pieces = shapely.make_valid(rings, method="structure", keep_collapsed=False)
    merged = shapely.union_all(pieces)
    return as_multipolygon(merged)
