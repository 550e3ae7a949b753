"""Density and speed: the acoustic wave equation p_tt = rho c^2 div(grad p / rho).

With the bulk modulus kappa = rho c^2 this is p_tt = kappa div(grad p / rho).
The material is interpolated in 1/rho and 1/kappa, linear in the design
density x (Duhring, Jensen & Sigmund, "Acoustic design by topology
optimization", J. Sound Vib. 317, 557 (2008)):

    1/rho(x)   = (1 - x) / rho_0   + x / rho_1,
    1/kappa(x) = (1 - x) / kappa_0 + x / kappa_1,

with 0 the background fluid and 1 the material. Relative to the fluid the
engine's maps are q = rho_0 / rho(x) (``inv_density``) and courant^2 =
(c_0 dt / h)^2 kappa(x) / kappa_0, so that courant^2 q is the local Courant
number squared. A sound-hard wall is the limit rho_1 -> infinity (q -> 0).
The speeds and densities are the simulated ones (``Material.simulated_*``).
The fluid's attenuation (``template.losses``, the layout's ``fluid_loss``)
adds a damping weighted by the fluid's share 1 - x of each cell.
"""
from __future__ import annotations

import torch

from ...config import Config
from ..layout import Layout
from ..wave import Medium

__all__ = ["build", "local_speed", "ratios"]


def ratios(cfg: Config) -> tuple[float, float]:
    """(rho_0 / rho_1, kappa_0 / kappa_1) of the template's fluid (0) and material (1)."""
    t = cfg.template
    rho0, rho1 = t.background.simulated_density_kg_per_m3, t.material.simulated_density_kg_per_m3
    c0, c1 = t.background.simulated_speed_m_per_s, t.material.simulated_speed_m_per_s
    return rho0 / rho1, (rho0 * c0 * c0) / (rho1 * c1 * c1)


def _maps(rho: torch.Tensor, cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    """(q, kappa / kappa_0) for density ``rho``."""
    r_rho, r_kappa = ratios(cfg)
    q = 1.0 + (r_rho - 1.0) * rho
    stiffness = 1.0 / (1.0 + (r_kappa - 1.0) * rho)
    return q, stiffness


def local_speed(rho: torch.Tensor, cfg: Config) -> torch.Tensor:
    """sqrt(kappa(x) / rho(x)) in m/s."""
    q, stiffness = _maps(rho, cfg)
    return cfg.template.background.simulated_speed_m_per_s * torch.sqrt(stiffness * q)


def build(rho: torch.Tensor, cfg: Config, layout: Layout) -> Medium:
    """Engine maps for density ``rho`` on ``layout``'s grid (2D or 3D); linear, no nonlinearity."""
    q, stiffness = _maps(rho, cfg)
    nu0 = cfg.template.background.simulated_speed_m_per_s * cfg.dt_s / cfg.template.cell_size_m
    damping = layout.damping.to(dtype=rho.dtype, device=rho.device)
    if layout.fluid_loss is not None:  # the fluid's own loss, in the fluid's share of each cell
        damping = damping + (1.0 - rho) * layout.fluid_loss.to(dtype=rho.dtype, device=rho.device)
    return Medium(courant=nu0 * torch.sqrt(stiffness), damping=damping, inv_density=q)
