"""Wave-field figures of the trained device (Hughes et al. 2019, Fig. 3 G-I): intensity, snapshots, probe signals.

The fields come from :mod:`designer.report.simulate` (time steps) or, for a
spectral template, :mod:`designer.report.frequency_domain` (intensity maps
only); time axes show the signal's time (bottom) and the device's (top).
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

import fabrication as fab

from ..readout import probe_labels
from .plotting import colour_bar, device_axis, draw_layout, map_figsize, new_figure, show_map, si_scale
from .frequency_domain import IntensityMaps
from .simulate import FieldRun

__all__ = ["DECADES", "caption", "intensity_figure", "smooth_fabricated_figure", "snapshot_steps",
           "snapshot_figure", "running_integrals", "probe_signal_figure"]

# The log colour scale spans this many decades below the brightest cell.
DECADES = 4


def caption(run: FieldRun | IntensityMaps, b: int, classes: tuple[str, ...]) -> str:
    true, pred = classes[run.labels[b]], classes[run.predicted[b]]
    said = "probe" if run.readout.ports_per_class == 1 else "read as"
    return f"class {true} -> {said} {pred} ({'correct' if true == pred else 'wrong'})"


def _outline(ax, binary: np.ndarray, layout: fab.Layout, colour: str) -> None:
    if np.ptp(binary):
        nx, ny = layout.shape_cells
        xs, ys = (np.arange(nx) + 0.5) * layout.cell_size, (np.arange(ny) + 0.5) * layout.cell_size
        ax.contour(xs, ys, np.asarray(binary, float).T, levels=[0.5], colors=colour, linewidths=0.5, alpha=0.7)


def _intensity_panel(fig, ax, intensity: np.ndarray, norm, binary, layout, classes, title: str) -> None:
    image = show_map(ax, np.clip(intensity, norm.vmin, None), layout, cmap="inferno", norm=norm)
    _outline(ax, binary, layout, "white")
    draw_layout(ax, layout, classes, colour="cyan", halo="black")
    ax.set_title(title, fontsize=10)
    colour_bar(fig, ax, image, label="Σ_t u² (a.u.)")


def _log_norm(*intensities: np.ndarray) -> LogNorm:
    vmax = max(float(i.max()) for i in intensities) or 1.0
    return LogNorm(vmin=vmax * 10.0**-DECADES, vmax=vmax)


def intensity_figure(run: FieldRun | IntensityMaps, binary: np.ndarray, layout: fab.Layout, classes: tuple[str, ...],
                     title: str) -> Figure:
    """Sum over time of u^2, log colour scale shared by the panels, design outline and probes drawn on."""
    w, h, rows, cols = map_figsize(layout, len(run.labels))
    fig = new_figure(w, h)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    norm = _log_norm(run.intensity)
    for b, ax in enumerate(axes):
        if b >= len(run.labels):
            ax.set_visible(False)
            continue
        _intensity_panel(fig, ax, run.intensity[b], norm, binary, layout, classes, caption(run, b, classes))
    fig.suptitle(title)
    return fig


def smooth_fabricated_figure(smooth: FieldRun | IntensityMaps, fabricated: FieldRun | IntensityMaps,
                             binary: np.ndarray, layout: fab.Layout, classes: tuple[str, ...], title: str) -> Figure:
    """Σ u² of the smooth design (left) and of the fabricated one (right), one row per recording, one scale."""
    n = len(smooth.labels)
    w, h, _, _ = map_figsize(layout, 2, max_cols=2)
    fig = new_figure(w, h * n)
    axes = np.atleast_2d(fig.subplots(n, 2, squeeze=False))
    norm = _log_norm(smooth.intensity, fabricated.intensity)
    for b in range(n):
        for ax, run, what in ((axes[b, 0], smooth, "smooth"), (axes[b, 1], fabricated, "fabricated")):
            _intensity_panel(fig, ax, run.intensity[b], norm, binary, layout, classes,
                             f"{what}: {caption(run, b, classes)}")
    fig.suptitle(title)
    return fig


def snapshot_steps(run: FieldRun, count: int = 4) -> np.ndarray:
    """Indices into ``run.frames`` of ``count`` frames evenly spread over the shortest input, after its start."""
    end = int(run.lengths.min())
    inside = np.flatnonzero(run.frame_steps < end)
    wanted = np.linspace(0, end, count + 1)[1:] - 1
    return np.unique([int(inside[np.argmin(np.abs(run.frame_steps[inside] - w))]) for w in wanted])


def _time_label(run: FieldRun, step: int) -> str:
    signal_s = float(run.clock.signal_seconds(step + 1))
    device_s = signal_s / run.clock.time_scale
    scale, unit = si_scale(device_s, "s")
    return f"t = {1e3 * signal_s:.3g} ms signal = {device_s / scale:.3g} {unit} device"


def snapshot_figure(run: FieldRun, binary: np.ndarray, layout: fab.Layout, classes: tuple[str, ...],
                    title: str, count: int = 4, max_rows: int = 3) -> Figure:
    """The field u at ``count`` times (columns) for up to ``max_rows`` recordings (rows), symmetric colour scale."""
    picks = snapshot_steps(run, count)
    count = len(picks)
    rows = min(len(run.labels), max_rows)
    w, h, _, _ = map_figsize(layout, count, max_cols=count)
    fig = new_figure(w, h * rows)
    axes = np.atleast_2d(fig.subplots(rows, count, squeeze=False))
    for b in range(rows):
        limit = float(np.percentile(np.abs(run.frames[b, picks]), 99.5)) or 1.0
        for j, f in enumerate(picks):
            ax = axes[b, j]
            image = show_map(ax, run.frames[b, f], layout, cmap="RdBu_r", vmin=-limit, vmax=limit)
            _outline(ax, binary, layout, "black")
            draw_layout(ax, layout, classes, labels=False)
            ax.set_title(f"{caption(run, b, classes)}\n{_time_label(run, int(run.frame_steps[f]))}", fontsize=8)
            if j == count - 1:
                colour_bar(fig, ax, image, label="field u (a.u.)")
    fig.suptitle(title)
    return fig


def running_integrals(run: FieldRun) -> np.ndarray:
    """(B, T, P) running sum over steps of each probe's u^2, as a fraction of the sample's final total."""
    cumulative = np.cumsum(run.probe_u2, axis=1)
    total = cumulative[:, -1:, :].sum(-1, keepdims=True)
    return cumulative / np.where(total > 0, total, 1.0)


def probe_signal_figure(run: FieldRun, classes: tuple[str, ...], title: str) -> Figure:
    """Each probe's running integral of u^2 against time, one panel per recording: the largest at the end wins."""
    n = len(run.labels)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = new_figure(max(4.6 * cols, 6.0), 3.6 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    share = running_integrals(run)
    t_ms = 1e3 * run.clock.signal_seconds(np.arange(1, run.probe_u2.shape[1] + 1))
    for b, ax in enumerate(axes):
        if b >= n:
            ax.set_visible(False)
            continue
        end = int(run.lengths[b])
        names = probe_labels(classes, run.probe_u2.shape[2])
        for p in range(run.probe_u2.shape[2]):
            name = names[p]
            ax.plot(t_ms[:end], 100 * share[b, :end, p], lw=1.3, label=f"{name} ({100 * share[b, end - 1, p]:.0f}%)")
        ax.set(xlabel="time (ms, signal)", ylabel="running Σ u² (% of the final total)",
               title=caption(run, b, classes),
               ylim=(0, 100 * max(float(share[b, end - 1].max()), 0.01) * 1.08))
        device_axis(ax, 1e-3 / run.clock.time_scale, float(t_ms[end - 1]), "time", "s")
        ax.legend(fontsize=7, title="probe (final share)", title_fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig
