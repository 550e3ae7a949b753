"""Design maps in physical units: smooth density, binary design, wave speed, exported polygons."""
from __future__ import annotations

import math

import numpy as np
import shapely
import shapely.plotting
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

import fabrication as fab

from .plotting import colour_bar, draw_layout, map_figsize, new_figure, show_map, unit_label

__all__ = ["density_figure", "binary_figure", "lengthscale_text", "wave_speed_figure", "polygon_mismatch",
           "polygons_figure"]

BINARY_CMAP = ListedColormap(["#f4f1ea", "#3b3b3b"])
# Solid a light grey under exported polygons, so their fill and outlines stay visible on it.
UNDERLAY_CMAP = ListedColormap(["white", "#c4c4c4"])


def _single(layout: fab.Layout):
    w, h, _, _ = map_figsize(layout)
    fig = new_figure(w, h)
    return fig, fig.subplots()


def density_figure(rho: np.ndarray, layout: fab.Layout, classes: tuple[str, ...], title: str) -> Figure:
    """The smooth density rho in [0, 1] (0 background, 1 material) over the whole domain."""
    fig, ax = _single(layout)
    image = show_map(ax, rho, layout, cmap="Greys", vmin=0.0, vmax=1.0)
    draw_layout(ax, layout, classes)
    colour_bar(fig, ax, image, label="density ρ (0 background, 1 material)")
    ax.set_title(title)
    return fig


def _cells_and_length(cells: float, h: float, unit: str) -> str:
    if not math.isfinite(cells):
        return "none (no feature)"
    return f"{cells:g} cells = {cells * h:.3g} {unit_label(unit)}"


def lengthscale_text(lengthscale: dict, layout: fab.Layout) -> str:
    """Measured minimum solid and void sizes, in cells and in the layout's unit, against the rule."""
    h, unit = layout.cell_size, layout.unit
    lines = [f"min solid {_cells_and_length(float(lengthscale['min_solid_cells']), h, unit)}",
             f"min void  {_cells_and_length(float(lengthscale['min_void_cells']), h, unit)}"]
    if "rule_cells" in lengthscale:
        verdict = "meets" if lengthscale.get("meets_rule") else "VIOLATES"
        lines.append(f"rule {_cells_and_length(float(lengthscale['rule_cells']), h, unit)}: {verdict}")
    return "\n".join(lines)


def _lengthscale_box(ax, lengthscale: dict | None, layout: fab.Layout) -> None:
    """The measured minimum feature sizes against the rule, boxed in the lower-left corner."""
    if lengthscale:
        ax.text(0.01, 0.015, lengthscale_text(lengthscale, layout), transform=ax.transAxes, fontsize=8,
                family="monospace", va="bottom", ha="left",
                bbox={"boxstyle": "round", "fc": "white", "ec": "grey", "alpha": 0.9})


def binary_figure(binary: np.ndarray, layout: fab.Layout, lengthscale: dict | None, classes: tuple[str, ...],
                  title: str) -> Figure:
    """The binary design (as fabricated), annotated with its measured minimum feature sizes."""
    fig, ax = _single(layout)
    image = show_map(ax, binary, layout, cmap=BINARY_CMAP, vmin=-0.5, vmax=1.5)
    draw_layout(ax, layout, classes)
    bar = colour_bar(fig, ax, image, ticks=[0, 1], label="material")
    bar.ax.set_yticklabels(["background", "solid"])
    _lengthscale_box(ax, lengthscale, layout)
    ax.set_title(title)
    return fig


def heights_figure(heights: np.ndarray, levels: int, step: float, layout: fab.Layout, lengthscale: dict | None,
                   classes: tuple[str, ...], title: str) -> Figure:
    """A relief's wall heights (as fabricated): 0..``levels`` steps of ``step`` (the layout's unit) per cell."""
    import matplotlib

    fig, ax = _single(layout)
    shades = matplotlib.colormaps["Greys"](np.linspace(0.05, 0.9, levels + 1))
    image = show_map(ax, np.asarray(heights, dtype=float), layout, cmap=ListedColormap(shades),
                     vmin=-0.5, vmax=levels + 0.5)
    draw_layout(ax, layout, classes)
    bar = colour_bar(fig, ax, image, ticks=list(range(levels + 1)), label=f"wall height ({unit_label(layout.unit)})")
    bar.ax.set_yticklabels([f"{k * step:g}" for k in range(levels + 1)])
    _lengthscale_box(ax, lengthscale, layout)
    ax.set_title(title)
    return fig


def wave_speed_figure(speed_m_per_s: np.ndarray, layout: fab.Layout, classes: tuple[str, ...],
                      title: str) -> Figure:
    """The wave-speed map with sources, probes (labelled with their class) and the design region."""
    fig, ax = _single(layout)
    image = show_map(ax, speed_m_per_s, layout, cmap="viridis")
    draw_layout(ax, layout, classes, colour="white", halo="black")
    colour_bar(fig, ax, image, label="wave speed (m/s)")
    ax.legend(loc="upper left", fontsize=7, facecolor="lightgrey", framealpha=0.9)
    ax.set_title(title)
    return fig


def polygon_mismatch(polygons, binary: np.ndarray, layout: fab.Layout) -> float:
    """Fraction of the design region's area where the polygons' coverage differs from the binary design."""
    x0, y0, x1, y1 = layout.design_region
    cover = fab.rasterize(polygons, layout)[x0:x1, y0:y1]
    return float(np.abs(cover - np.asarray(binary, float)[x0:x1, y0:y1]).mean())


def polygons_figure(polygons, binary: np.ndarray, layout: fab.Layout, classes: tuple[str, ...],
                    title: str) -> Figure:
    """Polygons read back from an exported part, outlined over the binary design they came from."""
    fig, ax = _single(layout)
    image = show_map(ax, binary, layout, cmap=UNDERLAY_CMAP, vmin=-0.5, vmax=1.5)
    bar = colour_bar(fig, ax, image, ticks=[0, 1], label="binary design")
    bar.ax.set_yticklabels(["background", "solid"])
    geometry = shapely.MultiPolygon([p for p in getattr(polygons, "geoms", [polygons]) if not p.is_empty])
    if not geometry.is_empty:
        shapely.plotting.plot_polygon(geometry, ax=ax, add_points=False, facecolor=(0.1, 0.4, 0.85, 0.35),
                                      edgecolor="navy", linewidth=0.8, label="exported polygons")
    draw_layout(ax, layout, classes)
    x0, y0, x1, y1 = layout.domain_box
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
    mismatch = polygon_mismatch(geometry, binary, layout)
    ax.set_title(f"{title}\n{len(geometry.geoms)} polygons; differs from the pixels on "
                 f"{100 * mismatch:.2f}% of the design region", fontsize=10)
    return fig
