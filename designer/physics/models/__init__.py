"""Physical models: a material density field in, the engine's dimensionless maps out.

Each model is one small module with ``build(rho, cfg, layout) -> Medium`` and
``local_speed(rho, cfg) -> wave speed in m/s``; the engine never knows which
material physics it runs. A template names its model (``model = "speed"``,
``"density"`` or ``"slab"``). A spectral model (``slab``) returns a
:class:`~designer.physics.spectral.SpectralMedium`, solved per frequency.
"""
from __future__ import annotations

import torch

from ...config import Config
from ..layout import Layout
from ..wave import Medium
from . import density, slab, speed

__all__ = ["MODELS", "build_medium", "wave_speed_m_per_s", "slowest_speed_m_per_s", "solve_frequencies"]

MODELS = {"speed": speed, "density": density, "slab": slab}


def _model(cfg: Config):
    name = cfg.template.model
    if name not in MODELS:
        raise ValueError(f"unknown physical model {name!r}; expected one of: {', '.join(MODELS)}")
    return MODELS[name]


def slowest_speed_m_per_s(cfg: Config) -> float:
    """The slowest phase velocity the simulation meets (it sets the cells per wavelength), m/s."""
    model = _model(cfg)
    return model.slowest_speed(cfg) if hasattr(model, "slowest_speed") else cfg.template.min_speed_m_per_s


def solve_frequencies(cfg: Config, refine: int = 1) -> int:
    """How many frequencies a spectral model solves per design (0 for a model stepped in time)."""
    model = _model(cfg)
    return len(model.nodes_hz(cfg, refine)) if hasattr(model, "nodes_hz") else 0


def build_medium(rho: torch.Tensor, cfg: Config, layout: Layout) -> Medium:
    """Engine maps for density ``rho`` (the layout's grid shape) under the template's model."""
    return _model(cfg).build(rho, cfg, layout)


def wave_speed_m_per_s(rho: torch.Tensor, cfg: Config) -> torch.Tensor:
    """Local wave speed for density ``rho`` under the template's model, in m/s."""
    return _model(cfg).local_speed(rho, cfg)
