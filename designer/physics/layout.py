"""A run's geometry on the simulation grid: design region, frame, keep-outs, sources, probes, absorber.

A refined grid (cells h/K, step dt/K) keeps every Courant number, so the same
layout describes the same physical device at K times the resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import Config
from .absorber import damping_profile

__all__ = ["Layout", "layout_from_config", "frame_cells", "fluid_loss_per_step"]


@dataclass(frozen=True)
class Layout:
    """Boolean masks and weights of a run's geometry at ``refine`` x resolution.

    design_mask: (nx, ny) cells free to change. keepout: cells forced to
    background around sources and probes. frame: cells forced to material,
    the template's printed frame (it is printed, so it is simulated).
    source_weights: (nx, ny). probe_weights: (P, nx, ny). damping: the
    absorbing layer, per step. fluid_loss: the fluid's own attenuation per
    step where it applies (the channel), or None; a physical model weighs it
    by the fluid's share of each cell.
    """

    design_mask: torch.Tensor
    keepout: torch.Tensor
    frame: torch.Tensor
    source_weights: torch.Tensor
    probe_weights: torch.Tensor
    damping: torch.Tensor
    refine: int = 1
    fluid_loss: torch.Tensor | None = None

    def to(self, device, dtype) -> "Layout":
        """The same layout on ``device``: floating-point tensors in ``dtype``, masks as they are."""
        return Layout(**{k: (v.to(device=device, dtype=dtype) if torch.is_tensor(v) and v.is_floating_point()
                             else v.to(device) if torch.is_tensor(v) else v)
                         for k, v in self.__dict__.items()})


def fluid_loss_per_step(cfg: Config, refine: int = 1) -> float:
    """b dt = 2 c alpha dt of the template's fluid loss, on a grid ``refine`` times finer."""
    t = cfg.template
    return 2.0 * t.background.simulated_speed_m_per_s * t.losses.fluid_np_per_m * cfg.dt_s / refine


def _disc(nx: int, ny: int, cx: float, cy: float, radius: float) -> torch.Tensor:
    x = torch.arange(nx, dtype=torch.float64)[:, None] + 0.5
    y = torch.arange(ny, dtype=torch.float64)[None, :] + 0.5
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def frame_cells(cfg: Config) -> int:
    """Width of the template's printed frame in cells (0: none)."""
    p = cfg.template.printing
    if p.frame_width_m <= 0:
        return 0
    return max(1, round(p.frame_width_m / cfg.template.cell_size_m))


def _box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    xs, ys = torch.nonzero(mask.any(1)).squeeze(1), torch.nonzero(mask.any(0)).squeeze(1)
    return int(xs[0]), int(xs[-1]) + 1, int(ys[0]), int(ys[-1]) + 1


def layout_from_config(cfg: Config, refine: int = 1) -> Layout:
    """Masks and source/probe weights for ``cfg`` on a grid ``refine`` times finer."""
    k = refine
    nx, ny = cfg.grid.nx * k, cfg.grid.ny * k
    r = cfg.design_region
    design = torch.zeros(nx, ny, dtype=torch.bool)
    design[r.x0_cells * k:r.x1_cells * k, r.y0_cells * k:r.y1_cells * k] = True
    w = frame_cells(cfg) * k
    frame = torch.zeros_like(design)
    if w:
        inside = design if cfg.template.printing.frame_around == "design_region" else torch.ones_like(design)
        frame = inside.clone()
        x0, x1, y0, y1 = _box(inside)
        frame[x0 + w:x1 - w, y0 + w:y1 - w] = False
    source = torch.zeros(nx, ny, dtype=torch.float64)
    for s in cfg.sources:
        if s.kind == "point":
            # A point source over one cell of area (h/K)^2 injects K^2 times
            # the density over 1/K^2 the area: the per-cell step is unchanged.
            # It stays at the coarse cell's centre: the middle fine cell for odd
            # K, the four fine cells around that point (a quarter each) for even K.
            centre = [k // 2] if k % 2 else [k // 2 - 1, k // 2]
            for dx in centre:
                for dy in centre:
                    source[s.x_cells * k + dx, s.y_cells * k + dy] += 1.0 / len(centre) ** 2
        else:
            n = max(abs(s.x_end_cells - s.x_cells), abs(s.y_end_cells - s.y_cells)) * k + 1
            xs = torch.linspace(s.x_cells + 0.5, s.x_end_cells + 0.5, n) * k
            ys = torch.linspace(s.y_cells + 0.5, s.y_end_cells + 0.5, n) * k
            # A line source's per-cell weight scales as h, i.e. 1/K.
            source[xs.long().clamp(0, nx - 1), ys.long().clamp(0, ny - 1)] = 1.0 / k
    probes = torch.stack([
        _disc(nx, ny, (p.x_cells + 0.5) * k, (p.y_cells + 0.5) * k, max(p.radius_cells * k, 0.5)).double()
        for p in cfg.probes
    ])
    keep = torch.zeros_like(design)
    ko = r.keepout_cells
    for s in cfg.sources:
        keep |= _disc(nx, ny, (s.x_cells + 0.5) * k, (s.y_cells + 0.5) * k, ko * k + 0.5)
    for p in cfg.probes:
        keep |= _disc(nx, ny, (p.x_cells + 0.5) * k, (p.y_cells + 0.5) * k, (p.radius_cells + ko) * k)
    g = cfg.grid
    # A frame around the domain stands behind the absorber: the layer ends at its inner face.
    inset = w if cfg.template.printing.frame_around == "domain" else 0
    damping = damping_profile((nx, ny), g.absorber_cells * k, cfg.absorber_per_step(k),
                              g.absorber_profile, g.absorber_order, inset=inset)
    loss = fluid_loss_per_step(cfg, k)
    fluid_loss = torch.full((nx, ny), loss, dtype=torch.float64) if loss else None
    return Layout(design, keep & design, frame, source, probes / probes.sum((1, 2), keepdim=True), damping, k,
                  fluid_loss)
