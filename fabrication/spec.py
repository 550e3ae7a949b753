"""Frozen specs the fabrication package works from.

The core parses templates into these; nothing here reads TOML. Lengths are in
the layout's unit (``Layout.unit``, "um" or "mm") unless a name says otherwise.
Cell (ix, iy) covers [ix*h, (ix+1)*h] x [iy*h, (iy+1)*h] with h the cell size;
the origin is the domain's lower-left corner. Arrays are shaped (nx, ny) and
indexed [ix, iy].
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely

UM_PER_UNIT = {"um": 1.0, "mm": 1000.0}
MM_PER_UNIT = {"um": 1e-3, "mm": 1.0}

SOURCE_KINDS = ("point", "line")


@dataclass(frozen=True)
class SourceMarker:
    """A source drawn on the source layer.

    `cells` is (ix, iy) for kind "point" and (ix0, iy0, ix1, iy1) for kind
    "line"; a line covers every cell from its first to its last end cell.
    """

    name: str
    kind: str
    cells: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(
                f"source {self.name!r}: kind must be one of {SOURCE_KINDS}, got {self.kind!r}."
            )
        expected = 2 if self.kind == "point" else 4
        if len(self.cells) != expected:
            raise ValueError(
                f"source {self.name!r}: a {self.kind} takes {expected} cell indices, "
                f"got {self.cells!r}."
            )


@dataclass(frozen=True)
class ProbeMarker:
    """A circular probe centred on cell `centre_cells` with a radius in cells."""

    name: str
    centre_cells: tuple[int, int]
    radius_cells: float

    def __post_init__(self) -> None:
        if self.radius_cells <= 0:
            raise ValueError(f"probe {self.name!r}: radius_cells must be > 0, got {self.radius_cells}.")


@dataclass(frozen=True)
class Layout:
    """Where everything sits on the simulation grid.

    cell_size: edge of one square cell, in `unit`.
    shape_cells: (nx, ny) of the whole simulation domain.
    design_region: (x0, y0, x1, y1) half-open cell index box.
    """

    cell_size: float
    unit: str
    shape_cells: tuple[int, int]
    design_region: tuple[int, int, int, int]
    sources: tuple[SourceMarker, ...] = ()
    probes: tuple[ProbeMarker, ...] = ()

    def __post_init__(self) -> None:
        if self.unit not in UM_PER_UNIT:
            raise ValueError(f"unit must be one of {sorted(UM_PER_UNIT)}, got {self.unit!r}.")
        if not self.cell_size > 0:
            raise ValueError(f"cell_size must be > 0, got {self.cell_size}.")
        nx, ny = self.shape_cells
        if nx < 1 or ny < 1:
            raise ValueError(f"shape_cells must be positive, got {self.shape_cells}.")
        x0, y0, x1, y1 = self.design_region
        if not (0 <= x0 < x1 <= nx and 0 <= y0 < y1 <= ny):
            raise ValueError(
                f"design_region {self.design_region} must be a non-empty box inside "
                f"the domain of {self.shape_cells} cells."
            )
        for src in self.sources:
            for ix, iy in zip(src.cells[::2], src.cells[1::2]):
                _check_cell(f"source {src.name!r}", (ix, iy), self.shape_cells)
        for probe in self.probes:
            _check_cell(f"probe {probe.name!r}", probe.centre_cells, self.shape_cells)

    @property
    def domain_box(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the whole domain, in `unit`."""
        nx, ny = self.shape_cells
        return (0.0, 0.0, nx * self.cell_size, ny * self.cell_size)

    @property
    def design_box(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the design region, in `unit`."""
        h = self.cell_size
        x0, y0, x1, y1 = self.design_region
        return (x0 * h, y0 * h, x1 * h, y1 * h)

    @property
    def design_area(self) -> float:
        return shapely.box(*self.design_box).area


def _check_cell(what: str, cell: tuple[int, int], shape: tuple[int, int]) -> None:
    if not (0 <= cell[0] < shape[0] and 0 <= cell[1] < shape[1]):
        raise ValueError(f"{what}: cell {tuple(cell)} is outside the domain of {shape} cells.")


@dataclass(frozen=True)
class GdsLayers:
    """(layer, datatype) pairs. The domain outline goes on the design-region
    layer with the next datatype, so a reader can align without extra layers."""

    device: tuple[int, int] = (1, 0)
    design_region: tuple[int, int] = (68, 0)
    source: tuple[int, int] = (201, 0)
    probe: tuple[int, int] = (202, 0)
    label: tuple[int, int] = (66, 0)

    @property
    def domain_outline(self) -> tuple[int, int]:
        return (self.design_region[0], self.design_region[1] + 1)


BASE_PLACES = ("design_region", "domain")


@dataclass(frozen=True)
class Process:
    """Manufacturing rules and output settings; lengths in the layout's unit.

    min_solid / min_void: narrowest allowed feature and gap.
    grid: manufacturing grid that vertices are snapped to.
    slab_thickness: height of the extruded device polygons (the walls).
    base_thickness / base_under: a plate under the walls covering the design
    region or the whole domain. lid_thickness: a plate on top of the walls
    over the whole domain (0: none); with ``ports`` it has a hole above each
    source and probe marker, where the transducers sit. The STL writer adds
    only these plates: every wall (a printed frame included) is a device
    polygon, so it is what training and verify simulate.
    single_body: the base and the walls must be one connected solid.
    levels: wall heights. 1: every wall is ``slab_thickness`` tall. N >= 2:
    a relief, written and read as N stacked layers of the slab, each
    ``slab_thickness / N`` tall, layer j (0-based, from the base) the
    footprint of the walls that reach above j / N of the slab; the layers
    nest, so every wall is a column standing on the base.
    """

    min_solid: float
    min_void: float
    grid: float
    layers: GdsLayers = GdsLayers()
    top_cell: str = "DESIGNER_DEVICE"
    slab_thickness: float = 1.0
    base_thickness: float = 0.0
    base_under: str = "design_region"
    single_body: bool = False
    lid_thickness: float = 0.0
    ports: bool = False
    levels: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.levels, int) and self.levels >= 1):
            raise ValueError(f"levels must be an integer >= 1, got {self.levels!r}.")
        for name in ("min_solid", "min_void", "grid", "slab_thickness"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}.")
        for name in ("base_thickness", "lid_thickness"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if self.base_under not in BASE_PLACES:
            raise ValueError(f"base_under must be one of {BASE_PLACES}, got {self.base_under!r}.")
        if not self.top_cell:
            raise ValueError("top_cell must be a non-empty name.")

    @property
    def height(self) -> float:
        """Base, walls and lid stacked."""
        return self.base_thickness + self.slab_thickness + self.lid_thickness

    @property
    def mid_slab(self) -> float:
        """Height of the section through the walls (the 2D plane the simulation sees)."""
        return self.base_thickness + 0.5 * self.slab_thickness

    def layer_mid(self, j: int) -> float:
        """Height of the section through layer ``j`` of a relief (0-based from the base)."""
        return self.base_thickness + (j + 0.5) * self.slab_thickness / self.levels


@dataclass(frozen=True)
class ReadResult:
    """What a reader found, converted to the layout's unit.

    polygons: device material as one MultiPolygon (a relief's: its bottom layer).
    layers: a relief's layers, bottom first (``Process.levels`` of them);
    empty for walls of one height.
    design_box / domain_box: (xmin, ymin, xmax, ymax) of the alignment
    markers, or None when the format has none (STL).
    labels: text labels by name with their (x, y) position.
    """

    polygons: shapely.MultiPolygon
    design_box: tuple[float, float, float, float] | None = None
    domain_box: tuple[float, float, float, float] | None = None
    labels: tuple[tuple[str, float, float], ...] = ()
    cell_name: str | None = None
    layers: tuple[shapely.MultiPolygon, ...] = ()
