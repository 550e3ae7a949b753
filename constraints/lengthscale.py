"""Length-scale targets: robust-formulation parameters and indicator penalties.

References
----------
Qian, X. & Sigmund, O. (2013). Topological design of electromechanical
actuators with robustness toward over- and under-etching. CMAME 253, 237-251.
Wang, F., Lazarov, B. S. & Sigmund, O. (2011). On projection methods,
convergence and robust formulations in topology optimization. SMO 43, 767-784.
Zhou, M., Lazarov, B. S., Wang, F. & Sigmund, O. (2015). Minimum length scale
in topology optimization by geometric constraints. CMAME 293, 266-282.
Hammond, A. M., Oskooi, A., Johnson, S. G. & Ralph, S. E. (2021). Photonic
topology optimization with semiconductor-foundry design-rule constraints.
Opt. Express 29, 23916-23938 (choice ``c = 64 R^2``).
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

__all__ = ["LengthScaleTargets", "RobustParameters", "eta_for_length", "indicator_penalty", "radius_for_length", "robust_parameters"]


@dataclasses.dataclass(frozen=True)
class LengthScaleTargets:
    """Minimum solid width and void gap of the fabricated design, in cells (>= 2)."""

    min_solid_cells: float
    min_void_cells: float

    def __post_init__(self) -> None:
        for name in ("min_solid_cells", "min_void_cells"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 2):
                raise ValueError(f"`{name}` must be a finite number >= 2 cells, but got {value}.")


@dataclasses.dataclass(frozen=True)
class RobustParameters:
    """Conic-filter radius (cells) and eroded / nominal / dilated thresholds."""

    radius_cells: float
    eta_e: float
    eta_nominal: float
    eta_d: float


def eta_for_length(length_cells: float, radius_cells: float) -> float:
    """Eroded threshold ``eta_e`` that gives blueprint length ``b`` with conic radius ``R``.

    Qian & Sigmund (2013), 1D analysis of the linear-hat filter: with
    ``q = b / R``, ``eta_e = 1/2 + q^2 / 4`` for ``q <= 1`` and
    ``eta_e = q - q^2 / 4`` for ``1 <= q <= 2`` (1 beyond). The void relation
    is the mirror image: ``eta_d = 1 - eta_for_length(b_void, R)``.
    """
    if length_cells < 0 or not radius_cells > 0:
        raise ValueError(f"need length >= 0 and radius > 0, but got {length_cells} and {radius_cells}.")
    q = length_cells / radius_cells
    if q <= 1:
        return 0.5 + q * q / 4
    return q - q * q / 4 if q <= 2 else 1.0


def radius_for_length(length_cells: float, eta_e: float) -> float:
    """Conic radius ``R`` (cells) for blueprint length ``b`` at threshold ``eta_e``; inverse of :func:`eta_for_length`.

    ``R = b / (2 sqrt(eta_e - 1/2))`` for ``eta_e <= 3/4`` and
    ``R = b / (2 - 2 sqrt(1 - eta_e))`` above (Qian & Sigmund 2013).
    """
    if not 0.5 < eta_e <= 1.0:
        raise ValueError(f"`eta_e` must lie in (0.5, 1], but got {eta_e}.")
    if eta_e <= 0.75:
        return length_cells / (2 * math.sqrt(eta_e - 0.5))
    return length_cells / (2 - 2 * math.sqrt(1 - eta_e))


def robust_parameters(targets: LengthScaleTargets, eta_offset: float = 0.25) -> RobustParameters:
    """Filter radius and thresholds meeting both targets in the robust formulation.

    The larger target fixes ``R`` with its threshold ``eta_offset`` away from
    1/2 (0.25 gives the customary 0.75 / 0.25 and ``R = b``); the smaller
    target then gets the threshold the Qian-Sigmund relation gives for that
    ``R``. The eroded design (``eta_e``) controls the blueprint's solid width,
    the dilated one (``eta_d``) its void gap.
    """
    if not 0 < eta_offset <= 0.5:
        raise ValueError(f"`eta_offset` must lie in (0, 0.5], but got {eta_offset}.")
    longest = max(targets.min_solid_cells, targets.min_void_cells)
    radius = radius_for_length(longest, 0.5 + eta_offset)
    return RobustParameters(
        radius_cells=radius,
        eta_e=eta_for_length(targets.min_solid_cells, radius),
        eta_nominal=0.5,
        eta_d=1.0 - eta_for_length(targets.min_void_cells, radius),
    )


def _gradient_sq(x: torch.Tensor) -> torch.Tensor:
    """``|grad x|^2`` (cells^-2) by central differences, edge-replicated; shape of ``x``."""
    flat = F.pad(x.reshape(-1, 1, *x.shape[-2:]), (1, 1, 1, 1), mode="replicate")
    gx = (flat[..., 2:, 1:-1] - flat[..., :-2, 1:-1]) / 2
    gy = (flat[..., 1:-1, 2:] - flat[..., 1:-1, :-2]) / 2
    return (gx**2 + gy**2).reshape(x.shape)


def indicator_penalty(
    filtered: torch.Tensor, projected: torch.Tensor, eta_e: float, eta_d: float, *, c: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Solid and void geometric indicators of Zhou et al. (2015).

    ``g_s = mean( rho_bar exp(-c |grad rho~|^2) min(rho~ - eta_e, 0)^2 )``
    ``g_v = mean( (1 - rho_bar) exp(-c |grad rho~|^2) min(eta_d - rho~, 0)^2 )``

    The exponential picks the skeleton of each feature (where the filtered
    field is flat); there a solid feature wide enough to survive erosion has
    ``rho~ >= eta_e`` and a void gap ``rho~ <= eta_d``. Both are zero when the
    design meets the rule; use as ``g <= epsilon`` constraints or penalties.

    Args:
        filtered: Filtered field ``rho~``, ``(..., nx, ny)`` in [0, 1].
        projected: Projected nominal field ``rho_bar``, same shape.
        eta_e, eta_d: Eroded and dilated thresholds.
        c: Skeleton sharpness in cells^2; Hammond et al. (2021) use ``64 R^2``.

    Returns:
        ``(g_solid, g_void)``, scalar tensors (mean over every element).
    """
    if filtered.shape != projected.shape:
        raise ValueError(f"`filtered` {tuple(filtered.shape)} and `projected` {tuple(projected.shape)} must match.")
    skeleton = torch.exp(-c * _gradient_sq(filtered))
    g_solid = (projected * skeleton * torch.clamp(filtered - eta_e, max=0.0) ** 2).mean()
    g_void = ((1 - projected) * skeleton * torch.clamp(eta_d - filtered, max=0.0) ** 2).mean()
    return g_solid, g_void
