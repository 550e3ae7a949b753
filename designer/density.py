"""The trainer's view of the density pipeline in :mod:`constraints`.

Binds a config's constraint settings and a layout's masks to the pure functions
of :mod:`constraints`, so the trainer asks only for the densities it needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from constraints import continuation, lengthscale, measure, pipeline

from .config import Config
from .physics import Layout

__all__ = ["DensityModel", "make_density_model"]


@dataclass(frozen=True)
class DensityModel:
    cfg: Config
    spec: pipeline.PipelineSpec
    design_mask: torch.Tensor
    fixed_solid: torch.Tensor
    fixed_void: torch.Tensor
    rule_cells: float

    @property
    def method(self) -> str:
        return self.cfg.constraints.method

    @property
    def variants(self) -> int:
        return 3 if self.method in ("robust", "both") else 1

    def beta(self, epoch: int) -> float:
        c = self.cfg.constraints
        return continuation.beta_schedule(epoch, c.beta_start, c.beta_factor, c.beta_every_epochs, c.beta_max)

    def _args(self):
        return self.design_mask, self.fixed_solid, self.fixed_void, self.spec

    def training(self, theta: torch.Tensor, beta: float) -> list[torch.Tensor]:
        """Densities whose losses are averaged: eroded, nominal, dilated when robust."""
        if self.variants == 3:
            return list(pipeline.robust_densities(theta, *self._args(), beta))
        return [pipeline.density(theta, *self._args(), beta)]

    def penalty(self, theta: torch.Tensor, beta: float) -> torch.Tensor | float:
        """Zhou et al. (2015) indicator penalty, when the config asks for it."""
        if self.method not in ("indicator", "both"):
            return 0.0
        g_solid, g_void = pipeline.indicator_terms(theta, *self._args(), beta)
        return self.cfg.constraints.indicator_weight * (g_solid + g_void)

    def smooth(self, theta: torch.Tensor, beta: float) -> torch.Tensor:
        return pipeline.density(theta, *self._args(), beta)

    def binary(self, theta: torch.Tensor) -> torch.Tensor:
        return pipeline.binary_density(theta, *self._args())

    @staticmethod
    def clamp_(theta: torch.Tensor) -> None:
        with torch.no_grad():
            theta.clamp_(0.0, 1.0)

    def lengthscale(self, binary: torch.Tensor, smooth: torch.Tensor) -> dict:
        """Measured length scales of the binary design and grayness of the smooth one."""
        mask = self.design_mask.cpu().numpy()
        m = measure.measure(binary.cpu().numpy() > 0.5, mask)
        h = self.cfg.template.to_unit(self.cfg.template.cell_size_m)
        unit = self.cfg.template.length_unit
        gray = float(measure.grayness(smooth.detach().cpu().numpy()[mask]))
        solid, void = float(m.min_solid_cells), float(m.min_void_cells)
        return {
            "grayness": gray,
            "min_solid_cells": solid,
            "min_void_cells": void,
            f"min_solid_{unit}": solid * h,
            f"min_void_{unit}": void * h,
            "rule_cells": self.rule_cells,
            "meets_rule": bool(solid >= self.rule_cells and void >= self.rule_cells),
        }


def make_density_model(cfg: Config, layout: Layout) -> DensityModel:
    """The pipeline for ``cfg``: filter radius and thresholds from the template's rule.

    The stricter of the template's solid and void rules is imposed on both
    phases, so one number (``rule_cells``) states what the design promises.
    """
    t = cfg.template
    rule = max(t.min_solid_cells, t.min_void_cells)
    c = cfg.constraints
    if c.method == "none":
        spec = pipeline.PipelineSpec(filter=c.filter, radius_cells=max(1.0, rule / 2), robust=False)
    else:
        params = lengthscale.robust_parameters(lengthscale.LengthScaleTargets(rule, rule))
        spec = pipeline.PipelineSpec(filter=c.filter, radius_cells=params.radius_cells, eta=params.eta_nominal,
                                     eta_e=params.eta_e, eta_d=params.eta_d, robust=True,
                                     min_solid_cells=rule, min_void_cells=rule)
    fixed_solid = layout.frame
    fixed_void = layout.keepout
    return DensityModel(cfg, spec, layout.design_mask, fixed_solid, fixed_void, rule)
