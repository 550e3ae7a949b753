"""The bridge from a run to the `fabrication` package: its specs from the config, and the export of a design.

Three names, three jobs: `fabrication/` writes and reads part files and knows no training;
this module turns a run's config and design into its specs and files; `designer.export_verify`
exports every design of a finished run and verifies each file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


import fabrication as fab

from . import relief
from .config import Config, parse_config
from .config_rules import lid_port_problems
from .design import Design
from .errors import DesignerError

__all__ = ["fab_layout", "fab_process", "config_of", "export_design", "ExportResult", "FORMATS"]

FORMATS = ("gds", "stl", "msh", "vtu", "xdmf", "svg", "png")


def config_of(design: Design) -> Config:
    """The validated config a design was trained with."""
    try:
        return parse_config(design.config_data, str(design.folder / "design.json"), stored=True)
    except KeyError:
        raise DesignerError(f"{design.folder / 'design.json'}: no config recorded") from None


def fab_layout(cfg: Config) -> fab.Layout:
    """Grid, design region, sources and probes in the template's unit."""
    t = cfg.template
    r = cfg.design_region
    sources = tuple(
        fab.SourceMarker(s.name, s.kind, (s.x_cells, s.y_cells) if s.kind == "point"
                         else (s.x_cells, s.y_cells, s.x_end_cells, s.y_end_cells))
        for s in cfg.sources
    )
    probes = tuple(fab.ProbeMarker(p.name or f"probe{i}", (p.x_cells, p.y_cells), p.radius_cells)
                   for i, p in enumerate(cfg.probes))
    return fab.Layout(cell_size=t.to_unit(t.cell_size_m), unit=t.length_unit, shape_cells=(cfg.grid.nx, cfg.grid.ny),
                      design_region=(r.x0_cells, r.y0_cells, r.x1_cells, r.y1_cells), sources=sources, probes=probes)


def fab_process(cfg: Config) -> fab.Process:
    """Rules, layers and the printed slab in the template's unit."""
    t = cfg.template
    g, p = t.gds, t.printing
    return fab.Process(
        min_solid=t.to_unit(t.min_solid_m), min_void=t.to_unit(t.min_void_m),
        grid=t.to_unit(t.manufacturing_grid_m),
        layers=fab.GdsLayers(device=g.device, design_region=g.design_region, source=g.source, probe=g.probe,
                             label=g.label),
        top_cell=g.top_cell, slab_thickness=t.to_unit(p.slab_thickness_m),
        base_thickness=t.to_unit(p.base_thickness_m),
        base_under="domain" if p.frame_around == "domain" else "design_region",
        single_body=p.single_body, lid_thickness=t.to_unit(p.lid_thickness_m), ports=p.ports,
        levels=cfg.constraints.levels,
    )


@dataclass(frozen=True)
class ExportResult:
    path: Path
    violations: tuple
    polygon_count: int
    hole_count: int


def export_design(design: Design, fmt: str, out: Path | None = None) -> ExportResult:
    """Polygons of the binary design -> DRC -> ``fmt`` file (default ``design.<fmt>`` in the run folder)."""
    if fmt not in FORMATS:
        raise DesignerError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    cfg = config_of(design)
    if fmt == "stl":
        for key, message in lid_port_problems(cfg):
            raise DesignerError(f"{design.folder / 'design.json'}: {key}: {message}; the STL's lid would not print "
                                "as simulated (a design placed before this rule: train it again)")
    layout, process = fab_layout(cfg), fab_process(cfg)
    if process.levels > 1 and fmt not in fab.RELIEF_FORMATS:
        raise DesignerError(f"--format {fmt}: {design.folder / 'design.json'} is a relief of {process.levels} wall "
                            f"heights, which only {', '.join(fab.RELIEF_FORMATS)} holds")
    polygons = relief.layer_polygons(relief.design_map(design, cfg), cfg)
    violations = relief.relief_drc(polygons, cfg)
    path = Path(out) if out is not None else design.folder / f"design.{fmt}"
    try:
        fab.export(fmt, polygons, layout, process, path, density=design.arrays.get("rho"))
    except fab.FabricationExportError as exc:
        raise DesignerError(f"{path}: {exc}") from None
    shapes = [polygons] if process.levels == 1 else list(polygons)
    holes = sum(len(p.interiors) for s in shapes for p in s.geoms)
    return ExportResult(path, tuple(violations), sum(len(s.geoms) for s in shapes), holes)
