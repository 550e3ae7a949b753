"""SVG (and PNG) preview: polygons drawn over the density image.

The density (if given) is shown in grey (solid a mid grey, so outlines stay visible), device polygons as a translucent
fill with outlines, the design region dashed, sources red and probes blue.
Drawn with matplotlib's object API (no pyplot state); the SVG carries no
date and fixed element ids, so the same design gives the same bytes.
"""

from __future__ import annotations

import os

import matplotlib
import numpy as np
import shapely
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from fabrication.geometry import as_multipolygon
from fabrication.markers import marker_shapes
from fabrication.spec import Layout, Process

WIDTH_IN = 8.0
MARKER_COLOURS = {"source": "tab:red", "probe": "tab:blue"}


def write_svg(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    _save(preview_figure(polygons, layout, density), path, "svg")


def write_png(
    polygons: shapely.MultiPolygon,
    layout: Layout,
    process: Process,
    path: str | os.PathLike,
    density: np.ndarray | None = None,
) -> None:
    _save(preview_figure(polygons, layout, density), path, "png")


def preview_figure(polygons, layout: Layout, density: np.ndarray | None = None) -> Figure:
    x0, y0, x1, y1 = layout.domain_box
    fig = Figure(figsize=(WIDTH_IN, WIDTH_IN * (y1 - y0) / (x1 - x0) + 0.6))
    ax = fig.add_subplot()
    if density is not None:
        ax.imshow(
            np.asarray(density, dtype=float).T, origin="lower", extent=(x0, x1, y0, y1),
            cmap="Greys", vmin=0.0, vmax=2.5, interpolation="nearest",
        )
    outline = _path(as_multipolygon(polygons))
    if outline is not None:
        ax.add_patch(PathPatch(outline, facecolor=(0.1, 0.4, 0.8, 0.35), edgecolor="navy", lw=0.6))
    dx0, dy0, dx1, dy1 = layout.design_box
    ax.add_patch(Rectangle((dx0, dy0), dx1 - dx0, dy1 - dy0, fill=False, ls="--", ec="darkorange"))
    for marker in marker_shapes(layout):
        colour = MARKER_COLOURS[marker.role]
        ax.add_patch(PathPatch(_path(marker.shape), facecolor="none", edgecolor=colour, lw=1.0))
        ax.annotate(marker.name, marker.anchor, color=colour, fontsize=7)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel(f"x ({layout.unit})")
    ax.set_ylabel(f"y ({layout.unit})")
    return fig


def _path(geom) -> MplPath | None:
    """One compound path; rings oriented so holes stay empty under nonzero fill."""
    rings = shapely.get_rings(shapely.get_parts(shapely.orient_polygons(as_multipolygon(geom))))
    if len(rings) == 0:
        return None
    verts, codes = [], []
    for ring in rings:
        pts = shapely.get_coordinates(ring)
        kinds = np.full(len(pts), MplPath.LINETO, dtype=np.uint8)
        kinds[0], kinds[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
        verts.append(pts)
        codes.append(kinds)
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _save(fig: Figure, path, fmt: str) -> None:
    with matplotlib.rc_context({"svg.hashsalt": "designer", "svg.fonttype": "none"}):
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(str(path), format=fmt, metadata=metadata, dpi=150, bbox_inches="tight")
