"""Drawing helpers shared by every report figure: physical axes, markers, colour bars, saving.

Figures are built with matplotlib's object API (``Figure``, no pyplot state),
so they render headless with Agg and never touch a global figure registry.
Arrays are (nx, ny) indexed [ix, iy] and drawn with x to the right, y up.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

import fabrication as fab

from ..design import atomic_write_bytes
from ..readout import probe_labels

__all__ = ["DPI", "UNIT_LABELS", "unit_label", "new_figure", "map_figsize", "show_map", "colour_bar",
           "draw_layout", "label_axes", "si_scale", "device_axis", "png_bytes", "save"]

DPI = 120
UNIT_LABELS = {"um": "µm", "mm": "mm"}
SOURCE_COLOUR = "tab:red"
PROBE_COLOUR = "tab:blue"
REGION_COLOUR = "darkorange"


def unit_label(unit: str) -> str:
    """'um' -> 'µm' for axis labels; other units unchanged."""
    return UNIT_LABELS.get(unit, unit)


def new_figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def map_figsize(layout: fab.Layout, panels: int = 1, width_in: float = 7.0,
                max_cols: int = 3) -> tuple[float, float, int, int]:
    """(width, height, rows, cols) for ``panels`` domain maps with colour bars, kept >= 400 px a side."""
    cols = min(panels, max_cols)
    rows = -(-panels // cols)
    nx, ny = layout.shape_cells
    panel_w = width_in if panels == 1 else 4.8
    # Room for the y label on the left and the colour bar on the right; the rest keeps the domain's aspect.
    panel_h = max((panel_w - 2.0) * ny / nx + 1.2, 3.4)
    return panel_w * cols, panel_h * rows, rows, cols


def show_map(ax, values: np.ndarray, layout: fab.Layout, **imshow_kw):
    """Draw an (nx, ny) map on ``ax`` in the layout's physical unit; returns the image."""
    x0, y0, x1, y1 = layout.domain_box
    image = ax.imshow(np.asarray(values, dtype=float).T, origin="lower", extent=(x0, x1, y0, y1),
                      interpolation="nearest", **imshow_kw)
    label_axes(ax, layout.unit)
    ax.set_aspect("equal")
    return image


def colour_bar(fig: Figure, ax, image, label: str, **kw):
    """A colour bar exactly as tall as ``ax``'s drawn box (which an equal aspect may have shrunk)."""
    return fig.colorbar(image, cax=ax.inset_axes([1.03, 0.0, 0.035, 1.0]), label=label, **kw)


def label_axes(ax, unit: str) -> None:
    u = unit_label(unit)
    ax.set_xlabel(f"x ({u})")
    ax.set_ylabel(f"y ({u})")


def draw_layout(ax, layout: fab.Layout, classes: tuple[str, ...] = (), labels: bool = True,
                colour: str = PROBE_COLOUR, halo: str = "white") -> None:
    """Design region (dashed rectangle), sources (red) and probes (circles labelled with their class).

    ``halo`` outlines the markers and labels so they read on any map colour.
    """
    h = layout.cell_size
    outline = [patheffects.withStroke(linewidth=3, foreground=halo)]
    dx0, dy0, dx1, dy1 = layout.design_box
    ax.add_patch(Rectangle((dx0, dy0), dx1 - dx0, dy1 - dy0, fill=False, ls="--", lw=1.2, ec=REGION_COLOUR,
                           label="design region"))
    for i, src in enumerate(layout.sources):
        xs = [(c + 0.5) * h for c in src.cells[::2]]
        ys = [(c + 0.5) * h for c in src.cells[1::2]]
        style = {"marker": "*", "ms": 11} if src.kind == "point" else {"lw": 2.5}
        ax.plot(xs, ys, color=SOURCE_COLOUR, mec=halo, mew=0.8, ls="-", label="source" if i == 0 else None,
                **style)
        if labels:
            ax.annotate(src.name, (xs[0], ys[0]), xytext=(-4, 6), textcoords="offset points", ha="right",
                        color=SOURCE_COLOUR, fontsize=8, fontweight="bold", path_effects=outline)
    names = probe_labels(classes, len(layout.probes)) if classes else ()
    for i, probe in enumerate(layout.probes):
        cx, cy = ((c + 0.5) * h for c in probe.centre_cells)
        ax.add_patch(Circle((cx, cy), probe.radius_cells * h, fill=False, lw=1.6, ec=colour,
                            label="probe" if i == 0 else None, path_effects=outline))
        if labels:
            name = names[i] if i < len(names) else probe.name
            ax.annotate(name, (cx + probe.radius_cells * h, cy), xytext=(4, -3), textcoords="offset points",
                        color=colour, fontsize=8, fontweight="bold", path_effects=outline)


SI_PREFIXES = ((1e-18, "a"), (1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""),
               (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T"), (1e15, "P"), (1e18, "E"))


def si_scale(value: float, unit: str) -> tuple[float, str]:
    """(scale, label) such that value / scale lies in [1, 1000): si_scale(2.5e-7, 's') == (1e-9, 'ns')."""
    value = abs(float(value))
    scale, prefix = SI_PREFIXES[0]
    for s, p in SI_PREFIXES:
        if value >= s:
            scale, prefix = s, p
    return scale, f"{prefix}{unit}"


def device_axis(ax, factor: float, primary_max: float, quantity: str, unit: str, which: str = "x",
                offset: float = 0.0):
    """A secondary axis (top or right) in the device's units: device value = primary value * ``factor`` + ``offset``.

    ``factor`` converts the primary axis's numbers (e.g. ms of signal) into
    the device's SI unit (s); ``offset`` (in that unit) is a carrier's
    frequency. The label gets the SI prefix that suits ``primary_max`` on the
    device scale.
    """
    scale, label = si_scale(primary_max * factor + offset, unit)
    k, b = factor / scale, offset / scale
    functions = (lambda x: x * k + b, lambda y: (y - b) / k)
    axis = ax.secondary_xaxis("top", functions=functions) if which == "x" else \
        ax.secondary_yaxis("right", functions=functions)
    (axis.set_xlabel if which == "x" else axis.set_ylabel)(f"{quantity} ({label}, device)")
    return axis


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, with no timestamp metadata, so the same run gives the same bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def save(fig: Figure, path: Path) -> Path:
    """PNG with no timestamp metadata, so the same run gives the same bytes; written atomically.

    The image is rendered in memory first, so a full disk leaves no partial
    (or empty) PNG behind, only a one-line error.
    """
    atomic_write_bytes(path, png_bytes(fig))
    return path
