"""Wave fields of the trained device: time-integrated intensity and probe signals (Hughes et al. 2019, Fig. 3 G-I).

The reference engine's leapfrog step (:func:`designer.physics.wave.step`) is
run on the binary design for one test recording per class, accumulating
u^2 over the whole domain and the probe-weighted u^2 at every step. One step
is one sample of the recording, so step n is at n / sample_rate_hz of the
original signal.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

import fabrication as fab

from ..config import Config
from ..physics import build_medium, layout_from_config
from ..physics.wave import step
from .plotting import colour_bar, draw_layout, map_figsize, new_figure, show_map

__all__ = ["FieldRun", "representative_samples", "simulate_fields", "intensity_figure", "probe_signal_figure"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}
# The log colour scale spans this many decades below the brightest cell.
DECADES = 4


@dataclass(frozen=True)
class FieldRun:
    """Fields of a few recordings, one per batch item b.

    intensity: (B, nx, ny) sum over steps of u^2. probe_u2: (B, T, P)
    probe-weighted u^2 per step (zero after each recording ends). lengths:
    (B,) steps of each recording. labels: (B,) true class indices.
    """

    intensity: np.ndarray
    probe_u2: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    sample_rate_hz: float

    @property
    def probe_power(self) -> np.ndarray:
        """(B, P) time-integrated probe intensities, as the classifier sees them."""
        return self.probe_u2.sum(1)

    @property
    def predicted(self) -> np.ndarray:
        return self.probe_power.argmax(-1)


def representative_samples(labels: np.ndarray, test_indices: np.ndarray, n_classes: int) -> np.ndarray:
    """The first test recording (in corpus order) of each class that has one."""
    test = np.sort(np.asarray(test_indices))
    return np.array([test[labels[test] == c][0] for c in range(n_classes) if (labels[test] == c).any()],
                    dtype=np.int64)


@torch.no_grad()
def simulate_fields(cfg: Config, binary: np.ndarray, signals: list[np.ndarray], labels: np.ndarray) -> FieldRun:
    """Step the wave equation on the (nx, ny) ``binary`` design for each signal, on the CPU."""
    dtype = DTYPES[cfg.simulation.dtype]
    layout = layout_from_config(cfg)
    medium = build_medium(torch.as_tensor(np.asarray(binary, float), dtype=dtype), cfg, layout)
    source = layout.source_weights.to(dtype)
    probes = layout.probe_weights.to(dtype)
    lengths = np.array([len(s) for s in signals])
    inputs = torch.zeros(len(signals), int(lengths.max()), dtype=dtype)
    for b, s in enumerate(signals):
        inputs[b, :len(s)] = torch.as_tensor(s, dtype=dtype)
    active = torch.as_tensor(np.arange(inputs.shape[1])[None, :] < lengths[:, None], dtype=dtype)
    u0 = torch.zeros((len(signals),) + tuple(medium.courant.shape), dtype=dtype)
    u1 = torch.zeros_like(u0)
    total = torch.zeros_like(u0)
    per_step = []
    for n in range(inputs.shape[1]):
        u0, u1 = u1, step(medium, u1, u0, source * inputs[:, n, None, None])
        u2 = u1 * u1 * active[:, n, None, None]
        total += u2
        per_step.append(torch.einsum("bxy,pxy->bp", u2, probes))
    return FieldRun(total.numpy().astype(float), torch.stack(per_step, 1).numpy().astype(float), lengths,
                    np.asarray(labels), cfg.data.sample_rate_hz)


def _caption(run: FieldRun, b: int, classes: tuple[str, ...]) -> str:
    true, pred = classes[run.labels[b]], classes[run.predicted[b]]
    verdict = "correct" if true == pred else "wrong"
    return f"class {true} -> probe {pred} ({verdict})"


def intensity_figure(run: FieldRun, binary: np.ndarray, layout: fab.Layout, classes: tuple[str, ...],
                     title: str) -> Figure:
    """Sum over time of u^2, log colour scale shared by the panels, design outline and probes drawn on."""
    w, h, rows, cols = map_figsize(layout, len(run.labels))
    fig = new_figure(w, h)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    vmax = float(run.intensity.max()) or 1.0
    norm = LogNorm(vmin=vmax * 10.0**-DECADES, vmax=vmax)
    x0, y0, x1, y1 = layout.domain_box
    nx, ny = layout.shape_cells
    xs = (np.arange(nx) + 0.5) * layout.cell_size
    ys = (np.arange(ny) + 0.5) * layout.cell_size
    for b, ax in enumerate(axes):
        if b >= len(run.labels):
            ax.set_visible(False)
            continue
        image = show_map(ax, np.clip(run.intensity[b], norm.vmin, None), layout, cmap="inferno", norm=norm)
        if np.ptp(binary):
            ax.contour(xs, ys, np.asarray(binary, float).T, levels=[0.5], colors="white", linewidths=0.5,
                       alpha=0.7)
        draw_layout(ax, layout, classes, colour="cyan", halo="black")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(_caption(run, b, classes), fontsize=10)
        colour_bar(fig, ax, image, label="Σ_t u² (a.u.)")
    fig.suptitle(title)
    return fig


def probe_signal_figure(run: FieldRun, classes: tuple[str, ...], title: str) -> Figure:
    """u^2 at each probe vs time of the original recording, one panel per recording."""
    n = len(run.labels)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = new_figure(max(4.4 * cols, 6.0), 3.4 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    t_ms = 1e3 * np.arange(run.probe_u2.shape[1]) / run.sample_rate_hz
    for b, ax in enumerate(axes):
        if b >= n:
            ax.set_visible(False)
            continue
        power = run.probe_power[b]
        share = power / power.sum() if power.sum() > 0 else power
        end = run.lengths[b]
        for p in range(run.probe_u2.shape[2]):
            name = classes[p] if p < len(classes) else f"probe {p}"
            ax.plot(t_ms[:end], run.probe_u2[b, :end, p], lw=0.8, label=f"{name} ({100 * share[p]:.0f}%)")
        ax.set(xlabel="time (ms of input signal)", ylabel="probe intensity u² (a.u.)",
               title=_caption(run, b, classes))
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        ax.legend(fontsize=7, title="probe (share of Σ)", title_fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig
