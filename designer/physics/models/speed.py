"""Speed only: the scalar wave equation u_tt = c^2 lap u with c = c0 + (c1 - c0) rho.

The interpolation is Hughes, Williamson, Minkov & Fan, Science Advances 5,
eaay6946 (2019). The Courant map is c dt / h; a refined grid (cells h/K, step
dt/K) keeps every Courant number. The paper's nonlinearities (Kerr-like speed
change, saturable absorption) act only in the material, times rho.
"""
from __future__ import annotations

import torch

from ...config import Config
from ..layout import Layout
from ..wave import Medium

__all__ = ["build", "local_speed"]


def local_speed(rho: torch.Tensor, cfg: Config) -> torch.Tensor:
    """c = c0 + (c1 - c0) rho in m/s, c0 the background's and c1 the material's simulated speed."""
    c0 = cfg.template.background.simulated_speed_m_per_s
    c1 = cfg.template.material.simulated_speed_m_per_s
    return c0 + (c1 - c0) * rho


def build(rho: torch.Tensor, cfg: Config, layout: Layout) -> Medium:
    """Engine maps for density ``rho`` on ``layout``'s grid."""
    courant = local_speed(rho, cfg) * (cfg.dt_s / cfg.template.cell_size_m)  # (dt/K) / (h/K)
    nl = cfg.nonlinearity
    kerr = rho * nl.kerr if nl.kerr else None
    saturable = rho * (nl.saturable_absorption / layout.refine) if nl.saturable_absorption else None
    damping = layout.damping.to(dtype=rho.dtype, device=rho.device)
    return Medium(courant=courant, damping=damping, kerr=kerr, saturable=saturable,
                  saturation_amplitude=nl.saturation_amplitude)
