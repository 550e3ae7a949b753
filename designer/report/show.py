"""`designer show`: a PNG preview of a GDS, an STL (its mid-height section) or a design.npz."""
from __future__ import annotations

from pathlib import Path

from ..design import load_design
from ..errors import DesignerError
from ..export import config_of, fab_layout
from ..verify import READ_FORMATS, footprint, read_part
from . import maps
from .plotting import save

__all__ = ["show_file"]


def show_file(path: str | Path, run: str | Path | None = None, out: str | Path | None = None) -> Path:
    """Render ``path`` to ``out`` (default: ``<path>.png`` beside it) and return where it went.

    GDS and STL files need the run folder they came from (``run``, default the
    file's folder) for the grid, rules and markers; an npz is its own run.
    """
    path = Path(path)
    if not path.exists():
        raise DesignerError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if path.is_dir() or (suffix != ".npz" and suffix not in READ_FORMATS):
        raise DesignerError(f"{path}: expected a .gds, .stl or design.npz file")
    folder = Path(run) if run is not None else path.parent
    if suffix != ".npz" and not (folder / "design.json").exists():
        raise DesignerError(f"{path}: no design.json beside it; pass --run RUN_DIR")
    design = load_design(path if suffix == ".npz" else folder)
    cfg = config_of(design)
    layout = fab_layout(cfg)
    classes = tuple(design.meta.get("split", {}).get("classes") or cfg.data.vowels)
    part = read_part(path, cfg)
    if part.polygons is None:
        fig = maps.binary_figure(part.binary, layout, design.meta.get("lengthscale"), classes,
                                 f"{path.name}: binary design")
    else:
        what = "mid-height section" if part.fmt == "stl" else "polygons"
        fig = maps.polygons_figure(footprint(part), design.binary, layout, classes,
                                   f"{path.name}: {what} over the binary design")
    return save(fig, Path(out) if out is not None else path.with_name(path.name + ".png"))
