"""Absorbing boundary layer: a graded damping sponge around the grid."""
from __future__ import annotations

import torch

__all__ = ["damping_profile", "PROFILES"]


def _polynomial(depth: torch.Tensor, order: float) -> torch.Tensor:
    return depth**order


def _cosine(depth: torch.Tensor, order: float) -> torch.Tensor:
    return (0.5 - 0.5 * torch.cos(torch.pi * depth)) ** order


PROFILES = {"polynomial": _polynomial, "cosine": _cosine}


def damping_profile(
    shape: tuple[int, int],
    width_cells: int,
    strength: float,
    profile: str = "polynomial",
    order: float = 2.0,
    dtype: torch.dtype = torch.float64,
    inset: int = 0,
) -> torch.Tensor:
    """Damping per step b*dt of shape ``shape`` (2D or 3D), zero inside, rising to ``strength``.

    depth is the normalised distance into the layer, 0 at its inner edge and 1
    at its outer edge, ``inset`` cells inside the grid edge (a frame stands in
    those cells); the damping is ``strength * profile(depth, order)``.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown absorber profile {profile!r}; expected one of: {', '.join(PROFILES)}")
    if width_cells <= 0:
        return torch.zeros(shape, dtype=dtype)

    def depth(n: int) -> torch.Tensor:
        i = torch.arange(n, dtype=dtype)
        into = torch.maximum(width_cells + inset - i, i - (n - 1 - width_cells - inset))
        return (into.clamp(min=0) / width_cells).clamp(max=1)

    d = torch.zeros(shape, dtype=dtype)
    for axis, n in enumerate(shape):
        view = [1] * len(shape)
        view[axis] = n
        d = torch.maximum(d, depth(n).view(view))
    return strength * PROFILES[profile](d, order)
