"""The trainer's view of the density pipeline in :mod:`constraints`.

Binds a config's constraint settings and a layout's masks to the pure functions
of :mod:`constraints`, so the trainer asks only for the densities it needs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

import fabrication as fab

from constraints import continuation, lengthscale, pipeline
from constraints.measure import grayness, measure

from . import relief
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

    def through_fabricated(self, epoch: int) -> bool:
        """Whether ``epoch`` trains through the fabricated geometry (the last epochs)."""
        return epoch >= self.cfg.training.epochs - self.cfg.constraints.fabricated_epochs

    def training(self, theta: torch.Tensor, beta: float, epoch: int = 0) -> list[torch.Tensor]:
        """Densities whose losses are averaged: eroded, nominal, dilated when robust.

        In the last ``fabricated_epochs`` the nominal design is replaced by the
        fabricated one with a straight-through gradient: the forward pass sees
        exactly the geometry that will be exported, the backward pass the
        smooth pipeline's derivative (Bengio, Leonard & Courville 2013).
        """
        if self.variants == 3:
            variants = list(pipeline.robust_densities(theta, *self._args(), beta))
        else:
            variants = [pipeline.density(theta, *self._args(), beta)]
        if self.through_fabricated(epoch):
            k = len(variants) // 2
            nominal = variants[k]
            variants[k] = nominal + (self.fabricated(theta) - nominal).detach()
        return variants

    def penalty(self, theta: torch.Tensor, beta: float) -> torch.Tensor | float:
        """Zhou et al. (2015) indicator penalty, when the config asks for it."""
        if self.method not in ("indicator", "both"):
            return 0.0
        filtered, _, _ = pipeline.filtered_density(theta, *self._args())
        projected = pipeline.density(theta, *self._args(), beta)
        c = 64.0 * self.spec.radius_cells**2  # Hammond et al. 2021's choice, in cells^2
        g_solid, g_void = lengthscale.indicator_penalty(filtered, projected, self.spec.eta_e, self.spec.eta_d, c=c)
        return self.cfg.constraints.indicator_weight * (g_solid + g_void)

    def smooth(self, theta: torch.Tensor, beta: float) -> torch.Tensor:
        return pipeline.density(theta, *self._args(), beta)

    def binary(self, theta: torch.Tensor) -> torch.Tensor:
        """The exactly binary design on the grid, meeting the length-scale rule (a relief: values k / N, each layer meeting it).

        With a rule imposed, the brush generator also redraws the design
        where its exported polygons fail the design-rule check that
        ``designer export`` runs, so what is trained and shipped passes it.
        """
        check = None if self.method == "none" else self.drc_cells
        return pipeline.binary_density(theta, *self._args(), check=check)

    def drc_cells(self, binary: np.ndarray) -> list[tuple[int, int]]:
        """``(ix, iy)`` cells of the design-rule violations of ``binary``'s exported polygons."""
        from .export import fab_layout, fab_process

        layout, process = fab_layout(self.cfg), fab_process(self.cfg)
        polygons = fab.polygons_from_binary(np.asarray(binary, dtype=float), layout, process)
        h = layout.cell_size
        return [(int(v.x // h), int(v.y // h)) for v in fab.drc(polygons, layout, process)]

    def fabricated(self, theta: torch.Tensor) -> torch.Tensor:
        """The exported geometry of the binary design, as area coverage per cell.

        This is what the part looks like to the simulator after export: the
        binary design's polygons (marching squares, snapped to the process
        grid) rasterised with area weighting, exactly as ``designer verify``
        re-imports it.
        """
        return fabricated_coverage(self.binary(theta), self.cfg)

    def lengthscale(self, binary: torch.Tensor, smooth: torch.Tensor) -> dict:
        """Measured length scales of the binary design and grayness of the smooth one.

        A relief is measured layer by layer: its figures are the narrowest
        wall and gap of any layer, and its contacts those of all layers. Its
        grayness is the smooth field's distance from the nearest height level.
        """
        mask = self.design_mask.cpu().numpy()
        stack = relief.layers(binary.cpu().numpy(), self.cfg)
        found = [measure(layer, mask) for layer in stack]
        h = self.cfg.template.to_unit(self.cfg.template.cell_size_m)
        unit = self.cfg.template.length_unit
        n = self.spec.levels
        field = smooth.detach().cpu().numpy()[mask] * n
        gray = float(grayness(field - np.clip(np.floor(field), 0, n - 1)))
        solid = float(min(m.min_solid_cells for m in found))
        void = float(min(m.min_void_cells for m in found))
        contacts = sum(int(f.diagonal_contacts) for f in found)
        extra = {} if n == 1 else {"levels": n}
        return {
            **extra,
            "grayness": gray,
            "min_solid_cells": solid,
            "min_void_cells": void,
            f"min_solid_{unit}": solid * h,
            f"min_void_{unit}": void * h,
            "rule_cells": self.rule_cells,
            "diagonal_contacts": contacts,
            "meets_rule": bool(solid >= self.rule_cells and void >= self.rule_cells and contacts == 0),
        }


def fabricated_coverage(binary: torch.Tensor, cfg: Config, refine: int = 1) -> torch.Tensor:
    """Area coverage of the exported polygons of ``binary`` (nx, ny) on a ``refine`` x grid.

    A relief's is the mean of its layers' coverages (:mod:`designer.relief`).
    """
    polygons = relief.layer_polygons(binary.detach().cpu().numpy(), cfg)
    cover = relief.layer_coverage(polygons, cfg, refine)
    return torch.as_tensor(cover, dtype=binary.dtype, device=binary.device)


def make_density_model(cfg: Config, layout: Layout) -> DensityModel:
    """The pipeline for ``cfg``: filter radius and thresholds from the template's rule.

    The stricter of the template's solid and void rules is imposed on both
    phases, so one number (``rule_cells``) states what the design promises.
    """
    t = cfg.template
    rule = max(t.min_solid_cells, t.min_void_cells)
    c = cfg.constraints
    if c.method == "none":
        # Unconstrained: a one-cell filter keeps the optimiser's pixels, no rule imposed.
        spec = pipeline.PipelineSpec(filter=c.filter, radius_cells=1.0, robust=False, levels=c.levels)
    else:
        # The filter and thresholds aim above the rule (rule_margin), so the
        # trained design rarely needs the generator's repair to meet it.
        aim = rule * c.rule_margin
        spec = dataclasses.replace(pipeline.spec_for_targets(lengthscale.LengthScaleTargets(aim, aim)),
                                   filter=c.filter, min_solid_cells=rule, min_void_cells=rule, levels=c.levels)
    fixed_solid = layout.frame
    fixed_void = layout.keepout
    return DensityModel(cfg, spec, layout.design_mask, fixed_solid, fixed_void, rule)
