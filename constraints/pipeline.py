"""Latent field -> physical density: the differentiable pipeline and its binary end.

Order: ``theta -> sigmoid -> fixed regions -> filter -> projection -> fixed regions``.

* Latent mapping: ``rho = sigmoid(theta)``. It keeps ``rho`` in (0, 1) for
  any unconstrained optimiser step without clamping, so no gradient is lost
  at the bounds; ``theta = 0`` is the uniform gray start ``rho = 1/2``.
* Fixed regions: before filtering, cells outside the free region are set to
  their physical value (1 on ``fixed_solid``, else 0), so the filter sees the
  real neighbourhood of the design region (a frame pulls edge cells towards
  solid). After projection they are set again, so ``rho`` is exactly 0
  outside the design region and exactly 1 on ``fixed_solid``.
* Free region = ``design_mask & ~fixed_solid & ~fixed_void``.

References: Wang, Lazarov & Sigmund (2011) for the robust eroded / nominal /
dilated designs; Qian & Sigmund (2013) for their thresholds (see
:mod:`constraints.lengthscale`); Schubert et al. (2022) for the brush
generator behind :func:`binary_density` (see :mod:`constraints.brushes`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from constraints.brushes import brush_design
from constraints.filters import conic_filter, gaussian_filter
from constraints.lengthscale import LengthScaleTargets, robust_parameters
from constraints.projection import staircase_projection

__all__ = ["FILTERS", "PipelineSpec", "binary_density", "density", "relief_layers", "robust_densities",
           "spec_for_targets"]

FILTERS = {"conic": conic_filter, "gaussian": gaussian_filter}


@dataclasses.dataclass(frozen=True)
class PipelineSpec:
    """Settings of the density pipeline.

    Attributes:
        filter: Key of :data:`FILTERS`.
        radius_cells: Conic radius ``R``, or Gaussian ``sigma``, in cells.
        eta: Nominal threshold.
        eta_e: Eroded threshold (> eta).
        eta_d: Dilated threshold (< eta).
        robust: Whether the trainer should optimise all three designs.
        min_solid_cells, min_void_cells: Length targets (cells) the binary
            design is guaranteed to meet; ``None`` means plain thresholding.
        levels: Height levels N of a relief: 1 projects towards {0, 1}; N >= 2
            towards {0, 1/N, ..., 1} (:func:`constraints.projection.staircase_projection`),
            a cell of value k / N a wall k / N of the full height, and the
            design to fabricate is N nested binary layers, each meeting the
            length targets (:func:`binary_density`).
    """

    filter: str = "conic"
    radius_cells: float = 3.0
    eta: float = 0.5
    eta_e: float = 0.75
    eta_d: float = 0.25
    robust: bool = True
    min_solid_cells: float | None = None
    min_void_cells: float | None = None
    levels: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.levels, int) and self.levels >= 1):
            raise ValueError(f"`levels` must be an integer >= 1, but got {self.levels!r}.")
        if self.filter not in FILTERS:
            raise ValueError(f"Unknown filter {self.filter!r}; valid filters are {sorted(FILTERS)}.")
        if not self.radius_cells > 0:
            raise ValueError(f"`radius_cells` must be > 0, but got {self.radius_cells}.")
        if not 0 < self.eta_d <= self.eta <= self.eta_e < 1:
            raise ValueError(f"need 0 < eta_d <= eta <= eta_e < 1, but got {self.eta_d}, {self.eta}, {self.eta_e}.")
        if (self.min_solid_cells is None) != (self.min_void_cells is None):
            raise ValueError("`min_solid_cells` and `min_void_cells` must be given together.")


def spec_for_targets(targets: LengthScaleTargets, eta_offset: float = 0.25) -> PipelineSpec:
    """Default conic pipeline for ``targets``: Qian-Sigmund ``R, eta_e, eta_d`` plus the binary guarantee."""
    params = robust_parameters(targets, eta_offset)
    return PipelineSpec(
        filter="conic",
        radius_cells=params.radius_cells,
        eta=params.eta_nominal,
        eta_e=params.eta_e,
        eta_d=params.eta_d,
        robust=True,
        min_solid_cells=targets.min_solid_cells,
        min_void_cells=targets.min_void_cells,
    )


def _masks(theta: torch.Tensor, *masks: np.ndarray | torch.Tensor) -> list[torch.Tensor]:
    shape = tuple(theta.shape[-2:])
    out = []
    for mask in masks:
        mask = torch.as_tensor(mask, dtype=torch.bool, device=theta.device)
        if tuple(mask.shape) != shape:
            raise ValueError(f"masks must have shape {shape}, but got shape {tuple(mask.shape)}.")
        out.append(mask)
    if (out[1] & out[2]).any():
        raise ValueError("`fixed_solid` and `fixed_void` overlap.")
    return out


def _fix(rho: torch.Tensor, free: torch.Tensor, fixed_solid: torch.Tensor) -> torch.Tensor:
    rho = torch.where(free, rho, torch.zeros((), dtype=rho.dtype))
    return torch.where(fixed_solid, torch.ones((), dtype=rho.dtype), rho)


def filtered_density(theta, design_mask, fixed_solid, fixed_void, spec):
    """Filtered density before projection, with the free-region and fixed-solid masks.

    Returns ``(filtered, free, fixed_solid)``; ``filtered`` has the shape of ``theta``.
    """
    design, solid, void = _masks(theta, design_mask, fixed_solid, fixed_void)
    free = design & ~solid & ~void
    rho = _fix(torch.sigmoid(theta), free, solid)
    return FILTERS[spec.filter](rho, spec.radius_cells), free, solid


def density(theta, design_mask, fixed_solid, fixed_void, spec: PipelineSpec, beta: float) -> torch.Tensor:
    """Nominal physical density in [0, 1] over the full domain.

    Args:
        theta: Latent field, float ``(..., nx, ny)``.
        design_mask, fixed_solid, fixed_void: Bool ``(nx, ny)`` masks.
        spec: Pipeline settings.
        beta: Projection steepness (``math.inf`` for a hard threshold).

    Returns:
        ``rho``, shape and dtype of ``theta``: 0 outside the design region,
        1 on ``fixed_solid``.
    """
    filtered, free, solid = filtered_density(theta, design_mask, fixed_solid, fixed_void, spec)
    return _fix(staircase_projection(filtered, beta, spec.eta, spec.levels), free, solid)


def robust_densities(theta, design_mask, fixed_solid, fixed_void, spec: PipelineSpec, beta: float):
    """``(eroded, nominal, dilated)`` densities, thresholds ``eta_e``, ``eta``, ``eta_d``; as :func:`density`."""
    filtered, free, solid = filtered_density(theta, design_mask, fixed_solid, fixed_void, spec)
    return tuple(_fix(staircase_projection(filtered, beta, eta, spec.levels), free, solid)
                 for eta in (spec.eta_e, spec.eta, spec.eta_d))


def relief_layers(relief: np.ndarray, levels: int) -> np.ndarray:
    """The N binary layers (N, nx, ny) of a relief map with values k / N, bottom first.

    Layer j (0-based) holds the cells whose wall reaches above j / N of the
    full height: value >= (j + 1) / N. The layers are nested (each holds the
    next); a binary map (``levels = 1``) is its own single layer.
    """
    relief = np.asarray(relief, dtype=float)
    steps = np.rint(relief * levels)
    return np.stack([steps >= j + 1 for j in range(levels)])


def binary_density(theta, design_mask, fixed_solid, fixed_void, spec: PipelineSpec, check=None) -> torch.Tensor:
    """The design to fabricate: exactly 0/1 (a relief: exactly k / N), same shape and dtype as ``theta``, no gradient.

    Without length targets in ``spec`` this is the ``beta = inf`` nominal
    design. With them, the free region is drawn by the brush generator of
    :mod:`constraints.brushes` from the filtered field with solid and void
    brushes of ``ceil(min_solid_cells)`` and ``ceil(min_void_cells)`` cells.
    Guaranteed: ``measure(out, free_region)`` reports at least those targets,
    because every solid (void) cell lies in a solid (void) disk of that
    diameter; and it has no diagonal-only contacts (2 x 2 checkerboards,
    counting ``fixed_solid`` as solid). Where the ``beta = inf`` nominal
    design already meets the targets, the output equals it, so the trained design is changed only
    where it breaks the rule. ``check``, if given, is passed on to
    :func:`constraints.brushes.brush_design` (it sees each drawn design with
    ``fixed_solid`` added, as it will be fabricated).

    A relief (``spec.levels`` = N >= 2) is drawn layer by layer, bottom
    first: layer j is the binary design of the step field ``clamp(N x - j,
    0, 1)`` (the cells the staircase projection lifts above j / N) with the
    void of layer j - 1 kept void (``brush_design``'s ``void``), so the
    layers nest as a printed part's do (a wall is a column from the base
    up). That keeps the guarantee: layer j - 1's void is a union of void
    disks, so every kept cell has a valid void touch that scores above every
    other and is painted first, no solid touch can then cover it, and a
    repair window that holds one is pinned void. Each layer is still
    intersected with the one below (a no-op by the above), and
    :func:`constraints.measure.measure` of each layer reports what was kept.
    The result is the mean of the layers.
    """
    with torch.no_grad():
        filtered, free, solid = filtered_density(theta, design_mask, fixed_solid, fixed_void, spec)
        n = spec.levels
        if n == 1:
            return _binary_of(filtered, free, solid, spec, check)
        layers, below = [], None
        for j in range(n):
            step = (n * filtered - j).clamp(0.0, 1.0)
            gaps = None if below is None else below < 0.5  # no wall above a gap of the layer below
            layer = _binary_of(step, free, solid, spec, check, gaps)
            below = layer if below is None else torch.minimum(layer, below)
            layers.append(below)
        return sum(layers) / n


def _binary_of(filtered: torch.Tensor, free: torch.Tensor, solid: torch.Tensor, spec: PipelineSpec, check,
               void: torch.Tensor | None = None):
    """The binary design of a filtered field (see :func:`binary_density`); ``void``: cells kept void."""
    if void is not None:
        filtered = torch.where(void, torch.zeros_like(filtered), filtered)
    nominal = _fix(staircase_projection(filtered, math.inf, spec.eta, 1), free, solid)
    if spec.min_solid_cells is None:
        return nominal
    sizes = (math.ceil(spec.min_solid_cells), math.ceil(spec.min_void_cells))
    region, frame = free.cpu().numpy(), solid.cpu().numpy()
    flat = filtered.reshape(-1, *filtered.shape[-2:]).cpu().numpy()
    whole = None if check is None else (lambda out: check(out | frame))
    voids = [None] * len(flat) if void is None else void.reshape(-1, *void.shape[-2:]).cpu().numpy()
    drawn = np.stack([brush_design(f, region, spec.eta, *sizes, fixed_solid=frame, check=whole, void=v)
                      for f, v in zip(flat, voids)])
    drawn = drawn.reshape(filtered.shape)
    drawn = torch.as_tensor(drawn, device=filtered.device)
    return torch.where(free, drawn.to(filtered.dtype), nominal)
